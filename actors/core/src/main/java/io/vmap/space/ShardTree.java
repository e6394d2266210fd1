package io.vmap.space;

import java.util.Arrays;

/**
 * The augmented balanced tree of a {@link FreeShard}: the kernel's {@code free_vmap_area_root},
 * an AVL tree in parallel arrays keyed by entry start, each node carrying {@code subtree_max_size}
 * and, beyond the kernel, one deficit per alignment class, so that the exact lowest aligned fit is
 * found by one descent ({@link #firstFitAbove}). An entry is a plain block or a run
 * ({@code shape[n] != 0}, see {@link RunShapes} and {@link Runs}); this class keeps the tree's
 * order, balance and augmentation, {@link FreeShard} what the entries mean.
 *
 * <h2>Alignment classes</h2>
 *
 * <p>The shard measures sizes in <em>granules</em> of {@code 2^g} bytes: the page it was built for
 * ({@link FreeShard#of}, {@link FreeShard#ofBlocks(Geometry, long[], long[], int)}), 4 KiB
 * otherwise, lowered to the lowest set bit of any block bound that is not a multiple of it (every
 * deficit is then recomputed, O(n), at most 64 times in a shard's life). Class {@code c}, 1 to
 * {@link FreeShard#CLASSES} = 14, is the alignment {@code 2^(g + c)}: 8 KiB to 64 MiB with 4 KiB pages, every align up to the
 * default zone and one above. A block's <em>usable length</em> in class {@code c} is {@code end -
 * alignUp(start, 2^(g+c))} (negative when no aligned address is inside it); a run's is its width
 * if some member starts at a multiple of {@code 2^(g+c)} (or the width is one), else 0. Each node
 * stores, per class, its <em>deficit</em> {@code d(c) = subtree_max_size - the largest usable
 * length in its subtree}, in granules. The largest block of a subtree wastes at most {@code 2^c -
 * 1} granules to alignment, so {@code 0 <= d(c) < 2^c <= 2^14}, whatever the sizes: small
 * numbers, where the usable lengths themselves would need 64 bits each. A subtree holds a fit of
 * {@code size} aligned to {@code 2^(g+c)} iff {@code subtree_max_size - d(c) * 2^g >= size}, so
 * {@code find_vmap_lowest_match}'s descent works per class unchanged: O(log n) for every align up
 * to {@link FreeShard#exactAlignLimit()}, exactly.
 *
 * <p>Layout: a class's deficit is a 16-bit lane, four to a long, four longs per entry ({@link
 * Lanes}); {@code pullAug} recomputes four classes at a time with lane-wise additions and minimums. Chosen
 * by measurement over fields of exactly {@code c} bits (1 + 2 + ... + 14 = 105 bits, two longs):
 * unpacking and repacking fourteen fields per node made an alloc+free pair twice as slow as the
 * lanes (2.0 against 0.9 us, 15,000 blocks, {@code fragmented} layout, same machine and load) for
 * 16 bytes per entry less.
 *
 * <p>Parallel arrays, one per field, rather than one 64-byte slot per node ({@link BusyTree}'s
 * way) or a 16-byte array of start and links beside a 48-byte one of the rest: both were built and
 * measured against these arrays in the same minutes ({@code BENCHMARKS.md}, "Free-shard tree: one
 * cache line per node"), and neither made {@code vmap demo} cheaper. A descent is one dependent
 * load per level whatever the layout (the arrays' loads of one level overlap), and the 64-byte
 * slot, with four times the bytes of a descent's start and links on every path, made a random
 * lowest-fit lookup 10 to 90% dearer at 150,000 and 1,000,000 entries. Other classes use the
 * accessors ({@link #start}, {@link #setStart}, ...), so a layout is this file's choice alone.
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
 * <p>Invariants, all checked by {@link ShardChecker}:
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
 */
final class ShardTree {

  /** Slot 0 is the null child: height 0, maxSize 0, all deficits all ones. */
  static final int NIL = 0;

  static final int INITIAL_CAPACITY = 16;

  /** Above any AVL height an int-sized pool can reach (45), for the fixed path stack. */
  static final int MAX_HEIGHT = 64;

  static final int DEFAULT_GRANULE = 12;

