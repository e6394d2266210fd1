package io.vmap.space;

/**
 * The free space of one vmap node: the kernel's {@code free_vmap_area_root}, an augmented balanced
 * BST keyed by block start, each node carrying {@code subtree_max_size} (the largest free block in
 * its subtree) and, beyond the kernel, one such maximum per alignment class, so that the
 * <em>exact</em> lowest aligned fit is found in O(log n) in the worst case. Blocks never overlap
 * and never touch (adjacent blocks are always merged).
 *
 * <h2>Entries: blocks and runs</h2>
 *
 * <p>Each tree entry is either a plain block {@code [start, end)} or a <em>run</em>: {@code count}
 * blocks ("members") of {@code width} bytes, one every {@code stride} bytes, the first at
 * {@code start}; the free zones a node owns and has never touched, in one entry
 * ({@link Geometry#forEachOwnedRun}). A node's initial shard is therefore one to three entries,
 * whatever the number of zones, and an allocation expands only the zone it lands in: the run is
 * cut around that member ({@link #allocExact}, {@link #allocLowest}), and a zone that becomes
 * wholly free again joins the run, or the whole free zones, next to it ({@link #release}), so a
 * node's memory follows its live areas, not its history. A run's width is a power of two,
 * its start and stride are multiples of its width, and {@code stride > width}; runs of one shard
 * use at most 255 distinct (width, stride) shapes. Everything else sees members as ordinary
 * blocks: {@link #forEach}, {@link #blockContaining}, {@link #blockCount} and the searches give
 * exactly what a shard holding every member as its own block would give. {@link #forEachRun} and
 * {@link #ofRuns} read and rebuild the compact form, for snapshots.
 *
 * <p>The tree itself, its alignment classes and its invariants are {@link ShardTree}'s; runs are
 * cut and joined by {@link Runs}; {@link #checkInvariants()} checks them all.
 *
 * <p>Not thread safe: a shard belongs to one vmap node actor, whose mailbox is the lock.
 * Addresses and sizes are unsigned 64-bit values throughout; {@code -1L} ({@link #NO_FIT}) is never
 * a valid block start.
 */
public final class FreeShard {

  /** Returned by the searches when nothing fits; {@link Unsigned#OVERFLOW}, never a block start. */
  public static final long NO_FIT = Unsigned.OVERFLOW;

  /**
   * Alignment classes every shard carries: aligns up to 2^14 granules (64 MiB with 4 KiB pages)
   * are searched in O(log n). Each class is a 16-bit lane, four to a long, so that a node's
   * deficits are recomputed four classes at a time (SWAR; see {@code ShardTree.pullAug}); a deficit below
   * 2^14 and a sum of two below 2^15 leave the lane's top bit free for the comparison.
   */
  public static final int CLASSES = 14;

  private static final int NIL = ShardTree.NIL;

  private final ShardTree t;
  private final Runs runs;
  /** Free blocks, each run member counted. */
  private long blocks;
  private long bytes;
  /** {@code find_vmap_lowest_match} over this shard's tree and runs. */
  private final LowestFit lowest;

  /** An empty shard for 4 KiB pages. */
  public FreeShard() {
    this(new ShardTree(ShardTree.INITIAL_CAPACITY, ShardTree.DEFAULT_GRANULE), 0, 0);
  }

  /** A shard over a built tree holding {@code blocks} blocks of {@code bytes} bytes in all. */
  FreeShard(ShardTree t, long blocks, long bytes) {
    this.t = t;
    this.runs = new Runs(t);
    this.lowest = new LowestFit(t, runs);
    this.blocks = blocks;
    this.bytes = bytes;
  }

  /**
   * The initial shard of {@code node}: every range {@link Geometry#forEachOwnedRun} gives it, as
   * one to three entries (the zones a node owns are one run). O(1) in the number of zones.
   */
  public static FreeShard of(Geometry g, int node) {
    if (node < 0 || node >= g.nodes()) {
      throw new IllegalArgumentException(
          "node " + node + " is not in 0.." + (g.nodes() - 1) + " for " + g);
    }
    RunBuffer buf = new RunBuffer();
    g.forEachOwnedRun(node, buf::add);
    return buf.build(Long.numberOfTrailingZeros(g.page()));
  }

