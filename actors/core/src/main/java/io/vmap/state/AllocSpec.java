package io.vmap.state;

import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;

/**
 * A validated allocation request: {@code size} is a whole number of pages, {@code align} a power
 * of two of at least a page, {@code [lo, hi)} a non-empty range inside the space, {@code home} a
 * node id, {@code tenant} the tenant the area will belong to (null reads as the default tenant).
 * Built only through {@link #of}, which names the first bad value.
 */
public record AllocSpec(long size, long align, long lo, long hi, int home, String tag, Policy policy, String tenant)
    {

  public AllocSpec {
    if (tenant == null) tenant = Principal.DEFAULT_TENANT;
  }

  /** A spec for the default tenant. */
  public AllocSpec(long size, long align, long lo, long hi, int home, String tag, Policy policy) {
    this(size, align, lo, hi, home, tag, policy, Principal.DEFAULT_TENANT);
  }

  /** A request that cannot be served as asked; the message is the reason. */
  public static final class Invalid extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public Invalid(String reason) {
      super(reason);
    }
  }

  /**
   * Validates and normalizes a request. {@code align < page} counts as {@code page}; {@code size}
   * is rounded up to pages. {@code vstart}/{@code vend} of {@code null} mean the space's bounds.
   */
  public static AllocSpec of(
      Geometry g, long size, long align, Long vstart, Long vend, int home, String tag, Policy policy) {
    long lo = vstart == null ? g.vstart() : vstart;
    long hi = vend == null ? g.vend() : vend;
    long rounded = validated(g, size, align, lo, hi, home, policy);
    return new AllocSpec(rounded, Unsigned.max(align, g.page()), lo, hi, home, tag == null ? "" : tag, policy);
  }

  /** As {@link #of}, with the range given: no boxed bounds (the client's path, once per allocation). */
  public static AllocSpec inRange(
      Geometry g, long size, long align, long lo, long hi, int home, String tag, Policy policy) {
    long rounded = validated(g, size, align, lo, hi, home, policy);
    return new AllocSpec(rounded, Unsigned.max(align, g.page()), lo, hi, home, tag == null ? "" : tag, policy);
  }

  /**
   * Checks a request's values against {@code g}, naming the first bad one, and returns its size
   * rounded up to pages.
   */
  private static long validated(Geometry g, long size, long align, long lo, long hi, int home, Policy policy) {
    if (size == 0) throw new Invalid("size 0");
    long rounded = g.pageRoundUp(size);
    if (rounded == Unsigned.OVERFLOW) {
      throw new Invalid("size " + Long.toUnsignedString(size) + " overflows when rounded to pages");
    }
    if (align == 0 || Long.bitCount(align) != 1) {
      throw new Invalid("align " + Long.toUnsignedString(align) + " is not a power of two");
    }
    long a = Unsigned.max(align, g.page());
    if (!Unsigned.lt(lo, hi)) {
      throw new Invalid("vstart " + Unsigned.hex(lo) + " is not below vend " + Unsigned.hex(hi));
    }
    if (Unsigned.lt(lo, g.vstart()) || Unsigned.lt(g.vend(), hi)) {
      throw new Invalid(
          "range " + Unsigned.hex(lo) + ":" + Unsigned.hex(hi) + " is outside the space "
              + Unsigned.hex(g.vstart()) + ":" + Unsigned.hex(g.vend()));
    }
    // A request that no state of the allocator could ever satisfy is malformed, not a lack of
    // space: ENOSPC would make the node purge and the caller retry in vain.
    if (!hasRoom(lo, hi, a, rounded)) {
      long first = Unsigned.alignUp(lo, a);
      throw new Invalid(first == Unsigned.OVERFLOW || !Unsigned.lt(first, hi)
          ? "align " + Unsigned.hex(a) + ": no multiple of it in the range " + Unsigned.hex(lo) + ":" + Unsigned.hex(hi)
          : "size " + Unsigned.hex(rounded) + " does not fit in the range " + Unsigned.hex(lo) + ":"
              + Unsigned.hex(hi) + (a == g.page() ? "" : " at align " + Unsigned.hex(a)));
    }
    if (home < 0 || home >= g.nodes()) {
      throw new Invalid("node " + home + " is not in 0.." + (g.nodes() - 1));
    }
    if (policy == null) throw new Invalid("no policy");
    return rounded;
  }

  /**
   * Whether a well-formed request (a nonzero size, a power-of-two align) is one no state of the
   * space could hold: no aligned start leaves room for it anywhere, so {@link #of} refuses it. For
   * callers that treat such a request as a failed allocation (the kernel's NULL), as the bench's
   * targets do; a malformed request is not "impossible", it is an error.
   */
  public static boolean impossible(Geometry g, long size, long align) {
    long rounded = g.pageRoundUp(size);
    return size != 0 && rounded != Unsigned.OVERFLOW && Long.bitCount(align) == 1
        && !hasRoom(g.vstart(), g.vend(), Unsigned.max(align, g.page()), rounded);
  }

  /** Whether {@code [lo, hi)} holds {@code rounded} bytes starting at a multiple of {@code a}. */
  private static boolean hasRoom(long lo, long hi, long a, long rounded) {
    long first = Unsigned.alignUp(lo, a);
    return first != Unsigned.OVERFLOW && Unsigned.lt(first, hi) && !Unsigned.lt(hi - first, rounded);
  }

  /**
   * This spec checked again against {@code g}: a request may come from another process, not through
   * the client, and a bad one must be an EINVAL answer, never a crash of the node.
   *
   * @throws Invalid naming the first bad value
   */
  public AllocSpec checkedAgainst(Geometry g) {
    try {
      long rounded = validated(g, size, align, lo, hi, home, policy);
      long a = Unsigned.max(align, g.page());
      String t = checkedTenant(tenant);
      // A spec the client built with of() is normalized already: checked, not copied (every
      // allocation passes here on its node).
      if (rounded == size && a == align && tag != null && t.equals(tenant)) return this;
      return new AllocSpec(rounded, a, lo, hi, home, tag == null ? "" : tag, policy, t);
    } catch (Invalid e) {
      throw e;
    } catch (RuntimeException e) {
      throw new Invalid("malformed request: " + e);
    }
  }

  /**
   * {@code spec}, as a request carried it, checked against {@code g} ({@link #checkedAgainst}); a
   * request without one is invalid too.
   *
   * @throws Invalid naming the first bad value, or the missing spec
   */
  public static AllocSpec checked(AllocSpec spec, Geometry g) {
    if (spec == null) throw new Invalid("no allocation spec");
    return spec.checkedAgainst(g);
  }

  public AllocSpec withHome(int node) {
    return new AllocSpec(size, align, lo, hi, node, tag, policy, tenant);
  }

  /**
   * This spec for {@code tenant}.
   *
   * @throws Invalid if it is not a valid tenant name
   */
  public AllocSpec withTenant(String tenant) {
    return new AllocSpec(size, align, lo, hi, home, tag, policy, checkedTenant(tenant));
  }

  private static String checkedTenant(String tenant) {
    try {
      return Principal.checkTenant(tenant);
    } catch (IllegalArgumentException e) {
      throw new Invalid(e.getMessage());
    }
  }
}