  /** Longs per entry for the class deficits ({@link Lanes}). */
  static final int WORDS = Lanes.WORDS;

  /** log2 of the granule; only ever decreases. */
  int granule;
  /** Classes usable with this granule: {@code g + c <= 63}. */
  int live;
  /** The largest deficit in bytes, {@code (2^live - 1) << g}. */
  long capMax;

  // The node pool. Slot i is the entry starting at start[i] and ending at end[i] (a run's end is
  // its last member's end); shape[i] is 0 for a block, else the run's shape. A free slot is
  // chained through left[]. Parallel arrays, not one slot per node: see the class doc.
  long[] start;
  long[] end;
  long[] maxSize;
  /** {@link #WORDS} longs per slot: the class deficits, in granules. */
  long[] aug;
  int[] left;
  int[] right;
  byte[] height;
  byte[] shape;

  int root = NIL;
  /** Head of the chain of freed slots. */
  int freeSlots = NIL;
  /** Slots handed out so far, including NIL: slots {@code [used, capacity)} were never used. */
  int used = 1;
  /** Entries in the tree: blocks and runs. */
  int entries;
  /** Root-to-node path for {@link #refresh}, reused so updates allocate nothing. */
  private final int[] path = new int[MAX_HEIGHT];

  /** Run shapes of the entries; {@code shape[n]} indexes them. */
  final RunShapes shapes = new RunShapes();

  ShardTree(int capacity, int granule) {
    start = new long[capacity];
    end = new long[capacity];
    maxSize = new long[capacity];
    aug = new long[capacity * WORDS];
    left = new int[capacity];
    right = new int[capacity];
    height = new byte[capacity];
    shape = new byte[capacity];
    System.arraycopy(Lanes.CAP, 0, aug, 0, WORDS);
    setGranule(granule);
  }

  // Field accessors for the other classes of the package, inlined by the JIT: the layout of the
  // pool is this class's alone, so another can be tried (and measured) by changing one file.

  long start(int n) {
    return start[n];
  }

  void setStart(int n, long v) {
    start[n] = v;
  }

  long end(int n) {
    return end[n];
  }

  void setEnd(int n, long v) {
    end[n] = v;
  }

  /** {@code subtree_max_size} of {@code n}. */
  long maxSize(int n) {
    return maxSize[n];
  }

  int left(int n) {
    return left[n];
  }

  int right(int n) {
    return right[n];
  }

  /** The AVL height of {@code n}'s subtree; 0 for NIL. */
  int height(int n) {
    return height[n];
  }

  /** The run shape of {@code n}, an index of {@link #shapes}; 0 for a block. */
  int shape(int n) {
    return shape[n] & 0xff;
  }

  void setShape(int n, int sh) {
    shape[n] = (byte) sh;
  }

  /** Word {@code w} of {@code n}'s class deficits ({@link Lanes}). */
  long augWord(int n, int w) {
    return aug[n * WORDS + w];
  }

  void setAugWord(int n, int w, long v) {
    aug[n * WORDS + w] = v;
  }

  /** Links the filled slots {@code lo..hi} (in address order) into a balanced subtree. */
  int build(int lo, int hi) {
    if (lo > hi) return NIL;
    int mid = (lo + hi) >>> 1;
    left[mid] = build(lo, mid - 1);
    right[mid] = build(mid + 1, hi);
    pull(mid);
    return mid;
  }

  long width(int n) {
    return shapes.width[shape[n] & 0xff];
  }

  long stride(int n) {
    return shapes.stride[shape[n] & 0xff];
  }

  /** Members of entry {@code n}: 1 for a block. */
  long count(int n) {
    int sh = shape[n] & 0xff;
    if (sh == 0) return 1;
    return Long.divideUnsigned(end[n] - start[n] - shapes.width[sh], shapes.stride[sh]) + 1;
  }

  /** A block's size, or a run's width: what {@code subtree_max_size} counts. */
  long selfSize(int n) {
    int sh = shape[n] & 0xff;
    return sh == 0 ? end[n] - start[n] : shapes.width[sh];
  }