  /**
   * A shard holding the first {@code n} blocks {@code [starts[i], ends[i])}, which must be in
   * ascending address order and disjoint; blocks that touch are merged. O(n). For building a
   * shard from a snapshot or a bulk list (a sequence of {@link #release} calls would cost
   * O(n log n)). Blocks stay blocks: strided blocks are not folded into runs. Sized for 4 KiB
   * pages, like {@code new FreeShard()}.
   *
   * @throws IllegalArgumentException naming the first empty, unordered or overlapping block
   */
  public static FreeShard ofBlocks(long[] starts, long[] ends, int n) {
    return RunBuffer.ofBlocks(starts, ends, n, ShardTree.DEFAULT_GRANULE, 0, 0);
  }

  /**
   * {@link #ofBlocks(long[], long[], int)} for a node of {@code g}: sized for its page, as {@link
   * #of}, and with every sequence of whole zones one stride of {@code nodes * zone} apart folded
   * into a run, as {@link #of} would hold them. A node's shard restored from a list of blocks
   * (an old snapshot) is as compact as one that never left memory.
   */
  public static FreeShard ofBlocks(Geometry g, long[] starts, long[] ends, int n) {
    long stride = g.nodes() * g.zone();
    boolean fold = g.nodes() > 1 && Long.divideUnsigned(stride, g.nodes()) == g.zone();
    return RunBuffer.ofBlocks(starts, ends, n, Long.numberOfTrailingZeros(g.page()),
        fold ? g.zone() : 0,
        fold ? stride : 0);
  }

  /**
   * A shard holding the first {@code n} entries: entry {@code i} is {@code counts[i]} blocks of
   * {@code widths[i]} bytes starting at {@code starts[i] + j * strides[i]}, {@code j <
   * counts[i]}; a count of 1 is a plain block (its stride is ignored), as {@link #forEachRun} gives
   * them. Entries must be in ascending address order, each starting at or above the end of the one
   * before; entries that touch are merged (the touching members become one block). O(n). Sized
   * for 4 KiB pages; see {@link #ofRuns(Geometry, long[], long[], long[], long[], int)}.
   *
   * @throws IllegalArgumentException naming the entry and the value: a count below 1, an empty
   *     block, a block or run passing 2^64 - 1, a run whose width is not a power of two or does not
   *     divide its start and stride, a stride not above the width, disorder or overlap, more than
   *     255 run shapes
   */
  public static FreeShard ofRuns(
      long[] starts, long[] widths, long[] strides, long[] counts, int n) {
    return RunBuffer.ofRuns(starts, widths, strides, counts, n, ShardTree.DEFAULT_GRANULE);
  }

  /** {@link #ofRuns(long[], long[], long[], long[], int)} sized for {@code g}, as {@link #of}. */
  public static FreeShard ofRuns(
      Geometry g, long[] starts, long[] widths, long[] strides, long[] counts, int n) {
    return RunBuffer.ofRuns(starts, widths, strides, counts, n,
        Long.numberOfTrailingZeros(g.page()));
  }

  // ---------------------------------------------------------------------------------------------
  // Public operations

