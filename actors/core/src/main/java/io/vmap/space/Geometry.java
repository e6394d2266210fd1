package io.vmap.space;

/**
 * The shape of the address space: {@code [vstart, vend)} unsigned, cut into zones of {@code zone}
 * bytes that are interleaved over {@code nodes} vmap nodes.
 *
 * <p>{@link #nodeOf(long)} is the kernel's {@code addr_to_node_id()}: {@code (addr / zone) % nodes}.
 * Node {@code k} owns every zone {@code z} with {@code z % nodes == k}; zones are counted from
 * address 0, not from {@code vstart}, exactly like the kernel, and the first and last zone may be
 * cut short by the space's bounds.
 *
 * <p>Immutable; every constructor argument is validated and a bad one is named in the exception.
 */
public final class Geometry {

  /** x86-64's vmalloc range: 32 TiB. */
  public static final long DEFAULT_VSTART = 0xffffc90000000000L;
  public static final long DEFAULT_VEND = 0xffffe90000000000L;
  public static final long DEFAULT_PAGE = 4096;
  public static final long DEFAULT_ZONE = 32L << 20;
  public static final int DEFAULT_NODES = 16;

  /** Upper bound on nodes: node ids travel as ints and every node is an actor. */
  public static final int MAX_NODES = 4096;
  /**
   * Upper bound on zones inside the space when {@code nodes > 1}: 2^31, so a node's zone count
   * (and a shard's block count before any allocation) fits in an int. Start-up memory no longer
   * depends on it: a node's untouched zones are one run ({@link #forEachOwnedRun}, {@code
   * FreeShard.of}). The default space has 2^20 zones; x86-64's 5-level vmalloc range (12.5 PiB)
   * with 32 MiB zones has 419,430,400. What still costs O(zones) is a walk over every zone:
   * {@link #forEachOwnedRange}, and expanding a shard with {@code FreeShard.forEach}.
   */
  public static final long MAX_ZONES = 1L << 31;

  private final long vstart;
  private final long vend;
  private final long page;
  private final long zone;
  private final int nodes;
  private final int pageShift;
  private final int zoneShift;

  public Geometry(long vstart, long vend, long page, long zone, int nodes) {
    if (page <= 0 || Long.bitCount(page) != 1) {
      throw new IllegalArgumentException("page " + page + " is not a power of two");
    }
    if (zone <= 0 || Long.bitCount(zone) != 1) {
      throw new IllegalArgumentException("zone " + zone + " is not a power of two");
    }
    if (zone < page) {
      throw new IllegalArgumentException("zone " + zone + " is smaller than page " + page);
    }
    if (nodes < 1 || nodes > MAX_NODES) {
      throw new IllegalArgumentException("nodes " + nodes + " is not in 1.." + MAX_NODES);
    }
    if (!Unsigned.lt(vstart, vend)) {
      throw new IllegalArgumentException(
          "space start " + Unsigned.hex(vstart) + " is not below its end " + Unsigned.hex(vend));
    }
    if ((vstart & (page - 1)) != 0) {
      throw new IllegalArgumentException(
          "space start " + Unsigned.hex(vstart) + " is not a multiple of page " + page);
    }
    if ((vend & (page - 1)) != 0) {
      throw new IllegalArgumentException(
          "space end " + Unsigned.hex(vend) + " is not a multiple of page " + page);
    }
    this.vstart = vstart;
    this.vend = vend;
    this.page = page;
    this.zone = zone;
    this.nodes = nodes;
    this.pageShift = Long.numberOfTrailingZeros(page);
    this.zoneShift = Long.numberOfTrailingZeros(zone);
    long zones = zoneCount();
    if (nodes > 1 && (zones > MAX_ZONES || zones < 0)) {
      throw new IllegalArgumentException(
          "space has " + Long.toUnsignedString(zones) + " zones of " + zone + " bytes, more than "
              + MAX_ZONES + "; use a larger zone");
    }
  }

  /** The defaults: the x86-64 vmalloc range, 4 KiB pages, 32 MiB zones, 16 nodes. */
  public static Geometry defaults() {
    return new Geometry(DEFAULT_VSTART, DEFAULT_VEND, DEFAULT_PAGE, DEFAULT_ZONE, DEFAULT_NODES);
  }

  public long vstart() { return vstart; }
  public long vend() { return vend; }
  public long page() { return page; }
  public long zone() { return zone; }
  public int nodes() { return nodes; }

  /** Space size in bytes (unsigned). */
  public long spaceBytes() {
    return vend - vstart;
  }

  /** {@code addr_to_node_id()}: {@code (addr / zone) % nodes}, unsigned. */
  public int nodeOf(long addr) {
    return (int) Long.remainderUnsigned(addr >>> zoneShift, nodes);
  }

  /** The zone number of {@code addr}: {@code addr / zone}, unsigned. */
  public long zoneOf(long addr) {
    return addr >>> zoneShift;
  }

  /** The owner of zone {@code z}. */
  public int ownerOfZone(long z) {
    return (int) Long.remainderUnsigned(z, nodes);
  }

  /** First address of zone {@code z} inside the space. */
  public long zoneLo(long z) {
    return Unsigned.max(z << zoneShift, vstart);
  }

  /** End (exclusive) of zone {@code z} inside the space; never wraps past 2^64. */
  public long zoneHi(long z) {
    long raw = (z << zoneShift) + zone;
    if (raw == 0 && z != 0) return vend; // the zone ending at 2^64
    return Unsigned.min(raw, vend);
  }

  public long firstZone() {
    return zoneOf(vstart);
  }

  public long lastZone() {
    return zoneOf(vend - 1);
  }

