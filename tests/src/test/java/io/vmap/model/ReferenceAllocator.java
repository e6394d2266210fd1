package io.vmap.model;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * An independent, deliberately simple model of the replay semantics of DESIGN.md, used as the
 * oracle of the differential and golden replay tests. It shares no code with the library (not even
 * {@code Geometry} or {@code Unsigned}): every formula below is written out again from the
 * contract.
 *
 * <p>State: a map of regions {@code [start, end)} keyed by start (unsigned order), each BUSY or
 * LAZY. Everything else inside {@code [vstart, vend)} is free. There is no free tree, no sharding
 * and no actor: "node k's free shard" is just "free space in zones z with z % N == k".
 *
 * <p>Allocation ({@link #alloc}) follows the order of DESIGN.md literally:
 *
 * <ol>
 *   <li>home node K: lowest aligned A >= X with A + size <= Y, [A, A + size) free and, with N > 1,
 *       inside one zone owned by K;
 *   <li>fail-fast: EAGAIN;
 *   <li>nodes K+1, K+2, ... (mod N), the same search;
 *   <li>N > 1: spanning, the lowest aligned free A in [X, Y) with no zone restriction;
 *   <li>nothing: purge (all LAZY become free) and run 1, 3, 4 again once; then ENOSPC.
 * </ol>
 *
 * <p>The search for the lowest fit has two implementations: {@link Search#BRUTE} literally tries
 * every aligned address from X upwards; {@link Search#CANDIDATES} tries only the addresses that can
 * be a lowest fit: A = alignUp(b) for b in {X} u {ends of regions} u {zone starts}. (Proof: let A
 * be the lowest fit and b the largest of those points <= A; the range [alignUp(b), A + size) holds
 * no region and no zone boundary, else one of its ends or its zone start would be a larger such b,
 * so alignUp(b) is a fit too and cannot be below A.) BRUTE is used whenever the range holds few
 * aligned addresses (every tiny-space test), CANDIDATES otherwise (32 TiB spaces);
 * ReferenceAllocatorTest checks the two agree.
 */
public final class ReferenceAllocator {

  /** How {@link #lowest} searches. */
  public enum Search {
    /** Every aligned address up to a limit of aligned slots, then CANDIDATES. */
    AUTO,
    /** Every aligned address, however many. */
    BRUTE,
    /** Only alignUp of X, region ends and zone starts. */
    CANDIDATES
  }

  public enum State { BUSY, LAZY }

  /** A busy or lazily freed area, {@code [start, end)} unsigned. */
  public record Region(long start, long end, State state, String tag) {
    public long size() {
      return end - start;
    }

    public boolean contains(long a) {
      return Long.compareUnsigned(start, a) <= 0 && Long.compareUnsigned(a, end) < 0;
    }
  }

  /** "No address": never a valid start, as an area at 2^64-1 could not end below 2^64. */
  private static final long NONE = -1L;

  private static final long BRUTE_LIMIT = 1 << 14;

  private final long vstart;
  private final long vend;
  private final long page;
  private final long zone;
  private final int nodes;
  private final long lazyMax;
  private Search search = Search.AUTO;

  private final TreeMap<Long, Region> regions = new TreeMap<>(Long::compareUnsigned);
  private long lazyPages;

  /**
   * @param lazyMaxPages the purge threshold in pages; null = fls(nodes) * 32 MiB / page
   */
  public ReferenceAllocator(long vstart, long vend, long page, long zone, int nodes, Long lazyMaxPages) {
    if (Long.bitCount(page) != 1 || Long.bitCount(zone) != 1 || Long.compareUnsigned(zone, page) < 0) {
      throw new IllegalArgumentException("page/zone");
    }
    if (Long.compareUnsigned(vstart, vend) >= 0 || nodes < 1) throw new IllegalArgumentException("space");
    this.vstart = vstart;
    this.vend = vend;
    this.page = page;
    this.zone = zone;
    this.nodes = nodes;
    this.lazyMax = lazyMaxPages != null ? lazyMaxPages : defaultLazyMax(nodes, page, vend - vstart);
  }

  /**
   * fls(n) * (32 MiB / page), the kernel's lazy_max_pages() with nodes for CPUs, but at most half the
   * space's pages (README, "Decisions").
   */
  public static long defaultLazyMax(int nodes, long page, long spaceBytes) {
    int fls = 32 - Integer.numberOfLeadingZeros(nodes);
    return Math.min(fls * ((32L << 20) / page), Long.divideUnsigned(spaceBytes, page) / 2);
  }

  public ReferenceAllocator withSearch(Search s) {
    this.search = s;
    return this;
  }

  // ------------------------------------------------------------------ views for generators

  public long vstart() { return vstart; }
  public long vend() { return vend; }
  public long page() { return page; }
  public long zone() { return zone; }
  public int nodes() { return nodes; }
  public long lazyMaxPages() { return lazyMax; }
  public long lazyPages() { return lazyPages; }

  public List<Region> busy() {
    return regions.values().stream().filter(r -> r.state == State.BUSY).toList();
  }

  public List<Region> lazy() {
    return regions.values().stream().filter(r -> r.state == State.LAZY).toList();
  }

  public long freeBytes() {
    long used = 0;
    for (Region r : regions.values()) used += r.size();
    return (vend - vstart) - used;
  }

  /** The region (busy or lazy) containing {@code a}, or null. */
  public Region regionAt(long a) {
    Map.Entry<Long, Region> e = regions.floorEntry(a);
    return e != null && e.getValue().contains(a) ? e.getValue() : null;
  }

  // ------------------------------------------------------------------ geometry, written out again

  long zoneOf(long a) {
    return Long.divideUnsigned(a, zone);
  }

  int ownerOf(long a) {
    return (int) Long.remainderUnsigned(zoneOf(a), nodes);
  }

  private static boolean lt(long a, long b) { return Long.compareUnsigned(a, b) < 0; }
  private static boolean le(long a, long b) { return Long.compareUnsigned(a, b) <= 0; }

  /** Smallest multiple of {@code align} >= x, or NONE if it does not fit below 2^64. */
  static long alignUp(long x, long align) {
    long r = Long.remainderUnsigned(x, align);
    if (r == 0) return x;
    long up = x + (align - r);
    return lt(up, x) || up == 0 ? NONE : up;
  }

  /** Whether no region overlaps [a, end) (a < end). */
  private boolean free(long a, long end) {
    Map.Entry<Long, Region> f = regions.floorEntry(a);
    if (f != null && lt(a, f.getValue().end)) return false;
    Map.Entry<Long, Region> c = regions.higherEntry(a);
    return c == null || !lt(c.getKey(), end);
  }

  /** node < 0: any placement; else inside one zone owned by node (whole space when N == 1). */
  private boolean placementOk(long a, long end, int node) {
    if (node < 0 || nodes == 1) return true;
    return zoneOf(a) == zoneOf(end - 1) && ownerOf(a) == node;
  }

  private boolean fits(long a, long size, long lo, long hi, int node) {
    if (a == NONE || lt(a, lo)) return false;
    long end = a + size;
    if (lt(end, a) || end == 0 || lt(hi, end)) return false;
    return free(a, end) && placementOk(a, end, node);
  }

  /**
   * The lowest A with A % align == 0, lo <= A, A + size <= hi, [A, A + size) free and placed per
   * {@code node} (see {@link #placementOk}); NONE if there is none.
   */
  long lowest(long size, long align, long lo, long hi, int node) {
    long first = alignUp(lo, align);
    if (first == NONE) return NONE;
    long slots = lt(first, hi) ? Long.divideUnsigned(hi - first, align) : 0;
    boolean brute = search == Search.BRUTE || (search == Search.AUTO && slots <= BRUTE_LIMIT);
    return brute ? lowestBrute(size, align, lo, hi, node) : lowestCandidates(size, align, lo, hi, node);
  }

  private long lowestBrute(long size, long align, long lo, long hi, int node) {
    for (long a = alignUp(lo, align); a != NONE; ) {
      long end = a + size;
      if (lt(end, a) || end == 0 || lt(hi, end)) return NONE;
      if (fits(a, size, lo, hi, node)) return a;
      long next = a + align;
      if (le(next, a)) return NONE;
      a = next;
    }
    return NONE;
  }

  private long lowestCandidates(long size, long align, long lo, long hi, int node) {
    long b = lo;
    while (true) {
      long a = alignUp(b, align);
      if (a == NONE) return NONE;
      long end = a + size;
      if (lt(end, a) || end == 0 || lt(hi, end)) return NONE; // every later candidate ends higher
      if (fits(a, size, lo, hi, node)) return a;
      // Every candidate point in (b, a] aligns up to a again: the next one is above a.
      long next = NONE;
      long zoneNext = (zoneOf(a) + 1) * zone;
      if (zoneNext != 0 && lt(a, zoneNext)) next = zoneNext; // 0: the zone ending at 2^64
      Map.Entry<Long, Region> f = regions.floorEntry(a);
      long regionEnd = NONE;
      if (f != null && lt(a, f.getValue().end)) {
        regionEnd = f.getValue().end;
      } else {
        Map.Entry<Long, Region> h = regions.higherEntry(a);
        if (h != null) regionEnd = h.getValue().end;
      }
      if (regionEnd != NONE && (next == NONE || lt(regionEnd, next))) next = regionEnd;
      if (next == NONE) return NONE;
      b = next;
    }
  }

  // ------------------------------------------------------------------ operations

  /** The outcome of an allocation: start, or one of the error names. */
  public record AllocResult(long start, String error) {
    public boolean ok() {
      return error == null;
    }
  }

  private long attempt(long size, long align, long lo, long hi, int home, boolean failFast) {
    boolean singleZonePossible = nodes == 1 || le(size, zone);
    long a = singleZonePossible ? lowest(size, align, lo, hi, home) : NONE;
    if (a != NONE || failFast) return a;
    for (int i = 1; i < nodes && singleZonePossible; i++) {
      a = lowest(size, align, lo, hi, (home + i) % nodes);
      if (a != NONE) return a;
    }
    if (nodes > 1) return lowest(size, align, lo, hi, -1);
    return NONE;
  }

  /** A validated allocation; arguments as DESIGN.md, size already > 0. */
  public AllocResult alloc(long size, long align, long lo, long hi, int home, boolean failFast, String tag) {
    long a = attempt(size, align, lo, hi, home, failFast);
    if (a == NONE && failFast) return new AllocResult(NONE, "EAGAIN");
    if (a == NONE) {
      purgeAll();
      a = attempt(size, align, lo, hi, home, false);
    }
    if (a == NONE) return new AllocResult(NONE, "ENOSPC");
    regions.put(a, new Region(a, a + size, State.BUSY, tag));
    return new AllocResult(a, null);
  }

  /** {@code ok}, {@code ENOENT} or {@code EINVAL ...}. */
  public String free(long addr) {
    Region r = regionAt(addr);
    if (r == null || r.state == State.LAZY) return "ENOENT";
    if (r.start != addr) return "EINVAL " + hex(addr) + " is inside " + hex(r.start) + "-" + hex(r.end);
    regions.put(r.start, new Region(r.start, r.end, State.LAZY, r.tag));
    lazyPages += r.size() / page;
    if (lazyPages > lazyMax) purgeAll();
    return "ok";
  }

  /** The busy region containing addr, or null. */
  public Region find(long addr) {
    Region r = regionAt(addr);
    return r != null && r.state == State.BUSY ? r : null;
  }

  /** Releases every lazy area; returns how many. */
  public int purgeAll() {
    int n = 0;
    var it = regions.values().iterator();
    while (it.hasNext()) {
      if (it.next().state == State.LAZY) {
        it.remove();
        n++;
      }
    }
    lazyPages = 0;
    return n;
  }

  // ------------------------------------------------------------------ the replay line format

  private static final Pattern DEC = Pattern.compile("[0-9]+");
  private static final Pattern HEX = Pattern.compile("0[xX][0-9a-fA-F]+");
  private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

  /** A decimal or 0x-hex number below 2^64, or null. */
  static Long number(String t) {
    BigInteger v;
    if (DEC.matcher(t).matches()) v = new BigInteger(t);
    else if (HEX.matcher(t).matches()) v = new BigInteger(t.substring(2), 16);
    else return null;
    if (v.compareTo(TWO_64) >= 0) return null;
    return v.longValue();
  }

  public static String hex(long v) {
    String h = Long.toHexString(v);
    return "0x" + "0".repeat(16 - h.length()) + h;
  }

  /** One replay line in, its output line out; null for blank and comment lines. */
  public String apply(String line) {
    int hash = line.indexOf('#');
    String text = (hash >= 0 ? line.substring(0, hash) : line).strip();
    if (text.isEmpty()) return null;
    String[] w = text.split("\\s+");
    return switch (w[0]) {
      case "alloc" -> allocLine(w);
      case "free" -> {
        if (w.length != 2) yield "EINVAL free takes one address";
        Long a = number(w[1]);
        yield a == null ? "EINVAL bad address" : free(a);
      }
      case "find" -> {
        if (w.length != 2) yield "EINVAL find takes one address";
        Long a = number(w[1]);
        if (a == null) yield "EINVAL bad address";
        Region r = find(a);
        yield r == null ? "none" : hex(r.start) + " " + hex(r.end);
      }
      case "purge" -> w.length != 1 ? "EINVAL purge takes no argument" : "purged " + purgeAll();
      case "info" -> w.length != 1 ? "EINVAL info takes no argument" : info();
      default -> "EINVAL unknown op";
    };
  }

  public String info() {
    return "busy=" + busy().size() + " lazy=" + lazy().size() + " free=" + Long.toUnsignedString(freeBytes());
  }

  private String allocLine(String[] w) {
    if (w.length < 2) return "EINVAL no size";
    Long size = number(w[1]);
    if (size == null) return "EINVAL bad size";
    long align = page;
    long lo = vstart;
    long hi = vend;
    int home = 0;
    boolean failFast = false;
    String tag = "";
    for (int i = 2; i < w.length; i++) {
      int eq = w[i].indexOf('=');
      if (eq <= 0) return "EINVAL not key=value";
      String key = w[i].substring(0, eq);
      String val = w[i].substring(eq + 1);
      switch (key) {
        case "tag" -> tag = val;
        case "policy" -> {
          if (val.equals("fail-fast")) failFast = true;
          else if (val.equals("normal")) failFast = false;
          else return "EINVAL bad policy";
        }
        case "align", "vstart", "vend", "node" -> {
          Long v = number(val);
          if (v == null) return "EINVAL bad " + key;
          switch (key) {
            case "align" -> {
              if (v == 0 || Long.bitCount(v) != 1) return "EINVAL align not a power of two";
              align = lt(v, page) ? page : v;
            }
            case "vstart" -> lo = v;
            case "vend" -> hi = v;
            default -> {
              if (!lt(v, nodes)) return "EINVAL no such node";
              home = (int) (long) v;
            }
          }
        }
        default -> {
          return "EINVAL unknown option";
        }
      }
    }
    if (size == 0) return "EINVAL size 0";
    // size rounded up to pages; a size that cannot be rounded below 2^64 is not a size (EINVAL)
    long pages = Long.divideUnsigned(size, page) + (Long.remainderUnsigned(size, page) == 0 ? 0 : 1);
    long rounded = pages * page;
    if (rounded == 0 || lt(rounded, size)) return "EINVAL size overflows";
    if (!lt(lo, hi)) return "EINVAL vstart >= vend";
    if (lt(lo, vstart) || lt(vend, hi)) return "EINVAL range outside the space";
    // Impossible in any state: no aligned address in the range, or no room for size above the first.
    long first = (lo + align - 1) & -align;
    if (lt(first, lo) || !lt(first, hi)) {
      return "EINVAL align " + hex(align) + ": no multiple of it in the range " + hex(lo) + ":" + hex(hi);
    }
    if (lt(hi - first, rounded)) {
      return "EINVAL size " + hex(rounded) + " does not fit in the range " + hex(lo) + ":" + hex(hi)
          + (align == page ? "" : " at align " + hex(align));
    }
    AllocResult r = alloc(rounded, align, lo, hi, home, failFast, tag);
    return r.ok() ? hex(r.start) : r.error;
  }

  /** For failure messages: every region. */
  public String dump() {
    List<String> out = new ArrayList<>();
    for (Region r : regions.values()) {
      out.add(hex(r.start) + "-" + hex(r.end) + " " + r.state);
    }
    return String.join("\n", out);
  }
}