  /**
   * {@code merge_or_add_vmap_area}: adds {@code [start, end)} as free, merging with an adjacent
   * block on either side. A run member it touches leaves its run first (the run is cut around it);
   * a block that comes out exactly one member wide, one stride of a run shape past its neighbour
   * (a run, or a block as wide), joins it: a zone freed whole returns to the compact form. Space in
   * the gap between two members of a run may be released too: the run is cut there. O(log n).
   *
   * @throws IllegalArgumentException if {@code start >= end} (unsigned)
   * @throws IllegalStateException naming both ranges if it overlaps a free block already there (a
   *     double release); the shard is unchanged then
   */
  public void release(long start, long end) {
    requireRange(start, end);
    int p = t.floor(start);
    long gapAfter = -1;
    if (p != NIL && Unsigned.lt(start, t.end(p))) {
      if (t.shape(p) == 0) throw overlap(start, end, t.start(p), t.end(p));
      // Inside the run's span: in a member (an overlap) or in the gap after member j.
      long w = t.width(p);
      long st = t.stride(p);
      long j = Long.divideUnsigned(start - t.start(p), st);
      long ms = t.start(p) + j * st;
      if (Unsigned.lt(start, ms + w)) throw overlap(start, end, ms, ms + w);
      long next = ms + st; // member j + 1 exists: start is below the last member's end
      if (Unsigned.lt(next, end)) throw overlap(start, end, next, next + w);
      gapAfter = j;
    }
    int q = t.higher(start);
    if (q != NIL && Unsigned.lt(t.start(q), end)) {
      throw overlap(start, end, t.start(q), t.start(q) + t.selfSize(q));
    }
    // Nothing overlaps: from here on the shard changes.
    t.useGranule(start);
    t.useGranule(end);
    if (gapAfter >= 0) q = runs.splitAfter(p, gapAfter);
    boolean mergeLeft = p != NIL && t.end(p) == start;
    boolean mergeRight = q != NIL && t.start(q) == end;
    if (mergeLeft && t.shape(p) != 0) p = runs.isolate(p, t.count(p) - 1);
    if (mergeRight && t.shape(q) != 0) q = runs.isolate(q, 0);
    int z;
    if (mergeLeft && mergeRight) {
      // Fills the hole between p and q: p absorbs q.
      long qEnd = t.end(q);
      t.remove(t.start(q));
      t.setEnd(p, qEnd);
      t.refresh(t.start(p));
      blocks--;
      z = p;
    } else if (mergeLeft) {
      t.setEnd(p, end);
      t.refresh(t.start(p));
      z = p;
    } else if (mergeRight) {
      // Lowering q's key keeps the order: p ends strictly below start.
      t.setStart(q, start);
      t.refresh(start);
      z = q;
    } else {
      z = t.insertEntry(start, end, 0);
      blocks++;
    }
    bytes += end - start;
    if (t.shapes.count > 0) runs.rejoin(z);
  }

  /**
   * Lowest aligned fit, without changing anything: the lowest {@code A} with {@code lo <= A},
   * {@code A % align == 0}, {@code A + size <= hi} (no overflow), and {@code [A, A + size)}
   * inside one free block. Exact, unlike the kernel, which searches for {@code size + align - 1}
   * when {@code align > PAGE_SIZE} and so can miss a lower fit.
   *
   * <p>Cost: O(log n) in the worst case whenever {@code align <= }{@link #exactAlignLimit()}
   * (every align up to a zone and one above, for a shard built by {@link #of}): one lookup for the
   * entry straddling {@code lo} (used clipped to {@code [lo, hi)}; in a run, its members above
   * {@code lo} are found by arithmetic), then one {@code find_vmap_lowest_match} descent steered by
   * the deficits of {@code align}'s class (by {@code subtree_max_size} alone when {@code align}
   * is at most the granule), which lands on the lowest entry above {@code lo} holding an aligned
   * fit. Above that limit, the descent uses the highest class (a necessary condition) and each
   * entry it finds without a fit for {@code align} ("near miss") costs one more O(log n) round,
   * resumed from the next multiple of {@code align} past that entry: O((k + 1) log n), where k is
   * at most both the number of such near misses and the number of multiples of {@code align} in
   * {@code [lo, hi)}. In a run, the first member whose start is a multiple of {@code align} is
   * found by arithmetic (a modular inverse), never by a walk.
   *
   * @param size bytes, nonzero (unsigned)
   * @param align a power of two (any, including 2^63)
   * @param lo lowest acceptable start, need not be aligned
   * @param hi exclusive bound for the end; {@code hi <= lo} gives {@link #NO_FIT}
   * @return {@code A}, or {@link #NO_FIT}
   * @throws IllegalArgumentException if {@code size == 0} or {@code align} is not a power of two
   */
  public long findLowest(long size, long align, long lo, long hi) {
    requireRequest(size, align);
    return lowest.search(size, align, lo, hi) == NIL ? NO_FIT : lowest.found;
  }

  /**
   * {@link #findLowest} then carves {@code [A, A + size)} out of its block, {@code va_clip}: the
   * block is removed (full fit), shrunk from the left or the right (edge fit), or split in two
   * (middle fit); a run member is first cut out of its run. Same cost as {@link #findLowest} plus
   * O(log n).
   *
   * @return {@code A}, or {@link #NO_FIT} with nothing changed
   */
  public long allocLowest(long size, long align, long lo, long hi) {
    requireRequest(size, align);
    int b = lowest.search(size, align, lo, hi);
    if (b == NIL) return NO_FIT;
    long a = lowest.found;
    if (t.shape(b) != 0) b = runs.isolate(b, Long.divideUnsigned(a - t.start(b), t.stride(b)));
    clip(b, a, a + size);
    return a;
  }