  /** Zones intersecting the space. */
  public long zoneCount() {
    return lastZone() - firstZone() + 1;
  }

  /** Whether {@code [start, end)} lies inside the space. */
  public boolean contains(long start, long end) {
    return Unsigned.le(vstart, start) && Unsigned.lt(start, end) && Unsigned.le(end, vend);
  }

  public boolean contains(long addr) {
    return Unsigned.le(vstart, addr) && Unsigned.lt(addr, vend);
  }

  /** {@code size} rounded up to a whole number of pages, or {@link Unsigned#OVERFLOW}. */
  public long pageRoundUp(long size) {
    return Unsigned.alignUp(size, page);
  }

  /** Pages in {@code bytes} (a multiple of page). */
  public long pagesOf(long bytes) {
    return bytes >>> pageShift;
  }

  /**
   * {@code lazy_max_pages()}: {@code fls(nodes) * 32 MiB / page}, the kernel's rule with nodes
   * standing in for online CPUs, at most half the space's pages ({@link #kernelLazyMaxPages}).
   */
  public long defaultLazyMaxPages() {
    return Math.min(kernelLazyMaxPages(), halfSpacePages());
  }

  /**
   * {@code fls(nodes) * 32 MiB / page} alone. Made for the kernel's 32 TiB; in a space not much
   * larger than it, lazily freed areas could hold most or all of the space before a purge starts
   * (never, when it exceeds the space): every allocation would end on the synchronous purge path.
   */
  public long kernelLazyMaxPages() {
    int fls = 32 - Integer.numberOfLeadingZeros(nodes);
    return fls * ((32L << 20) >>> pageShift);
  }

  /** Half the space's pages (unsigned), the most {@link #defaultLazyMaxPages} gives. */
  public long halfSpacePages() {
    return pagesOf(spaceBytes()) >>> 1;
  }

  /** Receives one free range. */
  @FunctionalInterface
  public interface RangeConsumer {
    void accept(long start, long end);
  }

  /**
   * Receives {@code count} ranges of {@code width} bytes, the {@code j}-th at {@code start + j *
   * stride}; a single range has count 1 and stride 0.
   */
  @FunctionalInterface
  public interface RunConsumer {
    void accept(long start, long width, long stride, long count);
  }

  /**
   * The space owned by {@code node}, in address order: every zone it owns clipped to the space,
   * consecutive zones merged (only possible with one node, where the whole space is one range).
   * One call per zone: O(zones / nodes); see {@link #forEachOwnedRun} for the compact form.
   */
  public void forEachOwnedRange(int node, RangeConsumer out) {
    if (nodes == 1) {
      out.accept(vstart, vend);
      return;
    }
    long first = firstZone();
    long last = lastZone();
    // The first zone >= first with z % nodes == node.
    long rem = Long.remainderUnsigned(first, nodes);
    long z = first + Long.remainderUnsigned(node - rem + nodes, nodes);
    for (; Unsigned.le(z, last) && Unsigned.le(first, z); z += nodes) {
      out.accept(zoneLo(z), zoneHi(z));
    }
  }

  /**
   * The same ranges as {@link #forEachOwnedRange}, as at most three runs, in address order: the
   * first owned zone if the space's start cuts it, the zones kept whole as one run (width
   * {@code zone}, stride {@code nodes * zone}, zone-aligned; count 1 and stride 0 if there is one),
   * the last owned zone if the space's end cuts it. With one node, the whole space, count 1. O(1).
   *
   * @throws IllegalArgumentException if {@code node} is not in {@code 0..nodes-1}
   */
  public void forEachOwnedRun(int node, RunConsumer out) {
    if (node < 0 || node >= nodes) {
      throw new IllegalArgumentException("node " + node + " is not in 0.." + (nodes - 1));
    }
    if (nodes == 1) {
      out.accept(vstart, vend - vstart, 0, 1);
      return;
    }
    long first = firstZone();
    long last = lastZone();
    long rem = Long.remainderUnsigned(first, nodes);
    long z = first + Long.remainderUnsigned(node - rem + nodes, nodes);
    if (Unsigned.lt(z, first) || Unsigned.lt(last, z)) return; // owns no zone of the space
    long n = Long.divideUnsigned(last - z, nodes) + 1;
    if (zoneLo(z) != z << zoneShift) { // cut by vstart
      out.accept(zoneLo(z), zoneHi(z) - zoneLo(z), 0, 1);
      z += nodes;
      if (--n == 0) return;
    }
    long zl = z + (n - 1) * nodes;
    // The last zone is cut by vend (which is below 2^64, so a zone ending at 2^64 is cut too).
    boolean lastCut = zoneHi(zl) != (zl << zoneShift) + zone;
    long whole = lastCut ? n - 1 : n;
    if (whole == 1) {
      out.accept(z << zoneShift, zone, 0, 1);
    } else if (whole > 1) {
      // (whole - 1) strides fit in the space, so nodes * zone does not overflow.
      out.accept(z << zoneShift, zone, nodes * zone, whole);
    }
    if (lastCut) out.accept(zoneLo(zl), zoneHi(zl) - zoneLo(zl), 0, 1);
  }

  /** Bytes of the space owned by {@code node} (the sum of its ranges). O(1). */
  public long ownedBytes(int node) {
    long[] sum = {0};
    forEachOwnedRun(node, (s, w, p, k) -> sum[0] += w * k);
    return sum[0];
  }

  @Override
  public String toString() {
    return "space " + Unsigned.hex(vstart) + ":" + Unsigned.hex(vend) + " page " + page + " zone "
        + zone + " nodes " + nodes;
  }
}
