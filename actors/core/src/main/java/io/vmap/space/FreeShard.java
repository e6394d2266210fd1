package io.vmap.space;

import java.util.Arrays;

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
 * <h2>Alignment classes</h2>
 *
 * <p>The shard measures sizes in <em>granules</em> of {@code 2^g} bytes: the page it was built for
 * ({@link #of}, {@link #ofBlocks(Geometry, long[], long[], int)}), 4 KiB otherwise, lowered to the
 * lowest set bit of any block bound that is not a multiple of it (every deficit is then
 * recomputed, O(n), at most 64 times in a shard's life). Class {@code c}, 1 to {@link #CLASSES}
 * = 14, is the alignment {@code 2^(g + c)}: 8 KiB to 64 MiB with 4 KiB pages, every align up to the
 * default zone and one above. A block's <em>usable length</em> in class {@code c} is {@code end -
 * alignUp(start, 2^(g+c))} (negative when no aligned address is inside it); a run's is its width
 * if some member starts at a multiple of {@code 2^(g+c)} (or the width is one), else 0. Each node
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
 * FreeShardBench}). The price: 33 more bytes per entry (66 instead of 33), and every update
 * recomputes the deficits on its path to the root, so an alloc+free pair costs about three times
 * what it did when each level changes (the bench's layouts: 0.8 to 1.5 us instead of 0.2 to 0.4);
 * like the kernel's {@code augment_tree_propagate_from}, {@code refresh} stops at the first node
 * that does not change.
 *
 * <p>Invariants, all checked by {@link #checkInvariants()}:
 *
 * <ul>
 *   <li>every block {@code [start, end)} has {@code start < end}, unsigned; a run has at least two
 *       members and a valid shape, and its entry's {@code end} is its last member's end;
 *   <li>in-order, each entry ends strictly below the next one's start: no overlap, and no two
 *       blocks or members of different entries touch (a touching pair would be one block the
 *       allocator cannot see as a whole);
 *   <li>{@code maxSize[n]} is the largest block or member width in {@code n}'s subtree (unsigned),
 *       {@code subtree_max_size};
 *   <li>the class deficits of {@code n} are those of its subtree, as above; the null slot's are all
 *       ones, so a missing child never looks like a fit;
 *   <li>every block bound, run start, width and stride is a multiple of the granule {@code 2^g};
 *   <li>{@code height[n]} is the AVL height and the two subtrees' heights differ by at most one,
 *       so the height is below {@code 1.45 log2(n + 2)}: at most 45 for any int-sized count;
 *   <li>the cached entry count, block count (members counted one by one) and free bytes equal the
 *       sums over the tree.
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

  /** Distinct (width, stride) run shapes per shard: a shape index is one unsigned byte. */
  private static final int MAX_SHAPES = 255;

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

  // The node pool. Slot i is the entry starting at start[i] and ending at end[i] (a run's end is
  // its last member's end); shape[i] is 0 for a block, else the run's shape. A free slot is
  // chained through left[].
  private long[] start;
  private long[] end;
  private long[] maxSize;
  /** {@link #WORDS} longs per slot: the class deficits, in granules. */
  private long[] aug;
  private int[] left;
  private int[] right;
  private byte[] height;
  private byte[] shape;

  // Run shapes, index 1..shapes.
  private long[] shapeWidth = new long[4];
  private long[] shapeStride = new long[4];
  private int[] shapeStrideTz = new int[4];
  /** Inverse of the stride's odd part modulo 2^64, to solve for aligned members. */
  private long[] shapeInverse = new long[4];
  private int shapes;

  private int root = NIL;
  /** Head of the chain of freed slots. */
  private int freeSlots = NIL;
  /** Slots handed out so far, including NIL: slots {@code [used, capacity)} were never used. */
  private int used = 1;
  /** Entries in the tree: blocks and runs. */
  private int entries;
  /** Free blocks, each run member counted. */
  private long blocks;
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
    shape = new byte[capacity];
    System.arraycopy(LANE_CAP, 0, aug, 0, WORDS);
    setGranule(granule);
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
    RunBuffer runs = new RunBuffer();
    g.forEachOwnedRun(node, runs::add);
    return runs.build(Long.numberOfTrailingZeros(g.page()));
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
    return ofBlocks(starts, ends, n, DEFAULT_GRANULE, 0, 0);
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
    return ofBlocks(starts, ends, n, Long.numberOfTrailingZeros(g.page()), fold ? g.zone() : 0,
        fold ? stride : 0);
  }

  private static FreeShard ofBlocks(long[] starts, long[] ends, int n, int granule,
      long foldWidth, long foldStride) {
    if (n < 0 || n > starts.length || n > ends.length) {
      throw new IllegalArgumentException(
          "block count " + n + " does not fit arrays of " + starts.length + " and " + ends.length);
    }
    RunBuffer b = new RunBuffer(n);
    b.foldWidth = foldWidth;
    b.foldStride = foldStride;
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
      b.add(s, e - s, 0, 1);
      prevEnd = e;
    }
    return b.build(granule);
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
    return ofRuns(starts, widths, strides, counts, n, DEFAULT_GRANULE);
  }

  /** {@link #ofRuns(long[], long[], long[], long[], int)} sized for {@code g}, as {@link #of}. */
  public static FreeShard ofRuns(
      Geometry g, long[] starts, long[] widths, long[] strides, long[] counts, int n) {
    return ofRuns(starts, widths, strides, counts, n, Long.numberOfTrailingZeros(g.page()));
  }

  private static FreeShard ofRuns(long[] starts, long[] widths, long[] strides, long[] counts,
      int n, int granule) {
    if (n < 0 || n > starts.length || n > widths.length || n > strides.length
        || n > counts.length) {
      throw new IllegalArgumentException("entry count " + n + " does not fit arrays of "
          + starts.length + ", " + widths.length + ", " + strides.length + " and " + counts.length);
    }
    RunBuffer b = new RunBuffer(n);
    long prevEnd = 0;
    for (int i = 0; i < n; i++) {
      long s = starts[i];
      long w = widths[i];
      long p = strides[i];
      long k = counts[i];
      String what = "entry " + i + " at " + Unsigned.hex(s);
      if (k < 1) throw new IllegalArgumentException(what + ": count " + k + " is below 1");
      if (w == 0) throw new IllegalArgumentException(what + ": width is 0");
      long spanEnd;
      if (k == 1) {
        spanEnd = s + w;
        if (!Unsigned.lt(s, spanEnd)) {
          throw new IllegalArgumentException(what + ": width " + Unsigned.hex(w)
              + " passes 2^64 - 1");
        }
      } else {
        if (Long.bitCount(w) != 1) {
          throw new IllegalArgumentException(
              what + ": run width " + Unsigned.hex(w) + " is not a power of two");
        }
        if ((s & (w - 1)) != 0) {
          throw new IllegalArgumentException(
              what + ": run start is not a multiple of its width " + Unsigned.hex(w));
        }
        if ((p & (w - 1)) != 0 || !Unsigned.lt(w, p)) {
          throw new IllegalArgumentException(what + ": run stride " + Unsigned.hex(p)
              + " is not a multiple of its width " + Unsigned.hex(w) + " above it");
        }
        spanEnd = runEnd(s, w, p, k);
        if (spanEnd == 0) {
          throw new IllegalArgumentException(what + ": " + k + " members of stride "
              + Unsigned.hex(p) + " pass 2^64 - 1");
        }
      }
      if (i > 0 && Unsigned.lt(s, prevEnd)) {
        throw new IllegalArgumentException(what + " is not above the entry before it, ending at "
            + Unsigned.hex(prevEnd));
      }
      b.add(s, w, p, k);
      prevEnd = spanEnd;
    }
    return b.build(granule);
  }

  /**
   * End of the last member of a run, or 0 if it would pass 2^64 - 1 (0 is never a run's end).
   * Requires {@code k >= 2}, {@code 0 < w < p}.
   */
  private static long runEnd(long s, long w, long p, long k) {
    long n = k - 1;
    if (Unsigned.lt(Long.divideUnsigned(-1L, p), n)) return 0;
    long last = s + n * p;
    if (Unsigned.lt(last, s)) return 0;
    long e = last + w;
    return Unsigned.lt(last, e) ? e : 0;
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
    int p = floor(start);
    long gapAfter = -1;
    if (p != NIL && Unsigned.lt(start, this.end[p])) {
      if (shape[p] == 0) throw overlap(start, end, this.start[p], this.end[p]);
      // Inside the run's span: in a member (an overlap) or in the gap after member j.
      long w = width(p);
      long st = stride(p);
      long j = Long.divideUnsigned(start - this.start[p], st);
      long ms = this.start[p] + j * st;
      if (Unsigned.lt(start, ms + w)) throw overlap(start, end, ms, ms + w);
      long next = ms + st; // member j + 1 exists: start is below the last member's end
      if (Unsigned.lt(next, end)) throw overlap(start, end, next, next + w);
      gapAfter = j;
    }
    int q = higher(start);
    if (q != NIL && Unsigned.lt(this.start[q], end)) {
      throw overlap(start, end, this.start[q], this.start[q] + selfSize(q));
    }
    // Nothing overlaps: from here on the shard changes.
    useGranule(start);
    useGranule(end);
    if (gapAfter >= 0) q = splitAfter(p, gapAfter);
    boolean mergeLeft = p != NIL && this.end[p] == start;
    boolean mergeRight = q != NIL && this.start[q] == end;
    if (mergeLeft && shape[p] != 0) p = isolate(p, count(p) - 1);
    if (mergeRight && shape[q] != 0) q = isolate(q, 0);
    int z;
    if (mergeLeft && mergeRight) {
      // Fills the hole between p and q: p absorbs q.
      long qEnd = this.end[q];
      root = delete(root, this.start[q]);
      this.end[p] = qEnd;
      refresh(this.start[p]);
      blocks--;
      z = p;
    } else if (mergeLeft) {
      this.end[p] = end;
      refresh(this.start[p]);
      z = p;
    } else if (mergeRight) {
      // Lowering q's key keeps the order: p ends strictly below start.
      this.start[q] = start;
      refresh(start);
      z = q;
    } else {
      z = insertEntry(start, end, 0);
      blocks++;
    }
    bytes += end - start;
    if (shapes > 0) rejoin(z);
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
    return search(size, align, lo, hi) == NIL ? NO_FIT : found;
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
    int b = search(size, align, lo, hi);
    if (b == NIL) return NO_FIT;
    long a = found;
    if (shape[b] != 0) b = isolate(b, Long.divideUnsigned(a - start[b], stride(b)));
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
    if (b == NIL || !Unsigned.lt(start, this.end[b])) return false;
    if (shape[b] == 0) {
      if (Unsigned.lt(this.end[b], end)) return false;
    } else {
      long j = Long.divideUnsigned(start - this.start[b], stride(b));
      long me = this.start[b] + j * stride(b) + width(b);
      if (!Unsigned.lt(start, me) || Unsigned.lt(me, end)) return false;
      b = isolate(b, j);
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
    int b = floor(start);
    if (b == NIL || !Unsigned.lt(start, this.end[b])) return false;
    if (shape[b] == 0) return Unsigned.le(end, this.end[b]);
    long ms = this.start[b] + Long.divideUnsigned(start - this.start[b], stride(b)) * stride(b);
    long me = ms + width(b);
    return Unsigned.lt(start, me) && Unsigned.le(end, me);
  }

  /** The free block containing {@code addr} as {@code {start, end}}, or null. O(log n). */
  public long[] blockContaining(long addr) {
    int b = floor(addr);
    if (b == NIL || !Unsigned.lt(addr, end[b])) return null;
    if (shape[b] == 0) return new long[] {start[b], end[b]};
    long ms = start[b] + Long.divideUnsigned(addr - start[b], stride(b)) * stride(b);
    long me = ms + width(b);
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
    return entries;
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
    long perSlot = 3 * 8 + 8L * WORDS + 2 * 4 + 2;
    long shapeBytes = shapeWidth.length * (8 + 8 + 4 + 8L);
    return cap * perSlot + 12 * 16 + shapeBytes + MAX_HEIGHT * 4 + 64;
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
    walk(lo, hi, v, null);
  }

  /**
   * Every entry in address order as stored: blocks with count 1, runs as one call each. O(n) in
   * entries, not in blocks; with {@link #ofRuns} this round-trips a shard (a snapshot). The
   * visitor must not change this shard.
   */
  public void forEachRun(RunVisitor v) {
    walk(0, -1L, null, v);
  }

  /**
   * Every entry with a block intersecting {@code [lo, hi)}, in address order; a run is cut to its
   * members that intersect (each with its own unclipped bounds). O(log n + k) in entries. The
   * visitor must not change this shard.
   */
  public void forEachRunIn(long lo, long hi, RunVisitor v) {
    walk(lo, hi, null, v);
  }

  /** In-order walk of the entries with a block intersecting [lo, hi), to one of two visitors. */
  private void walk(long lo, long hi, BlockVisitor bv, RunVisitor rv) {
    if (root == NIL || !Unsigned.lt(lo, hi)) return;
    // In-order walk from the first entry ending above lo. Ends are ordered like starts because
    // entries are disjoint, so the BST can be descended by end as well.
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
      long s = start[n];
      if (!Unsigned.lt(s, hi)) return;
      if (shape[n] == 0) {
        if (bv != null) bv.visit(s, end[n]);
        else rv.visit(s, end[n] - s, 0, 1);
      } else {
        long w = width(n);
        long st = stride(n);
        long k = count(n);
        // Members ending above lo, starting below hi.
        long j0 = Unsigned.lt(lo, s + w) ? 0 : Long.divideUnsigned(lo - s - w, st) + 1;
        long j1 = Math.min(k, Long.divideUnsigned(hi - 1 - s, st) + 1);
        if (bv != null) {
          for (long j = j0; j < j1; j++) bv.visit(s + j * st, s + j * st + w);
        } else if (j0 < j1) {
          rv.visit(s + j0 * st, w, j1 - j0 == 1 ? 0 : st, j1 - j0);
        }
        if (j1 < k) return;
      }
      for (int c = right[n]; c != NIL; c = left[c]) stack[sp++] = c;
    }
  }

  /**
   * Throws {@link IllegalStateException} describing the first broken invariant: ordering, no
   * overlap, no touching neighbours, run shapes, granule, {@code subtree_max_size}, class
   * deficits, AVL balance and heights, cached counts, the slot pool. For tests; O(n).
   */
  public void checkInvariants() {
    if (height[NIL] != 0 || maxSize[NIL] != 0 || left[NIL] != NIL || right[NIL] != NIL
        || shape[NIL] != 0) {
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
    if (c.visited != entries) {
      throw new IllegalStateException(
          "tree holds " + c.visited + " entries but the cached count is " + entries);
    }
    if (c.blocks != blocks) {
      throw new IllegalStateException(
          "tree holds " + c.blocks + " blocks but the cached count is " + blocks);
    }
    if (c.bytes != bytes) {
      throw new IllegalStateException("tree holds " + Long.toUnsignedString(c.bytes)
          + " free bytes but the cached total is " + Long.toUnsignedString(bytes));
    }
    int chained = 0;
    for (int s = freeSlots; s != NIL; s = left[s]) {
      if (++chained > used) throw new IllegalStateException("the free slot chain has a cycle");
    }
    if (chained + entries + 1 != used) {
      throw new IllegalStateException("slots leak: " + used + " used, " + entries
          + " in the tree, " + chained + " chained as free");
    }
  }

  @Override
  public String toString() {
    return "FreeShard[" + blocks + " blocks in " + entries + " entries, "
        + Long.toUnsignedString(bytes) + " bytes free, largest "
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
      // The entry straddling key is the only one usable clipped; all others start above key.
      int b = floor(key);
      if (b != NIL && Unsigned.lt(key, end[b])) {
        if (shape[b] == 0) {
          long a = Unsigned.alignUp(key, align);
          // Any later block has an aligned start >= a: if this end is out of bounds, theirs is too.
          if (!endsBelow(a, size, hi)) return NIL;
          if (Unsigned.le(a + size, end[b])) {
            found = a;
            return b;
          }
        } else {
          long s = start[b];
          long st = stride(b);
          long j = Long.divideUnsigned(key - s, st);
          long me = s + j * st + width(b);
          if (Unsigned.lt(key, me)) { // key is inside member j
            long a = Unsigned.alignUp(key, align);
            if (!endsBelow(a, size, hi)) return NIL;
            if (Unsigned.le(a + size, me)) {
              found = a;
              return b;
            }
          }
          long m = memberFit(b, j + 1, size, align);
          if (m >= 0) {
            long a = s + m * st;
            if (!endsBelow(a, size, hi)) return NIL;
            found = a;
            return b;
          }
        }
      }
      int x = firstFitAbove(key, size, fc);
      if (x == NIL) return NIL;
      long a;
      if (shape[x] == 0) {
        a = Unsigned.alignUp(start[x], align);
        if (!endsBelow(a, size, hi)) return NIL;
        if (Unsigned.le(a + size, end[x])) {
          found = a;
          return x;
        }
      } else {
        long m = memberFit(x, 0, size, align);
        if (m >= 0) {
          a = start[x] + m * stride(x);
          if (!endsBelow(a, size, hi)) return NIL;
          found = a;
          return x;
        }
      }
      if (exact) {
        throw new IllegalStateException("class " + c + " deficits promised a fit of "
            + Unsigned.hex(size) + " aligned to " + Unsigned.hex(align) + " in the entry at "
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
   * {@code find_vmap_lowest_match}'s descent, per class: the lowest entry starting above
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

  /** Whether the entry {@code n} itself holds a fit of {@code size} in class {@code c}. */
  private boolean selfFits(int n, int c, long size) {
    int sh = shape[n] & 0xff;
    if (sh != 0) {
      long w = shapeWidth[sh];
      if (Unsigned.lt(w, size)) return false;
      if (c <= 0) return true;
      int k = granule + c;
      return Long.numberOfTrailingZeros(w) >= k || alignedMember(n, sh, 0, count(n), k) >= 0;
    }
    long s = start[n];
    if (c <= 0) return !Unsigned.lt(end[n] - s, size);
    long a = Unsigned.alignUp(s, 1L << (granule + c));
    return a != Unsigned.OVERFLOW && Unsigned.lt(a, a + size) && Unsigned.le(a + size, end[n]);
  }

  /**
   * The lowest member index {@code >= jmin} of run {@code n} holding a fit of {@code size} aligned
   * to {@code align} (at its start: members start at multiples of their width), or -1.
   */
  private long memberFit(int n, long jmin, long size, long align) {
    int sh = shape[n] & 0xff;
    long w = shapeWidth[sh];
    if (Unsigned.lt(w, size)) return -1;
    long k = count(n);
    if (!Unsigned.lt(jmin, k)) return -1;
    if (Unsigned.le(align, w)) return jmin;
    return alignedMember(n, sh, jmin, k, Long.numberOfTrailingZeros(align));
  }

  /**
   * The lowest member index {@code j} in {@code [jmin, k)} of run {@code n} (shape {@code sh})
   * whose start {@code s + j * stride} is a multiple of {@code 2^bits}, or -1. By arithmetic: with
   * {@code stride = 2^t * q}, {@code q} odd, no member qualifies unless {@code 2^t} divides
   * {@code s} (when {@code bits > t}), and then exactly the {@code j} with
   * {@code j = -(s >> t) * q^-1 (mod 2^(bits - t))}.
   */
  private long alignedMember(int n, int sh, long jmin, long k, int bits) {
    if (!Unsigned.lt(jmin, k)) return -1;
    long s = start[n];
    int t = shapeStrideTz[sh];
    if (bits <= t) return (s & ((1L << bits) - 1)) == 0 ? jmin : -1;
    if ((s & ((1L << t) - 1)) != 0) return -1;
    long mask = (1L << (bits - t)) - 1; // bits <= 63
    long r = (-(s >>> t) * shapeInverse[sh]) & mask;
    long j = jmin + ((r - jmin) & mask);
    return Unsigned.lt(j, k) ? j : -1;
  }

  /** The entry with the greatest start {@code <= key}, or NIL. */
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

  /** The entry with the least start {@code > key}, or NIL. */
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
  // Runs

  private long width(int n) {
    return shapeWidth[shape[n] & 0xff];
  }

  private long stride(int n) {
    return shapeStride[shape[n] & 0xff];
  }

  /** Members of entry {@code n}: 1 for a block. */
  private long count(int n) {
    int sh = shape[n] & 0xff;
    if (sh == 0) return 1;
    return Long.divideUnsigned(end[n] - start[n] - shapeWidth[sh], shapeStride[sh]) + 1;
  }

  /** A block's size, or a run's width: what {@code subtree_max_size} counts. */
  private long selfSize(int n) {
    int sh = shape[n] & 0xff;
    return sh == 0 ? end[n] - start[n] : shapeWidth[sh];
  }

  /** The index of shape (w, p), added if new. */
  private int shapeIndex(long w, long p) {
    for (int i = 1; i <= shapes; i++) {
      if (shapeWidth[i] == w && shapeStride[i] == p) return i;
    }
    if (shapes == MAX_SHAPES) {
      throw new IllegalArgumentException("more than " + MAX_SHAPES + " run shapes; width "
          + Unsigned.hex(w) + " stride " + Unsigned.hex(p) + " is one too many");
    }
    int i = ++shapes;
    if (i == shapeWidth.length) {
      int next = Math.min(MAX_SHAPES + 1, i * 2);
      shapeWidth = Arrays.copyOf(shapeWidth, next);
      shapeStride = Arrays.copyOf(shapeStride, next);
      shapeStrideTz = Arrays.copyOf(shapeStrideTz, next);
      shapeInverse = Arrays.copyOf(shapeInverse, next);
    }
    shapeWidth[i] = w;
    shapeStride[i] = p;
    int t = Long.numberOfTrailingZeros(p);
    shapeStrideTz[i] = t;
    long q = p >>> t;
    long inv = q; // Newton's iteration: correct to 3, 6, 12, 24, 48, 96 bits
    for (int r = 0; r < 5; r++) inv *= 2 - q * inv;
    shapeInverse[i] = inv;
    return i;
  }

  /** Entry {@code n} keeps its first {@code k} members (a block if {@code k == 1}). */
  private void keepMembers(int n, long k) {
    int sh = shape[n] & 0xff;
    long w = shapeWidth[sh];
    if (k == 1) {
      end[n] = start[n] + w;
      shape[n] = 0;
    } else {
      end[n] = start[n] + (k - 1) * shapeStride[sh] + w;
    }
  }

  /** Inserts {@code k} members of shape {@code sh} from {@code s}: a run, or a block if one. */
  private int insertMembers(long s, int sh, long k) {
    long w = shapeWidth[sh];
    if (k == 1) return insertEntry(s, s + w, 0);
    return insertEntry(s, s + (k - 1) * shapeStride[sh] + w, sh);
  }

  /**
   * Cuts member {@code j} of run {@code n} out as a block of its own and returns its slot; the
   * members before and after it stay runs (or blocks, if one is left). No free space changes.
   * O(log n).
   */
  private int isolate(int n, long j) {
    int sh = shape[n] & 0xff;
    long s = start[n];
    long st = shapeStride[sh];
    long k = count(n);
    long ms = s + j * st;
    if (j == 0) {
      end[n] = s + shapeWidth[sh];
      shape[n] = 0;
      refresh(s);
      insertMembers(s + st, sh, k - 1);
      return n;
    }
    keepMembers(n, j);
    refresh(s);
    int y = insertEntry(ms, ms + shapeWidth[sh], 0);
    if (j < k - 1) insertMembers(ms + st, sh, k - 1 - j);
    return y;
  }

  /** Run {@code n} keeps members {@code 0..j}; the rest become a new entry, returned. */
  private int splitAfter(int n, long j) {
    int sh = shape[n] & 0xff;
    long s = start[n];
    long k = count(n);
    keepMembers(n, j + 1);
    refresh(s);
    return insertMembers(s + (j + 1) * shapeStride[sh], sh, k - 1 - j);
  }

  /**
   * Block {@code z}, just released or merged, joins its neighbours if it is exactly one member of
   * a run shape past the entry before it, or before the entry after it: that entry being a run of
   * the shape, or a block as wide at a start that a run could have (so zones freed whole in any
   * order come together again). When it fits both, the three become one run. Only shapes the shard
   * already has are used; a shard built without runs never gets one. O(log n).
   */
  private void rejoin(int z) {
    long zs = start[z];
    long ze = end[z];
    long w = ze - zs;
    if (Long.bitCount(w) != 1 || (zs & (w - 1)) != 0) return;
    int p = zs == 0 ? NIL : floor(zs - 1);
    int q = higher(zs);
    int intoP = joinShape(p, w, zs, true);
    int intoQ = joinShape(q, w, zs, false);
    if (intoP != 0 && intoQ != 0 && intoP == intoQ) {
      long qEnd = end[q];
      root = delete(root, zs);
      root = delete(root, start[q]);
      end[p] = qEnd;
      shape[p] = (byte) intoP;
      refresh(start[p]);
    } else if (intoP != 0) {
      root = delete(root, zs);
      end[p] = ze;
      shape[p] = (byte) intoP;
      refresh(start[p]);
    } else if (intoQ != 0) {
      root = delete(root, zs);
      start[q] = zs; // q's predecessor ends below zs: the order holds
      shape[q] = (byte) intoQ;
      refresh(zs);
    }
  }

  /**
   * The shape with which a block of width {@code w} at {@code zs} extends entry {@code n} (which
   * lies before it if {@code before}, else after it), or 0.
   */
  private int joinShape(int n, long w, long zs, boolean before) {
    if (n == NIL) return 0;
    int sh = shape[n] & 0xff;
    if (sh != 0) {
      if (shapeWidth[sh] != w) return 0;
      long st = shapeStride[sh];
      return (before ? end[n] - w + st == zs : start[n] - st == zs) ? sh : 0;
    }
    long s = start[n];
    if (end[n] - s != w || (s & (w - 1)) != 0) return 0;
    for (int i = 1; i <= shapes; i++) {
      if (shapeWidth[i] != w) continue;
      long st = shapeStride[i];
      if (before ? s + st == zs : s - st == zs) return i;
    }
    return 0;
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
      blocks--;
    } else if (bs == s) { // left edge
      start[b] = e;
      refresh(e);
    } else if (be == e) { // right edge
      end[b] = s;
      refresh(bs);
    } else { // middle: b keeps the left part, a new block takes the right part
      end[b] = s;
      refresh(bs);
      insertEntry(e, be, 0);
      blocks++;
    }
    bytes -= e - s;
  }

  private int insertEntry(long s, long e, int sh) {
    int x = newSlot();
    start[x] = s;
    end[x] = e;
    shape[x] = (byte) sh;
    left[x] = NIL;
    right[x] = NIL;
    height[x] = 1;
    pullAug(x);
    root = insert(root, x);
    entries++;
    return x;
  }

  /**
   * Recomputes the augmentation from the entry starting at {@code key} up to the root, after that
   * entry changed in place, stopping at the first node whose values did not change (the kernel's
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

  /** Unlinks and frees the entry starting at {@code key}, which exists. Slots of others stay. */
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
      entries--;
      if (l == NIL) return r;
      if (r == NIL) return l;
      // Relink the successor into n's place rather than copying its fields, so no entry moves
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
   * Recomputes {@code subtree_max_size} and the class deficits of {@code n} from its own entry and
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
    int sh = shape[n] & 0xff;
    long self = sh == 0 ? end[n] - start[n] : shapeWidth[sh];
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
    long w0;
    long w1;
    long w2;
    long w3;
    if (sh == 0) {
      // A block's waste in class c is (-start mod 2^(g+c)) / 2^g: the low c bits of u.
      long u = (((-start[n]) >>> g) & 0x3fff) * LANES;
      w0 = laneMin(ds + (u & CAP0), laneMin(dl + a[bl], dr + a[br])) & CAP0;
      w1 = laneMin(ds + (u & CAP1), laneMin(dl + a[bl + 1], dr + a[br + 1])) & CAP1;
      w2 = laneMin(ds + (u & CAP2), laneMin(dl + a[bl + 2], dr + a[br + 2])) & CAP2;
      w3 = laneMin(ds + (u & CAP3), laneMin(dl + a[bl + 3], dr + a[br + 3])) & CAP3;
    } else {
      // A run wastes nothing in class c if some member starts aligned, else its whole width.
      long k = count(n);
      int wtz = Long.numberOfTrailingZeros(self);
      long wg = self >>> g;
      long[] waste = new long[WORDS];
      for (int c = 1; c <= live; c++) {
        int bits = g + c;
        if (bits > wtz && alignedMember(n, sh, 0, k, bits) < 0) {
          waste[(c - 1) >> 2] |= wg << laneShift(c);
        }
      }
      w0 = laneMin(ds + waste[0], laneMin(dl + a[bl], dr + a[br])) & CAP0;
      w1 = laneMin(ds + waste[1], laneMin(dl + a[bl + 1], dr + a[br + 1])) & CAP1;
      w2 = laneMin(ds + waste[2], laneMin(dl + a[bl + 2], dr + a[br + 2])) & CAP2;
      w3 = laneMin(ds + waste[3], laneMin(dl + a[bl + 3], dr + a[br + 3])) & CAP3;
    }
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
    shape[s] = 0;
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
    shape = Arrays.copyOf(shape, next);
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

  private static String range(long s, long e) {
    return "[" + Unsigned.hex(s) + ", " + Unsigned.hex(e) + ")";
  }

  /** An in-order walk verifying every invariant of the tree below a node. */
  private final class Checker {
    int visited;
    long blocks;
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
      if (!Unsigned.lt(s, e)) throw new IllegalStateException("empty entry " + range(s, e));
      long gmask = (1L << granule) - 1;
      int sh = shape[n] & 0xff;
      long k = 1;
      long self = e - s;
      if (sh != 0) {
        if (sh > shapes) throw new IllegalStateException("entry " + range(s, e) + " has no shape");
        long w = shapeWidth[sh];
        long p = shapeStride[sh];
        if (Long.bitCount(w) != 1 || (p & (w - 1)) != 0 || !Unsigned.lt(w, p)
            || (s & (w - 1)) != 0 || (w & gmask) != 0) {
          throw new IllegalStateException("run " + range(s, e) + " has a bad shape: width "
              + Unsigned.hex(w) + ", stride " + Unsigned.hex(p) + ", granule 2^" + granule);
        }
        if (Long.remainderUnsigned(e - s - w, p) != 0) {
          throw new IllegalStateException("run " + range(s, e) + " does not end at a member end");
        }
        k = count(n);
        if (k < 2) throw new IllegalStateException("run " + range(s, e) + " has one member");
        self = w;
      } else if ((s & gmask) != 0 || (e & gmask) != 0) {
        throw new IllegalStateException(
            "block " + range(s, e) + " is not a multiple of the granule 2^" + granule);
      }
      if (hasPrev && !Unsigned.lt(prevEnd, s)) {
        throw new IllegalStateException("entry " + range(s, e)
            + (prevEnd == s ? " touches" : " overlaps or is out of order with")
            + " the entry before it, ending at " + Unsigned.hex(prevEnd));
      }
      hasPrev = true;
      prevEnd = e;
      visited++;
      blocks += k;
      bytes += k * self;
      int hr = check(right[n], depth + 1);
      if (Math.abs(hl - hr) > 1) {
        throw new IllegalStateException("entry " + range(s, e) + " is out of balance: left height "
            + hl + ", right height " + hr);
      }
      int h = 1 + Math.max(hl, hr);
      if (height[n] != h) {
        throw new IllegalStateException(
            "entry " + range(s, e) + " caches height " + height[n] + ", real " + h);
      }
      long m = self;
      if (Unsigned.lt(m, maxSize[left[n]])) m = maxSize[left[n]];
      if (Unsigned.lt(m, maxSize[right[n]])) m = maxSize[right[n]];
      if (maxSize[n] != m) {
        throw new IllegalStateException("entry " + range(s, e) + " caches subtree_max_size "
            + Long.toUnsignedString(maxSize[n]) + ", real " + Long.toUnsignedString(m));
      }
      System.arraycopy(aug, n * WORDS, expect, 0, WORDS);
      if (pullAug(n)) {
        long[] real = Arrays.copyOfRange(aug, n * WORDS, n * WORDS + WORDS);
        System.arraycopy(expect, 0, aug, n * WORDS, WORDS);
        throw new IllegalStateException("entry " + range(s, e) + " caches class deficits "
            + Arrays.toString(expect) + ", real " + Arrays.toString(real));
      }
      return h;
    }
  }

  /** Entries in address order, touching ones merged as they come; builds a shard. */
  private static final class RunBuffer {
    long[] starts;
    long[] widths;
    long[] strides;
    long[] counts;
    int n;
    /** Nonzero: a block of this width at its start plus foldStride of the last one extends it. */
    long foldWidth;
    long foldStride;

    RunBuffer() {
      this(4);
    }

    RunBuffer(int capacity) {
      int c = Math.max(4, capacity);
      starts = new long[c];
      widths = new long[c];
      strides = new long[c];
      counts = new long[c];
    }

    private long spanEnd(int i) {
      return starts[i] + (counts[i] - 1) * strides[i] + widths[i];
    }

    /** Appends a valid entry that starts at or above the end of the last one. */
    void add(long s, long w, long p, long k) {
      if (k == 1) p = 0;
      if (n == 0 || spanEnd(n - 1) != s) {
        if (!fold(s, w, k)) push(s, w, p, k);
        return;
      }
      // Touching: the last member before s and the first member from s become one block.
      int last = n - 1;
      long mergedStart;
      if (counts[last] > 1) {
        counts[last]--;
        mergedStart = starts[last] + counts[last] * strides[last];
        if (counts[last] == 1) strides[last] = 0;
      } else {
        mergedStart = starts[last];
        n--;
      }
      push(mergedStart, s + w - mergedStart, 0, 1);
      if (k > 1) push(s + p, w, k == 2 ? 0 : p, k - 1);
    }

    /** Folds a block into the last entry if it is that entry's next member; whether it did. */
    private boolean fold(long s, long w, long k) {
      if (foldWidth == 0 || k != 1 || w != foldWidth || (s & (w - 1)) != 0 || n == 0) {
        return false;
      }
      int last = n - 1;
      if (widths[last] != w || (starts[last] & (w - 1)) != 0) return false;
      if (counts[last] > 1 && strides[last] != foldStride) return false;
      if (spanEnd(last) - w + foldStride != s) return false;
      strides[last] = foldStride;
      counts[last]++;
      return true;
    }

    private void push(long s, long w, long p, long k) {
      if (n == starts.length) {
        int c = n * 2;
        starts = Arrays.copyOf(starts, c);
        widths = Arrays.copyOf(widths, c);
        strides = Arrays.copyOf(strides, c);
        counts = Arrays.copyOf(counts, c);
      }
      starts[n] = s;
      widths[n] = w;
      strides[n] = p;
      counts[n] = k;
      n++;
    }

    FreeShard build(int granule) {
      int g = granule;
      for (int i = 0; i < n; i++) {
        g = Math.min(g, Math.min(Long.numberOfTrailingZeros(starts[i]),
            Long.numberOfTrailingZeros(widths[i])));
      }
      FreeShard f = new FreeShard(Math.max(INITIAL_CAPACITY, n + 1), g);
      for (int i = 0; i < n; i++) {
        int slot = i + 1;
        f.start[slot] = starts[i];
        f.end[slot] = spanEnd(i);
        if (counts[i] > 1) f.shape[slot] = (byte) f.shapeIndex(widths[i], strides[i]);
        f.blocks += counts[i];
        f.bytes += counts[i] * widths[i];
      }
      f.used = n + 1;
      f.entries = n;
      f.root = f.build(1, n);
      return f;
    }
  }
}