  /**
   * Carves exactly {@code [start, end)} if it lies entirely inside one free block; returns false,
   * changing nothing, otherwise. For reservations and for replaying events. O(log n).
   *
   * @throws IllegalArgumentException if {@code start >= end} (unsigned)
   */
  public boolean allocExact(long start, long end) {
    requireRange(start, end);
    int b = t.floor(start);
    if (b == NIL || !Unsigned.lt(start, t.end(b))) return false;
    if (t.shape(b) == 0) {
      if (Unsigned.lt(t.end(b), end)) return false;
    } else {
      long j = Long.divideUnsigned(start - t.start(b), t.stride(b));
      long me = t.start(b) + j * t.stride(b) + t.width(b);
      if (!Unsigned.lt(start, me) || Unsigned.lt(me, end)) return false;
      b = runs.isolate(b, j);
    }
    clip(b, start, end);
    return true;
  }

  /**
   * Whether {@code [start, end)} lies entirely inside one free block. O(log n).
   *
   * @throws IllegalArgumentException if {@code start >= end} (unsigned)
   */
  public boolean isFree(long start, long end) {
    requireRange(start, end);
    int b = t.floor(start);
    if (b == NIL || !Unsigned.lt(start, t.end(b))) return false;
    if (t.shape(b) == 0) return Unsigned.le(end, t.end(b));
    long ms = t.start(b) + Long.divideUnsigned(start - t.start(b), t.stride(b)) * t.stride(b);
    long me = ms + t.width(b);
    return Unsigned.lt(start, me) && Unsigned.le(end, me);
  }

  /** The free block containing {@code addr} as {@code {start, end}}, or null. O(log n). */
  public long[] blockContaining(long addr) {
    int b = t.floor(addr);
    if (b == NIL || !Unsigned.lt(addr, t.end(b))) return null;
    if (t.shape(b) == 0) return new long[] {t.start(b), t.end(b)};
    long ms = t.start(b) + Long.divideUnsigned(addr - t.start(b), t.stride(b)) * t.stride(b);
    long me = ms + t.width(b);
    return Unsigned.lt(addr, me) ? new long[] {ms, me} : null;
  }

  /** Free bytes in total (unsigned). */
  public long freeBytes() {
    return bytes;
  }

  /**
   * Free blocks, each member of a run counted as one block: what {@link #forEach} visits, not
   * what the shard stores ({@link #entryCount()}). Saturates at {@link Integer#MAX_VALUE}; see
   * {@link #blockCountLong()}.
   */
  public int blockCount() {
    return (int) Math.min(blocks, Integer.MAX_VALUE);
  }

  /** {@link #blockCount()} without the int cap. */
  public long blockCountLong() {
    return blocks;
  }

  /** Tree entries: plain blocks plus runs. What the memory and the tree's height depend on. */
  public int entryCount() {
    return t.entries;
  }

  /** Size of the largest free block (the root's {@code subtree_max_size}, unsigned), 0 if empty. */
  public long largestBlock() {
    return t.maxSize(t.root);
  }

  /**
   * The largest power of two {@code align} for which {@link #findLowest} is O(log n) in the worst
   * case: {@code 2^(g + classes)}, where {@code 2^g} is the granule (the page), capped at 2^63.
   */
  public long exactAlignLimit() {
    return 1L << (t.granule + t.live);
  }

  /**
   * Bytes of heap the shard's arrays take (capacity included, object headers estimated at 16
   * bytes per array): for reports, not exact to the byte on every JVM.
   */
  public long footprintBytes() {
    return t.footprintBytes() + 64;
  }

  /** Receives one free block {@code [start, end)}. */
  @FunctionalInterface
  public interface BlockVisitor {
    void visit(long start, long end);
  }