  /**
   * {@code find_vmap_lowest_match}'s descent, per class: the lowest entry starting above
   * {@code key} holding a fit of {@code size} aligned to {@code 2^(g + c)} ({@code c <= 0}: any
   * block of {@code size} bytes), or NIL. O(log n): one walk down the search path of {@code key},
   * remembering the deepest node where the path turned left and that node or its right subtree
   * holds a fit (deeper means lower addresses), then one walk down that subtree steered by the
   * class's deficits.
   */
  int firstFitAbove(long key, long size, int c) {
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
  boolean subtreeFits(int n, int c, long size) {
    long m = maxSize[n];
    if (c <= 0) return !Unsigned.lt(m, size);
    long d = deficit(n, c) << granule;
    return Unsigned.le(d, m) && Unsigned.le(size, m - d);
  }

  /** Class {@code c}'s deficit of {@code n}, in granules. */
  long deficit(int n, int c) {
    return (aug[n * WORDS + ((c - 1) >> 2)] >>> Lanes.shift(c)) & 0xffff;
  }

  /** Whether the entry {@code n} itself holds a fit of {@code size} in class {@code c}. */
  boolean selfFits(int n, int c, long size) {
    int sh = shape[n] & 0xff;
    if (sh != 0) {
      long w = shapes.width[sh];
      if (Unsigned.lt(w, size)) return false;
      if (c <= 0) return true;
      int k = granule + c;
      return Long.numberOfTrailingZeros(w) >= k || shapes.alignedMember(start[n], sh, 0, count(n), k) >= 0;
    }
    long s = start[n];
    if (c <= 0) return !Unsigned.lt(end[n] - s, size);
    long a = Unsigned.alignUp(s, 1L << (granule + c));
    return a != Unsigned.OVERFLOW && Unsigned.lt(a, a + size) && Unsigned.le(a + size, end[n]);
  }

  /** The entry with the greatest start {@code <= key}, or NIL. */
  int floor(long key) {
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
  int higher(long key) {
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

  /** Unlinks and frees the entry starting at {@code key}, which exists. */
  void remove(long key) {
    root = delete(root, key);
  }

  int insertEntry(long s, long e, int sh) {
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
  void refresh(long key) {
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

  // Insert, delete and removeMin stop recomputing at the first level whose changed child came back
  // with the height, subtree_max_size and class deficits it had (summaryChanged false): n's own
  // values and balance depend on nothing else, so they and everything above stand (the early exit
  // of the kernel's augment_tree_propagate_from, which refresh already takes). Without it every
  // level up to the root ran pullAug and read the other child's values.

  /**
   * Set by {@link #insert}, {@link #delete}, {@link #removeMin} and {@link #rebalance}: whether the
   * subtree they return may differ in height, {@code subtree_max_size} or class deficits from the
   * one they were given (a rotation or a removed entry always counts as a difference).
   */
  private boolean summaryChanged;

  private int insert(int n, int x) {
    if (n == NIL) {
      summaryChanged = true;
      return x;
    }
    if (Unsigned.lt(start[x], start[n])) {
      left[n] = insert(left[n], x);
    } else {
      right[n] = insert(right[n], x);
    }
    return summaryChanged ? rebalance(n) : n;
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
      summaryChanged = true;
      if (l == NIL) return r;
      if (r == NIL) return l;
      // Relink the successor into n's place rather than copying its fields, so no entry moves
      // to another slot.
      int m = r;
      while (left[m] != NIL) m = left[m];
      right[m] = removeMin(r);
      left[m] = l;
      int top = rebalance(m);
      summaryChanged = true; // m's values before were those of its old place
      return top;
    }
    return summaryChanged ? rebalance(n) : n;
  }

  private int removeMin(int n) {
    if (left[n] == NIL) {
      summaryChanged = true;
      return right[n];
    }
    left[n] = removeMin(left[n]);
    return summaryChanged ? rebalance(n) : n;
  }

  /**
   * Recomputes {@code n} and rotates it if it is out of balance; notes in {@link #summaryChanged}
   * whether its subtree's values changed.
   */
  private int rebalance(int n) {
    int h = height[n];
    summaryChanged = pull(n) || height[n] != h;
    int bf = height[left[n]] - height[right[n]];
    if (bf > 1) {
      int l = left[n];
      if (height[left[l]] < height[right[l]]) left[n] = rotateLeft(l);
      summaryChanged = true;
      return rotateRight(n);
    }
    if (bf < -1) {
      int r = right[n];
      if (height[right[r]] < height[left[r]]) right[n] = rotateRight(r);
      summaryChanged = true;
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

  /** Recomputes height and augmentation of {@code n} from its children; true if the augmentation changed. */
  boolean pull(int n) {
    height[n] = (byte) (1 + Math.max(height[left[n]], height[right[n]]));
    return pullAug(n);
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
  boolean pullAug(int n) {
    int l = left[n];
    int r = right[n];
    int sh = shape[n] & 0xff;
    long self = sh == 0 ? end[n] - start[n] : shapes.width[sh];
    long ml = maxSize[l];
    long mr = maxSize[r];
    long m = self;
    if (Unsigned.lt(m, ml)) m = ml;
    if (Unsigned.lt(m, mr)) m = mr;
    boolean changed = maxSize[n] != m;
    maxSize[n] = m;
    int g = granule;
    long cap = capMax;
    long ds = (Unsigned.min(m - self, cap) >>> g) * Lanes.ONES;
    long dl = (Unsigned.min(m - ml, cap) >>> g) * Lanes.ONES;
    long dr = (Unsigned.min(m - mr, cap) >>> g) * Lanes.ONES;
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
      long u = (((-start[n]) >>> g) & 0x3fff) * Lanes.ONES;
      w0 = Lanes.min(ds + (u & Lanes.CAP0), Lanes.min(dl + a[bl], dr + a[br])) & Lanes.CAP0;
      w1 = Lanes.min(ds + (u & Lanes.CAP1), Lanes.min(dl + a[bl + 1], dr + a[br + 1])) & Lanes.CAP1;
      w2 = Lanes.min(ds + (u & Lanes.CAP2), Lanes.min(dl + a[bl + 2], dr + a[br + 2])) & Lanes.CAP2;
      w3 = Lanes.min(ds + (u & Lanes.CAP3), Lanes.min(dl + a[bl + 3], dr + a[br + 3])) & Lanes.CAP3;
    } else {
      // A run wastes nothing in class c if some member starts aligned, else its whole width.
      long k = count(n);
      int wtz = Long.numberOfTrailingZeros(self);
      long wg = self >>> g;
      long[] waste = new long[WORDS];
      for (int c = 1; c <= live; c++) {
        int bits = g + c;
        if (bits > wtz && shapes.alignedMember(start[n], sh, 0, k, bits) < 0) {
          waste[(c - 1) >> 2] |= wg << Lanes.shift(c);
        }
      }
      w0 = Lanes.min(ds + waste[0], Lanes.min(dl + a[bl], dr + a[br])) & Lanes.CAP0;
      w1 = Lanes.min(ds + waste[1], Lanes.min(dl + a[bl + 1], dr + a[br + 1])) & Lanes.CAP1;
      w2 = Lanes.min(ds + waste[2], Lanes.min(dl + a[bl + 2], dr + a[br + 2])) & Lanes.CAP2;
      w3 = Lanes.min(ds + waste[3], Lanes.min(dl + a[bl + 3], dr + a[br + 3])) & Lanes.CAP3;
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

  private void setGranule(int g) {
    granule = g;
    live = Math.max(0, Math.min(FreeShard.CLASSES, 63 - g));
    capMax = ((1L << live) - 1) << g;
  }

  /**
   * Makes sure {@code v} is a multiple of the granule, lowering the granule to {@code v}'s lowest
   * set bit if not, and recomputing every entry's deficits (O(n), at most 64 times per shard).
   */
  void useGranule(long v) {
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

  int newSlot() {
    int s = freeSlots;
    if (s != NIL) {
      freeSlots = left[s];
      return s;
    }
    if (used == start.length) grow();
    return used++;
  }

  void freeSlot(int s) {
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

  /** Bytes of heap the arrays take, capacity included (headers estimated at 16 bytes each). */
  long footprintBytes() {
    long perSlot = 3 * 8 + 8L * WORDS + 2 * 4 + 2;
    return start.length * perSlot + 8 * 16 + shapes.footprintBytes() + MAX_HEIGHT * 4;
  }
}
