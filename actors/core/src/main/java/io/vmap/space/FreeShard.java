package io.vmap.space;

import java.util.Arrays;

/**
 * The free space of one vmap node: the kernel's {@code free_vmap_area_root}, an augmented balanced
 * BST keyed by block start, each node carrying {@code subtree_max_size} (the largest free block in
 * its subtree) and, beyond the kernel, one such maximum per alignment class, so that the
 * <em>exact</em> lowest aligned fit is found in O(log n) in the worst case. Blocks never overlap
 * and never touch (adjacent blocks are always merged).
 *
 * <h2>Alignment classes</h2>
 *
 * <p>The shard measures sizes in <em>granules</em> of {@code 2^g} bytes: the page it was built for
 * ({@link #of}, {@link #ofBlocks(Geometry, long[], long[], int)}), 4 KiB otherwise, lowered to the
 * lowest set bit of any block bound that is not a multiple of it (every deficit is then
 * recomputed, O(n), at most 64 times in a shard's life). Class {@code c}, 1 to {@link #CLASSES}
 * = 14, is the alignment {@code 2^(g + c)}: 8 KiB to 64 MiB with 4 KiB pages, every align up to the
 * default zone and one above. A block's <em>usable length</em> in class {@code c} is {@code end -
 * alignUp(start, 2^(g+c))} (negative when no aligned address is inside it). Each node
 * stores, per class, its <em>deficit</em> {@code d(c) = subtree_max_size - the largest usable
 * length in its subtree}, in granules. The largest block of a subtree wastes at most {@code 2^c -
 * 1} granules to alignment, so {@code 0 <= d(c) < 2^c <= 2^14}, whatever the sizes: small
 * numbers, where the usable lengths themselves would need 64 bits each. A subtree holds a fit of
 * {@code size} aligned to {@code 2^(g+c)} iff {@code subtree_max_size - d(c) * 2^g >= size}, so
 * {@code find_vmap_lowest_match}'s descent works per class unchanged: O(log n) for every align up
 * to {@link #exactAlignLimit()}, exactly.
 *
 * <p>Layout: a class's deficit is a 16-bit lane, four to a long, four longs per entry;
 * {@code pullAug} recomputes four classes at a time with lane-wise additions and minimums. Chosen
 * by measurement over fields of exactly {@code c} bits (1 + 2 + ... + 14 = 105 bits, two longs):
 * unpacking and repacking fourteen fields per node made an alloc+free pair twice as slow as the
 * lanes (2.0 against 0.9 us, 15,000 blocks, {@code fragmented} layout, same machine and load) for
 * 16 bytes per entry less.
 *
 * <p>Why classes and not the other way (a search for {@code size + align - 1} for an upper bound,
 * then an exact search below it): without a per-class augmentation, an exact search must still
 * visit every "near miss" (a block of at least {@code size} bytes holding no aligned fit) below
 * that bound, and in the {@code nearmiss} layout of {@code FreeShardBench} every block is one: the
 * bound is the last block, so that search costs what the previous near-miss walk did, 1.45 ms at
 * 15,000 blocks and 73 ms at 1,000,000, and no bound on the work keeps it exact. The classes make
 * that search a few hundred nanoseconds, as for the {@code fragmented} layout (see {@code
 * FreeShardBench}). The price: 32 more bytes per block (65 instead of 33), and every update
 * recomputes the deficits on its path to the root, so an alloc+free pair costs about three times
 * what it did when each level changes (the bench's layouts: 0.8 to 1.5 us instead of 0.2 to 0.4);
 * like the kernel's {@code augment_tree_propagate_from}, {@code refresh} stops at the first node
 * that does not change.
 *
 * <p>Invariants, all checked by {@link #checkInvariants()}:
 *
 * <ul>
 *   <li>every block {@code [start, end)} has {@code start < end}, unsigned;
 *   <li>in-order, each block ends strictly below the next one's start: no overlap, and no two
 *       blocks touch (a touching pair would be one block the allocator cannot see as a whole);
 *   <li>{@code maxSize[n]} is the largest {@code end - start} in {@code n}'s subtree (unsigned),
 *       {@code subtree_max_size};
 *   <li>the class deficits of {@code n} are those of its subtree, as above; the null slot's are all
 *       ones, so a missing child never looks like a fit;
 *   <li>every block bound is a multiple of the granule {@code 2^g};
 *   <li>{@code height[n]} is the AVL height and the two subtrees' heights differ by at most one,
 *       so the height is below {@code 1.45 log2(n + 2)}: at most 45 for any int-sized count;
 *   <li>{@link #blockCount()} and {@link #freeBytes()} are cached and equal the sums over the tree.
 * </ul>
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
   * deficits are recomputed four classes at a time (SWAR; see {@link #pullAug}); a deficit below
   * 2^14 and a sum of two below 2^15 leave the lane's top bit free for the comparison.
   */
  public static final int CLASSES = 14;

  /** Slot 0 is the null child: height 0, maxSize 0, all deficits all ones. */
  private static final int NIL = 0;

  private static final int INITIAL_CAPACITY = 16;

  /** Above any AVL height an int-sized pool can reach (45), for the fixed path stack. */
  private static final int MAX_HEIGHT = 64;

  private static final int DEFAULT_GRANULE = 12;

  /** Longs per entry for the class deficits: class c is lane (c - 1) % 4 of word (c - 1) / 4. */
  private static final int WORDS = (CLASSES + 3) / 4;

  /** 1 in every lane. */
  private static final long LANES = 0x0001000100010001L;
  /** The top bit of every lane. */
  private static final long LANE_TOPS = 0x8000800080008000L;
  /** Per word, each lane's largest deficit {@code 2^c - 1}; 0 in lanes past the last class. */
  private static final long[] LANE_CAP = new long[WORDS];

  static {
    for (int c = 1; c <= CLASSES; c++) LANE_CAP[(c - 1) >> 2] |= ((1L << c) - 1) << laneShift(c);
  }

  private static final long CAP0 = LANE_CAP[0];
  private static final long CAP1 = LANE_CAP[1];
  private static final long CAP2 = LANE_CAP[2];
  private static final long CAP3 = LANE_CAP[3];

  private static int laneShift(int c) {
    return ((c - 1) & 3) << 4;
  }
  /** log2 of the granule; only ever decreases. */
  private int granule;
  /** Classes usable with this granule: {@code g + c <= 63}. */
  private int live;
  /** The largest deficit in bytes, {@code (2^live - 1) << g}. */
  private long capMax;

  // The node pool. Slot i is the block [start[i], end[i]); a free slot is chained through left[].
  private long[] start;
  private long[] end;
  private long[] maxSize;
  /** {@link #WORDS} longs per slot: the class deficits, in granules. */
  private long[] aug;
  private int[] left;
  private int[] right;
  private byte[] height;

  private int root = NIL;
  /** Head of the chain of freed slots. */
  private int freeSlots = NIL;
  /** Slots handed out so far, including NIL: slots {@code [used, capacity)} were never used. */
  private int used = 1;
  private int count;
  private long bytes;
  /** The address picked by the last {@link #search}; valid only when it returned a slot. */
  private long found;
  /** Root-to-node path for {@link #refresh}, reused so updates allocate nothing. */
  private final int[] path = new int[MAX_HEIGHT];

  /** An empty shard for 4 KiB pages. */
  public FreeShard() {
    this(INITIAL_CAPACITY, DEFAULT_GRANULE);
  }

  private FreeShard(int capacity, int granule) {
    start = new long[capacity];
    end = new long[capacity];
    maxSize = new long[capacity];
    aug = new long[capacity * WORDS];
    left = new int[capacity];
    right = new int[capacity];
    height = new byte[capacity];
    System.arraycopy(LANE_CAP, 0, aug, 0, WORDS);
    setGranule(granule);
  }

  /**
   * The initial shard of {@code node}: every range {@link Geometry#forEachOwnedRange} gives it, as
   * free blocks. Built bottom-up in O(n) into a perfectly balanced tree (a median-split tree is a
   * valid AVL tree), not by n releases.
   */
  public static FreeShard of(Geometry g, int node) {
    if (node < 0 || node >= g.nodes()) {
      throw new IllegalArgumentException(
          "node " + node + " is not in 0.." + (g.nodes() - 1) + " for " + g);
    }
    RangeBuffer ranges = new RangeBuffer(64);
    g.forEachOwnedRange(node, ranges::add);
    return ranges.build(Long.numberOfTrailingZeros(g.page()));
  }

  /**
   * A shard holding the first {@code n} blocks {@code [starts[i], ends[i])}, which must be in
   * ascending address order and disjoint; blocks that touch are merged. O(n). For building a
   * shard from a snapshot or a bulk list (a sequence of {@link #release} calls would cost
   * O(n log n)). Sized for 4 KiB pages, like {@code new FreeShard()}.
   *
   * @throws IllegalArgumentException naming the first empty, unordered or overlapping block
   */
  public static FreeShard ofBlocks(long[] starts, long[] ends, int n) {
    return ofBlocks(starts, ends, n, DEFAULT_GRANULE);
  }

  /** {@link #ofBlocks(long[], long[], int)} sized for {@code g}'s page, as {@link #of}. */
  public static FreeShard ofBlocks(Geometry g, long[] starts, long[] ends, int n) {
    return ofBlocks(starts, ends, n, Long.numberOfTrailingZeros(g.page()));
  }

  private static FreeShard ofBlocks(long[] starts, long[] ends, int n, int granule) {
    if (n < 0 || n > starts.length || n > ends.length) {
      throw new IllegalArgumentException(
          "block count " + n + " does not fit arrays of " + starts.length + " and " + ends.length);
    }
    RangeBuffer b = new RangeBuffer(n);
    long prevEnd = 0;
    for (int i = 0; i < n; i++) {
      long s = starts[i];
      long e = ends[i];
      if (!Unsigned.lt(s, e)) {
        throw new IllegalArgumentException("block " + i + " " + range(s, e) + " is empty");
      }
      if (i > 0 && Unsigned.lt(s, prevEnd)) {
        throw new IllegalArgumentException("block " + i + " " + range(s, e)
            + " is not above the block before it, ending at " + Unsigned.hex(prevEnd));
      }
      b.add(s, e);
      prevEnd = e;
    }
    return b.build(granule);
  }

  /** Links the filled slots {@code lo..hi} (in address order) into a balanced subtree. */
  private int build(int lo, int hi) {
    if (lo > hi) return NIL;
    int mid = (lo + hi) >>> 1;
    left[mid] = build(lo, mid - 1);
    right[mid] = build(mid + 1, hi);
    pull(mid);
    return mid;
  }

  // ---------------------------------------------------------------------------------------------
  // Public operations

  /**
   * {@code merge_or_add_vmap_area}: adds {@code [start, end)} as free, merging with an adjacent
   * block on either side. O(log n).
   *
   * @throws IllegalArgumentException if {@code start >= end} (unsigned)
   * @throws IllegalStateException naming both ranges if it overlaps a free block already there (a
   *     double release); the shard is unchanged then
   */
  public void release(long start, long end) {
    requireRange(start, end);
    int p = floor(start);
    if (p != NIL && Unsigned.lt(start, this.end[p])) throw overlap(start, end, p);
    int q = higher(start);
    if (q != NIL && Unsigned.lt(this.start[q], end)) throw overlap(start, end, q);
    useGranule(start);
    useGranule(end);
    boolean mergeLeft = p != NIL && this.end[p] == start;
    boolean mergeRight = q != NIL && this.start[q] == end;
    if (mergeLeft && mergeRight) {
      // Fills the hole between p and q: p absorbs q.
      long qEnd = this.end[q];
      root = delete(root, this.start[q]);
      this.end[p] = qEnd;
      refresh(this.start[p]);
    } else if (mergeLeft) {
      this.end[p] = end;
      refresh(this.start[p]);
    } else if (mergeRight) {
      // Lowering q's key keeps the order: p ends strictly below start.
      this.start[q] = start;
      refresh(start);
    } else {
      insertBlock(start, end);
    }
    bytes += end - start;
  }

  /**
   * Lowest aligned fit, without changing anything: the lowest {@code A} with {@code lo <= A},
   * {@code A % align == 0}, {@code A + size <= hi} (no overflow), and {@code [A, A + size)}
   * inside one free block. Exact, unlike the kernel, which searches for {@code size + align - 1}
   * when {@code align > PAGE_SIZE} and so can miss a lower fit.
   *
   * <p>Cost: O(log n) in the worst case whenever {@code align <= }{@link #exactAlignLimit()}
   * (64 MiB with 4 KiB pages): one lookup for the block straddling {@code lo} (used clipped to
   * {@code [lo, hi)}), then one {@code find_vmap_lowest_match} descent steered by the deficits of
   * {@code align}'s class (by {@code subtree_max_size} alone when {@code align} is at most the
   * granule), which lands on the lowest block above {@code lo} holding an aligned fit. Above that
   * limit, the descent uses the highest class (a necessary condition) and each block it finds
   * without a fit for {@code align} ("near miss") costs one more O(log n) round, resumed from the
   * next multiple of {@code align} past that block: O((k + 1) log n), where k is at most both the
   * number of such near misses and the number of multiples of {@code align} in {@code [lo, hi)}.
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
    return search(size, align, lo, hi) == NIL ? NO_FIT : found;
  }

  /**
   * {@link #findLowest} then carves {@code [A, A + size)} out of its block, {@code va_clip}: the
   * block is removed (full fit), shrunk from the left or the right (edge fit), or split in two
   * (middle fit). Same cost as {@link #findLowest} plus O(log n).
   *
   * @return {@code A}, or {@link #NO_FIT} with nothing changed
   */
  public long allocLowest(long size, long align, long lo, long hi) {
    requireRequest(size, align);
    int b = search(size, align, lo, hi);
    if (b == NIL) return NO_FIT;
    long a = found;
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
    int b = floor(start);
    if (b == NIL || Unsigned.lt(this.end[b], end)) return false;
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
    int b = floor(start);
    return b != NIL && Unsigned.le(end, this.end[b]);
  }

  /** The free block containing {@code addr} as {@code {start, end}}, or null. O(log n). */
  public long[] blockContaining(long addr) {
    int b = floor(addr);
    return b != NIL && Unsigned.lt(addr, end[b]) ? new long[] {start[b], end[b]} : null;
  }

  /** Free bytes in total (unsigned). */
  public long freeBytes() {
    return bytes;
  }

  public int blockCount() {
    return count;
  }

  /** Size of the largest free block (the root's {@code subtree_max_size}, unsigned), 0 if empty. */
  public long largestBlock() {
    return maxSize[root];
  }

  /**
   * The largest power of two {@code align} for which {@link #findLowest} is O(log n) in the worst
   * case: {@code 2^(g + classes)}, where {@code 2^g} is the granule (the page), capped at 2^63.
   */
  public long exactAlignLimit() {
    return 1L << (granule + live);
  }

  /**
   * Bytes of heap the shard's arrays take (capacity included, object headers estimated at 16
   * bytes per array): for reports, not exact to the byte on every JVM.
   */
  public long footprintBytes() {
    long cap = start.length;
    long perSlot = 3 * 8 + 8L * WORDS + 2 * 4 + 1;
    return cap * perSlot + 7 * 16 + MAX_HEIGHT * 4 + 64;
  }

  /** Receives one free block {@code [start, end)}. */
  @FunctionalInterface
  public interface BlockVisitor {
    void visit(long start, long end);
  }

  /** Every free block in address order. O(n). The visitor must not change this shard. */
  public void forEach(BlockVisitor v) {
    // Every block has end > 0 and start < 2^64 - 1, so this bound excludes none.
    forEachIn(0, -1L, v);
  }

  /**
   * Every free block intersecting {@code [lo, hi)}, in address order, with its own (unclipped)
   * bounds. O(log n + k). The visitor must not change this shard.
   */
  public void forEachIn(long lo, long hi, BlockVisitor v) {
    if (root == NIL || !Unsigned.lt(lo, hi)) return;
    // In-order walk from the first block ending above lo. Ends are ordered like starts because
    // blocks are disjoint, so the BST can be descended by end as well.
    int[] stack = new int[height[root]];
    int sp = 0;
    for (int n = root; n != NIL; ) {
      if (Unsigned.lt(lo, end[n])) {
        stack[sp++] = n;
        n = left[n];
      } else {
        n = right[n];
      }
    }
    while (sp > 0) {
      int n = stack[--sp];
      if (!Unsigned.lt(start[n], hi)) return;
      v.visit(start[n], end[n]);
      for (int c = right[n]; c != NIL; c = left[c]) stack[sp++] = c;
    }
  }

  /**
   * Throws {@link IllegalStateException} describing the first broken invariant: ordering, no
   * overlap, no touching neighbours, granule, {@code subtree_max_size}, class
   * deficits, AVL balance and heights, cached counts, the slot pool. For tests; O(n).
   */
  public void checkInvariants() {
    if (height[NIL] != 0 || maxSize[NIL] != 0 || left[NIL] != NIL || right[NIL] != NIL) {
      throw new IllegalStateException("the NIL slot was written to");
    }
    for (int w = 0; w < WORDS; w++) {
      if (aug[w] != LANE_CAP[w]) {
        throw new IllegalStateException("the NIL slot's class deficits changed");
      }
    }
    if (live != Math.max(0, Math.min(CLASSES, 63 - granule))
        || capMax != ((1L << live) - 1) << granule) {
      throw new IllegalStateException("granule " + granule + " and its limits disagree");
    }
    Checker c = new Checker();
    c.check(root, 0);
    if (c.visited != count) {
      throw new IllegalStateException(
          "tree holds " + c.visited + " blocks but the cached count is " + count);
    }
    if (c.bytes != bytes) {
      throw new IllegalStateException("tree holds " + Long.toUnsignedString(c.bytes)
          + " free bytes but the cached total is " + Long.toUnsignedString(bytes));
    }
    int chained = 0;
    for (int s = freeSlots; s != NIL; s = left[s]) {
      if (++chained > used) throw new IllegalStateException("the free slot chain has a cycle");
    }
    if (chained + count + 1 != used) {
      throw new IllegalStateException("slots leak: " + used + " used, " + count + " in the tree, "
          + chained + " chained as free");
    }
  }

  @Override
  public String toString() {
    return "FreeShard[" + count + " blocks, " + Long.toUnsignedString(bytes) + " bytes free, largest "
        + Long.toUnsignedString(largestBlock()) + "]";
  }

  /** For tests: the root's deficit in class {@code c}, in bytes. */
  long classDeficit(int c) {
    return deficit(root, c) << granule;
  }

  /** For tests: log2 of the granule. */
  int granuleShift() {
    return granule;
  }

  // ---------------------------------------------------------------------------------------------
  // Search

  /**
   * The entry holding the lowest fit (see {@link #findLowest}), with the address in
   * {@link #found}, or NIL.
   */
  private int search(long size, long align, long lo, long hi) {
    if (Unsigned.lt(maxSize[root], size) || !Unsigned.lt(lo, hi) || Unsigned.lt(hi - lo, size)) {
      return NIL;
    }
    int c = Long.numberOfTrailingZeros(align) - granule;
    boolean exact = c <= live;
    int fc = exact ? c : live; // the class steering the descent; <= 0: sizes alone
    // A fit anywhere, even clipped at lo, is a fit of its unclipped block.
    if (fc > 0 && !subtreeFits(root, fc, size)) return NIL;
    for (long key = lo; ; ) {
      // The block straddling key is the only one usable clipped; all others start above key.
      int b = floor(key);
      if (b != NIL && Unsigned.lt(key, end[b])) {
        long a = Unsigned.alignUp(key, align);
        // Any later block has an aligned start >= a: if this end is out of bounds, theirs is too.
        if (!endsBelow(a, size, hi)) return NIL;
        if (Unsigned.le(a + size, end[b])) {
          found = a;
          return b;
        }
      }
      int x = firstFitAbove(key, size, fc);
      if (x == NIL) return NIL;
      long a = Unsigned.alignUp(start[x], align);
      if (!endsBelow(a, size, hi)) return NIL;
      if (Unsigned.le(a + size, end[x])) {
        found = a;
        return x;
      }
      if (exact) {
        throw new IllegalStateException("class " + c + " deficits promised a fit of "
            + Unsigned.hex(size) + " aligned to " + Unsigned.hex(align) + " in the block at "
            + Unsigned.hex(start[x]) + ", which has none");
      }
      // A near miss above the classes: no fit before the next multiple of align past x.
      key = Unsigned.alignUp(end[x], align);
      if (!endsBelow(key, size, hi)) return NIL;
    }
  }

  /**
   * Whether an area of {@code size} bytes at {@code a} (from {@link Unsigned#alignUp}, so possibly
   * {@link Unsigned#OVERFLOW}) ends at or below {@code hi} without passing 2^64. Not
   * {@link Unsigned#addOrOverflow}: its marker is also the legal end 2^64 - 1. A start of
   * 2^64 - 1, legal or marker, never has room for a nonzero size.
   */
  private static boolean endsBelow(long a, long size, long hi) {
    if (a == Unsigned.OVERFLOW) return false;
    long e = a + size;
    return Unsigned.lt(a, e) && Unsigned.le(e, hi);
  }

  /**
   * {@code find_vmap_lowest_match}'s descent, per class: the lowest block starting above
   * {@code key} holding a fit of {@code size} aligned to {@code 2^(g + c)} ({@code c <= 0}: any
   * block of {@code size} bytes), or NIL. O(log n): one walk down the search path of {@code key},
   * remembering the deepest node where the path turned left and that node or its right subtree
   * holds a fit (deeper means lower addresses), then one walk down that subtree steered by the
   * class's deficits.
   */
  private int firstFitAbove(long key, long size, int c) {
    int best = NIL;
    for (int n = root; n != NIL; ) {
      if (Unsigned.lt(key, start[n])) {
        // n and its whole right subtree start above key.
        if (selfFits(n, c, size) || subtreeFits(right[n], c, size)) best = n;
        n = left[n];
      } else {
        n = right[n];
      }
    }
    if (best == NIL || selfFits(best, c, size)) return best;
    int n = right[best]; // holds a fit
    for (;;) {
      if (n == NIL) throw new IllegalStateException("subtree_max_size promised a fit that is absent");
      if (subtreeFits(left[n], c, size)) {
        n = left[n];
      } else if (selfFits(n, c, size)) {
        return n;
      } else {
        n = right[n];
      }
    }
  }

  /** Whether {@code n}'s subtree holds a fit of {@code size} in class {@code c}. */
  private boolean subtreeFits(int n, int c, long size) {
    long m = maxSize[n];
    if (c <= 0) return !Unsigned.lt(m, size);
    long d = deficit(n, c) << granule;
    return Unsigned.le(d, m) && Unsigned.le(size, m - d);
  }

  /** Class {@code c}'s deficit of {@code n}, in granules. */
  private long deficit(int n, int c) {
    return (aug[n * WORDS + ((c - 1) >> 2)] >>> laneShift(c)) & 0xffff;
  }

  /** Whether the block {@code n} itself holds a fit of {@code size} in class {@code c}. */
  private boolean selfFits(int n, int c, long size) {
    long s = start[n];
    if (c <= 0) return !Unsigned.lt(end[n] - s, size);
    long a = Unsigned.alignUp(s, 1L << (granule + c));
    return a != Unsigned.OVERFLOW && Unsigned.lt(a, a + size) && Unsigned.le(a + size, end[n]);
  }

  /** The block with the greatest start {@code <= key}, or NIL. */
  private int floor(long key) {
    int best = NIL;
    for (int n = root; n != NIL; ) {
      if (Unsigned.le(start[n], key)) {
        best = n;
        n = right[n];
      } else {
        n = left[n];
      }
    }
    return best;
  }

  /** The block with the least start {@code > key}, or NIL. */
  private int higher(long key) {
    int best = NIL;
    for (int n = root; n != NIL; ) {
      if (Unsigned.lt(key, start[n])) {
        best = n;
        n = left[n];
      } else {
        n = right[n];
      }
    }
    return best;
  }

  // ---------------------------------------------------------------------------------------------
  // Updates

  /**
   * {@code va_clip}: removes {@code [s, e)} from block {@code b}, which contains it. Changing a
   * key in place is safe: the new start stays between the neighbours' bounds.
   */
  private void clip(int b, long s, long e) {
    useGranule(s);
    useGranule(e);
    long bs = start[b];
    long be = end[b];
    if (bs == s && be == e) { // full fit
      root = delete(root, bs);
    } else if (bs == s) { // left edge
      start[b] = e;
      refresh(e);
    } else if (be == e) { // right edge
      end[b] = s;
      refresh(bs);
    } else { // middle: b keeps the left part, a new block takes the right part
      end[b] = s;
      refresh(bs);
      insertBlock(e, be);
    }
    bytes -= e - s;
  }

  private void insertBlock(long s, long e) {
    int x = newSlot();
    start[x] = s;
    end[x] = e;
    left[x] = NIL;
    right[x] = NIL;
    height[x] = 1;
    pullAug(x);
    root = insert(root, x);
    count++;
  }

  /**
   * Recomputes the augmentation from the block starting at {@code key} up to the root, after that
   * block changed in place, stopping at the first node whose values did not change (the kernel's
   * {@code augment_tree_propagate_from}).
   */
  private void refresh(long key) {
    int depth = 0;
    for (int n = root; ; ) {
      path[depth++] = n;
      long k = start[n];
      if (k == key) break;
      n = Unsigned.lt(key, k) ? left[n] : right[n];
    }
    while (depth > 0) {
      if (!pullAug(path[--depth])) return;
    }
  }

  private int insert(int n, int x) {
    if (n == NIL) return x;
    if (Unsigned.lt(start[x], start[n])) {
      left[n] = insert(left[n], x);
    } else {
      right[n] = insert(right[n], x);
    }
    return rebalance(n);
  }

  /** Unlinks and frees the block starting at {@code key}, which exists. Slots of others stay. */
  private int delete(int n, long key) {
    int c = Long.compareUnsigned(key, start[n]);
    if (c < 0) {
      left[n] = delete(left[n], key);
    } else if (c > 0) {
      right[n] = delete(right[n], key);
    } else {
      int l = left[n];
      int r = right[n];
      freeSlot(n);
      count--;
      if (l == NIL) return r;
      if (r == NIL) return l;
      // Relink the successor into n's place rather than copying its fields, so no block moves
      // to another slot.
      int m = r;
      while (left[m] != NIL) m = left[m];
      right[m] = removeMin(r);
      left[m] = l;
      return rebalance(m);
    }
    return rebalance(n);
  }

  private int removeMin(int n) {
    if (left[n] == NIL) return right[n];
    left[n] = removeMin(left[n]);
    return rebalance(n);
  }

  private int rebalance(int n) {
    pull(n);
    int bf = height[left[n]] - height[right[n]];
    if (bf > 1) {
      int l = left[n];
      if (height[left[l]] < height[right[l]]) left[n] = rotateLeft(l);
      return rotateRight(n);
    }
    if (bf < -1) {
      int r = right[n];
      if (height[right[r]] < height[left[r]]) right[n] = rotateRight(r);
      return rotateLeft(n);
    }
    return n;
  }

  private int rotateRight(int n) {
    int l = left[n];
    left[n] = right[l];
    right[l] = n;
    pull(n);
    pull(l);
    return l;
  }

  private int rotateLeft(int n) {
    int r = right[n];
    right[n] = left[r];
    left[r] = n;
    pull(n);
    pull(r);
    return r;
  }

  /** Recomputes height and augmentation of {@code n} from its children. */
  private void pull(int n) {
    height[n] = (byte) (1 + Math.max(height[left[n]], height[right[n]]));
    pullAug(n);
  }

  /**
   * Recomputes {@code subtree_max_size} and the class deficits of {@code n} from its own block and
   * its children's values; returns whether any changed. With {@code M} the new maximum, class
   * {@code c}'s deficit is the least of {@code M - own size + own waste} and, per child,
   * {@code M - child's max + child's deficit} (in granules). Each difference is capped at the
   * largest deficit there can be ({@link #capMax}) before the addition, which changes no minimum
   * (the entry holding {@code M} always offers a term within the cap) and keeps every sum below
   * 2^15. Four classes at a time: the three terms of four classes are added and compared as 16-bit
   * lanes of one long.
   */
  private boolean pullAug(int n) {
    int l = left[n];
    int r = right[n];
    long self = end[n] - start[n];
    long ml = maxSize[l];
    long mr = maxSize[r];
    long m = self;
    if (Unsigned.lt(m, ml)) m = ml;
    if (Unsigned.lt(m, mr)) m = mr;
    boolean changed = maxSize[n] != m;
    maxSize[n] = m;
    int g = granule;
    long cap = capMax;
    long ds = (Unsigned.min(m - self, cap) >>> g) * LANES;
    long dl = (Unsigned.min(m - ml, cap) >>> g) * LANES;
    long dr = (Unsigned.min(m - mr, cap) >>> g) * LANES;
    int bn = n * WORDS;
    int bl = l * WORDS;
    int br = r * WORDS;
    long[] a = aug;
    // A block's waste in class c is (-start mod 2^(g+c)) / 2^g: the low c bits of u.
    long u = (((-start[n]) >>> g) & 0x3fff) * LANES;
    long w0 = laneMin(ds + (u & CAP0), laneMin(dl + a[bl], dr + a[br])) & CAP0;
    long w1 = laneMin(ds + (u & CAP1), laneMin(dl + a[bl + 1], dr + a[br + 1])) & CAP1;
    long w2 = laneMin(ds + (u & CAP2), laneMin(dl + a[bl + 2], dr + a[br + 2])) & CAP2;
    long w3 = laneMin(ds + (u & CAP3), laneMin(dl + a[bl + 3], dr + a[br + 3])) & CAP3;
    if (a[bn] != w0 || a[bn + 1] != w1 || a[bn + 2] != w2 || a[bn + 3] != w3) {
      a[bn] = w0;
      a[bn + 1] = w1;
      a[bn + 2] = w2;
      a[bn + 3] = w3;
      changed = true;
    }
    return changed;
  }

  /** The lane-wise minimum of four 16-bit lanes, each below 2^15. */
  private static long laneMin(long a, long b) {
    long ge = ((a | LANE_TOPS) - b) & LANE_TOPS; // top bit set where a >= b; no lane borrows
    long pick = (ge >>> 15) * 0xffff;
    return (b & pick) | (a & ~pick);
  }

  private void setGranule(int g) {
    granule = g;
    live = Math.max(0, Math.min(CLASSES, 63 - g));
    capMax = ((1L << live) - 1) << g;
  }

  /**
   * Makes sure {@code v} is a multiple of the granule, lowering the granule to {@code v}'s lowest
   * set bit if not, and recomputing every entry's deficits (O(n), at most 64 times per shard).
   */
  private void useGranule(long v) {
    int t = Long.numberOfTrailingZeros(v);
    if (t >= granule) return;
    setGranule(t);
    recompute(root);
  }

  private void recompute(int n) {
    if (n == NIL) return;
    recompute(left[n]);
    recompute(right[n]);
    pullAug(n);
  }

  private int newSlot() {
    int s = freeSlots;
    if (s != NIL) {
      freeSlots = left[s];
      return s;
    }
    if (used == start.length) grow();
    return used++;
  }

  private void freeSlot(int s) {
    left[s] = freeSlots;
    right[s] = NIL;
    freeSlots = s;
  }

  private void grow() {
    int cap = start.length;
    int max = (Integer.MAX_VALUE - 8) / WORDS;
    if (cap >= max) throw new IllegalStateException("free shard is full");
    int next = (int) Math.min((long) cap + (cap >> 1) + 1, max);
    start = Arrays.copyOf(start, next);
    end = Arrays.copyOf(end, next);
    maxSize = Arrays.copyOf(maxSize, next);
    aug = Arrays.copyOf(aug, next * WORDS);
    left = Arrays.copyOf(left, next);
    right = Arrays.copyOf(right, next);
    height = Arrays.copyOf(height, next);
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

  private IllegalStateException overlap(long s, long e, int b) {
    return new IllegalStateException("release of " + range(s, e) + " overlaps free block "
        + range(start[b], end[b]) + " (double release?)");
  }

  private static String range(long s, long e) {
    return "[" + Unsigned.hex(s) + ", " + Unsigned.hex(e) + ")";
  }

  /** An in-order walk verifying every invariant of the tree below a node. */
  private final class Checker {
    int visited;
    long bytes;
    boolean hasPrev;
    long prevEnd;
    final long[] expect = new long[WORDS];

    /** Returns the height of {@code n}'s subtree after checking it. */
    int check(int n, int depth) {
      if (n == NIL) return 0;
      if (depth > MAX_HEIGHT || n < 0 || n >= used) {
        throw new IllegalStateException("tree link to slot " + n + " at depth " + depth
            + " is out of the pool or the tree has a cycle");
      }
      int hl = check(left[n], depth + 1);
      long s = start[n];
      long e = end[n];
      if (!Unsigned.lt(s, e)) throw new IllegalStateException("empty block " + range(s, e));
      long gmask = (1L << granule) - 1;
      if ((s & gmask) != 0 || (e & gmask) != 0) {
        throw new IllegalStateException(
            "block " + range(s, e) + " is not a multiple of the granule 2^" + granule);
      }
      if (hasPrev && !Unsigned.lt(prevEnd, s)) {
        throw new IllegalStateException("block " + range(s, e)
            + (prevEnd == s ? " touches" : " overlaps or is out of order with")
            + " the block before it, ending at " + Unsigned.hex(prevEnd));
      }
      hasPrev = true;
      prevEnd = e;
      visited++;
      bytes += e - s;
      int hr = check(right[n], depth + 1);
      if (Math.abs(hl - hr) > 1) {
        throw new IllegalStateException("block " + range(s, e) + " is out of balance: left height "
            + hl + ", right height " + hr);
      }
      int h = 1 + Math.max(hl, hr);
      if (height[n] != h) {
        throw new IllegalStateException(
            "block " + range(s, e) + " caches height " + height[n] + ", real " + h);
      }
      long m = e - s;
      if (Unsigned.lt(m, maxSize[left[n]])) m = maxSize[left[n]];
      if (Unsigned.lt(m, maxSize[right[n]])) m = maxSize[right[n]];
      if (maxSize[n] != m) {
        throw new IllegalStateException("block " + range(s, e) + " caches subtree_max_size "
            + Long.toUnsignedString(maxSize[n]) + ", real " + Long.toUnsignedString(m));
      }
      System.arraycopy(aug, n * WORDS, expect, 0, WORDS);
      if (pullAug(n)) {
        long[] real = Arrays.copyOfRange(aug, n * WORDS, n * WORDS + WORDS);
        System.arraycopy(expect, 0, aug, n * WORDS, WORDS);
        throw new IllegalStateException("block " + range(s, e) + " caches class deficits "
            + Arrays.toString(expect) + ", real " + Arrays.toString(real));
      }
      return h;
    }
  }

  /** Blocks in address order, touching ones merged as they come; builds a shard. */
  private static final class RangeBuffer {
    long[] starts;
    long[] ends;
    int n;

    RangeBuffer(int capacity) {
      starts = new long[Math.max(4, capacity)];
      ends = new long[Math.max(4, capacity)];
    }

    /** Appends a nonempty block starting at or above the end of the last one. */
    void add(long s, long e) {
      if (n > 0 && ends[n - 1] == s) { // touching: one block, never two
        ends[n - 1] = e;
        return;
      }
      if (n == starts.length) {
        starts = Arrays.copyOf(starts, n * 2);
        ends = Arrays.copyOf(ends, n * 2);
      }
      starts[n] = s;
      ends[n] = e;
      n++;
    }

    FreeShard build(int granule) {
      int g = granule;
      for (int i = 0; i < n; i++) {
        g = Math.min(g, Math.min(Long.numberOfTrailingZeros(starts[i]),
            Long.numberOfTrailingZeros(ends[i])));
      }
      FreeShard f = new FreeShard(Math.max(INITIAL_CAPACITY, n + 1), g);
      for (int i = 0; i < n; i++) {
        f.start[i + 1] = starts[i];
        f.end[i + 1] = ends[i];
        f.bytes += ends[i] - starts[i];
      }
      f.used = n + 1;
      f.count = n;
      f.root = f.build(1, n);
      return f;
    }
  }
}