  /**
   * Receives one entry: {@code count} blocks of {@code width} bytes, the {@code j}-th at {@code
   * start + j * stride}; a plain block has count 1 and stride 0.
   */
  @FunctionalInterface
  public interface RunVisitor {
    void visit(long start, long width, long stride, long count);
  }

  /**
   * Every free block in address order, run members one by one. O(n + members): with runs of
   * untouched zones, use {@link #forEachRun}. The visitor must not change this shard.
   */
  public void forEach(BlockVisitor v) {
    // Every block has end > 0 and start < 2^64 - 1, so this bound excludes none.
    forEachIn(0, -1L, v);
  }

  /**
   * Every free block intersecting {@code [lo, hi)}, in address order, with its own (unclipped)
   * bounds, run members one by one. O(log n + k). The visitor must not change this shard.
   */
  public void forEachIn(long lo, long hi, BlockVisitor v) {
    ShardWalk.walk(t, lo, hi, v, null);
  }

  /**
   * Every entry in address order as stored: blocks with count 1, runs as one call each. O(n) in
   * entries, not in blocks; with {@link #ofRuns} this round-trips a shard (a snapshot). The
   * visitor must not change this shard.
   */
  public void forEachRun(RunVisitor v) {
    ShardWalk.walk(t, 0, -1L, null, v);
  }

  /**
   * Every entry with a block intersecting {@code [lo, hi)}, in address order; a run is cut to its
   * members that intersect (each with its own unclipped bounds). O(log n + k) in entries. The
   * visitor must not change this shard.
   */
  public void forEachRunIn(long lo, long hi, RunVisitor v) {
    ShardWalk.walk(t, lo, hi, null, v);
  }

  /**
   * Throws {@link IllegalStateException} describing the first broken invariant: ordering, no
   * overlap, no touching neighbours, run shapes, granule, {@code subtree_max_size}, class
   * deficits, AVL balance and heights, cached counts, the slot pool. For tests; O(n).
   */
  public void checkInvariants() {
    ShardChecker.check(t, blocks, bytes);
  }

  @Override
  public String toString() {
    return "FreeShard[" + blocks + " blocks in " + t.entries + " t.entries, "
        + Long.toUnsignedString(bytes) + " bytes free, largest "
        + Long.toUnsignedString(largestBlock()) + "]";
  }

  /** For tests: the root's deficit in class {@code c}, in bytes. */
  long classDeficit(int c) {
    return t.deficit(t.root, c) << t.granule;
  }

  /** For tests: log2 of the granule. */
  int granuleShift() {
    return t.granule;
  }

  // ---------------------------------------------------------------------------------------------
  // Updates

  /**
   * {@code va_clip}: removes {@code [s, e)} from block {@code b}, which contains it. Changing a
   * key in place is safe: the new start stays between the neighbours' bounds.
   */
  private void clip(int b, long s, long e) {
    t.useGranule(s);
    t.useGranule(e);
    long bs = t.start(b);
    long be = t.end(b);
    if (bs == s && be == e) { // full fit
      t.remove(bs);
      blocks--;
    } else if (bs == s) { // left edge
      t.setStart(b, e);
      t.refresh(e);
    } else if (be == e) { // right edge
      t.setEnd(b, s);
      t.refresh(bs);
    } else { // middle: b keeps the left part, a new block takes the right part
      t.setEnd(b, s);
      t.refresh(bs);
      t.insertEntry(e, be, 0);
      blocks++;
    }
    bytes -= e - s;
  }

  // ---------------------------------------------------------------------------------------------
  // Validation and messages

  private static void requireRange(long start, long end) {
    if (!Unsigned.lt(start, end)) {
      throw new IllegalArgumentException("empty range " + range(start, end));
    }
  }

  private static void requireRequest(long size, long align) {
    if (size == 0) throw new IllegalArgumentException("size is 0");
    if (Long.bitCount(align) != 1) {
      throw new IllegalArgumentException("align " + Unsigned.hex(align) + " is not a power of two");
    }
  }

  private static IllegalStateException overlap(long s, long e, long bs, long be) {
    return new IllegalStateException("release of " + range(s, e) + " overlaps free block "
        + range(bs, be) + " (double release?)");
  }

  static String range(long s, long e) {
    return "[" + Unsigned.hex(s) + ", " + Unsigned.hex(e) + ")";
  }
}
