package io.vmap.space;

import java.util.Arrays;

/**
 * The free space of one vmap node: the kernel's {@code free_vmap_area_root}, an augmented balanced
 * BST keyed by block start, each node carrying {@code subtree_max_size} (the largest free block in
 * its subtree). Blocks never overlap and never touch (adjacent blocks are always merged).
 *
 * <p>The tree is an AVL tree kept in an array-backed node pool (parallel arrays, one slot per
 * block, freed slots chained for reuse), so a shard of a million blocks is a handful of flat
 * arrays rather than a million objects. Invariants, all checked by {@link #checkInvariants()}:
 *
 * <ul>
 *   <li>every block {@code [start, end)} has {@code start < end}, unsigned;
 *   <li>in-order, each block ends strictly below the next one's start: no overlap, and no two
 *       blocks touch (a touching pair would be one block the allocator cannot see as a whole);
 *   <li>{@code maxSize[n]} is the largest {@code end - start} in {@code n}'s subtree (unsigned),
 *       {@code subtree_max_size};
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

  /** Slot 0 is the null child: height 0, maxSize 0, so leaves need no special case. */
  private static final int NIL = 0;

  private static final int INITIAL_CAPACITY = 16;

  /** Above any AVL height an int-sized pool can reach (45), for the fixed path stack. */
  private static final int MAX_HEIGHT = 64;

  // The node pool. Slot i is the block [start[i], end[i]); a free slot is chained through left[].
  private long[] start;
  private long[] end;
  private long[] maxSize;
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

  public FreeShard() {
    this(INITIAL_CAPACITY);
  }

  private FreeShard(int capacity) {
    start = new long[capacity];
    end = new long[capacity];
    maxSize = new long[capacity];
    left = new int[capacity];
    right = new int[capacity];
    height = new byte[capacity];
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
    RangeBuffer ranges = new RangeBuffer();
    g.forEachOwnedRange(node, ranges::add);
    return ofBlocks(ranges.starts, ranges.ends, ranges.n);
  }

  /**
   * A shard holding the first {@code n} blocks {@code [starts[i], ends[i])}, which must be in
   * ascending address order and disjoint; blocks that touch are merged. O(n). For building a
   * shard from a snapshot or a bulk list (a sequence of {@link #release} calls would cost
   * O(n log n)).
   *
   * @throws IllegalArgumentException naming the first empty, unordered or overlapping block
   */
  public static FreeShard ofBlocks(long[] starts, long[] ends, int n) {
    if (n < 0 || n > starts.length || n > ends.length) {
      throw new IllegalArgumentException(
          "block count " + n + " does not fit arrays of " + starts.length + " and " + ends.length);
    }
    FreeShard f = new FreeShard(Math.max(INITIAL_CAPACITY, n + 1));
    int slots = 0;
    for (int i = 0; i < n; i++) {
      long s = starts[i];
      long e = ends[i];
      if (!Unsigned.lt(s, e)) {
        throw new IllegalArgumentException("block " + i + " " + range(s, e) + " is empty");
      }
      if (slots > 0) {
        long prevEnd = f.end[slots];
        if (Unsigned.lt(s, prevEnd)) {
          throw new IllegalArgumentException("block " + i + " " + range(s, e)
              + " is not above the block before it, ending at " + Unsigned.hex(prevEnd));
        }
        if (s == prevEnd) { // touching: one block, never two
          f.end[slots] = e;
          f.bytes += e - s;
          continue;
        }
      }
      slots++;
      f.start[slots] = s;
      f.end[slots] = e;
      f.bytes += e - s;
    }
    f.used = slots + 1;
    f.count = slots;
    f.root = f.build(1, slots);
    return f;
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
   * <p>Cost, in the manner of {@code find_vmap_lowest_match}: one O(log n) lookup for the block
   * straddling {@code lo} (used clipped to {@code [lo, hi)}), then a walk over the blocks above
   * {@code lo} whose size is at least {@code size}, in address order, each found in O(log n) by
   * descending with {@code subtree_max_size}. The walk stops at the first block that fits, or
   * as soon as a block's aligned start puts {@code A + size} above {@code hi} (every later block
   * starts higher). When every block start is a multiple of {@code align} (callers pass
   * page-aligned blocks and, in the common case, {@code align == page}), the first such block
   * fits, so the search is O(log n). With a larger {@code align} a block of at least
   * {@code size} bytes may still miss after alignment; such near misses cost O(log n) each, and
   * the walk ends at the latest at the first block of {@code size + align - 1} bytes or more,
   * which always fits. So the cost is O((k + 1) log n), where k is the number of near-miss
   * blocks (size in {@code [size, size + align - 1)}) between {@code lo} and the fit.
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
   * overlap, no touching neighbours, {@code subtree_max_size}, AVL balance and heights, cached
   * counts, the slot pool. For tests; O(n).
   */
  public void checkInvariants() {
    if (height[NIL] != 0 || maxSize[NIL] != 0 || left[NIL] != NIL || right[NIL] != NIL) {
      throw new IllegalStateException("the NIL slot was written to");
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

  // ---------------------------------------------------------------------------------------------
  // Search

  /**
   * The block holding the lowest fit (see {@link #findLowest}), with the address in
   * {@link #found}, or NIL.
   */
  private int search(long size, long align, long lo, long hi) {
    if (Unsigned.lt(maxSize[root], size) || !Unsigned.lt(lo, hi) || Unsigned.lt(hi - lo, size)) {
      return NIL;
    }
    // The block straddling lo is the only one that is usable clipped; all others start above lo.
    int b = floor(lo);
    if (b != NIL && Unsigned.lt(lo, end[b])) {
      long a = Unsigned.alignUp(lo, align);
      // Any later block has an aligned start >= a: if this end is out of bounds, theirs is too.
      if (!endsBelow(a, size, hi)) return NIL;
      long e = a + size;
      if (Unsigned.le(e, end[b])) {
        found = a;
        return b;
      }
    }
    for (long key = lo; ; ) {
      int c = firstFitAbove(key, size);
      if (c == NIL) return NIL;
      long a = Unsigned.alignUp(start[c], align);
      if (!endsBelow(a, size, hi)) return NIL;
      long e = a + size;
      if (Unsigned.le(e, end[c])) {
        found = a;
        return c;
      }
      key = start[c]; // a near miss: alignment ate the slack
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
   * {@code find_vmap_lowest_match}'s descent: the lowest block starting above {@code key} with at
   * least {@code size} bytes, or NIL. O(log n): one walk down the search path of {@code key},
   * remembering the deepest node where the path turned left and that node or its right subtree
   * holds a big enough block (deeper means lower addresses), then one walk down that subtree
   * steered by {@code subtree_max_size}.
   */
  private int firstFitAbove(long key, long size) {
    int best = NIL;
    for (int n = root; n != NIL; ) {
      if (Unsigned.lt(key, start[n])) {
        // n and its whole right subtree start above key.
        if (!Unsigned.lt(end[n] - start[n], size) || !Unsigned.lt(maxSize[right[n]], size)) {
          best = n;
        }
        n = left[n];
      } else {
        n = right[n];
      }
    }
    if (best == NIL || !Unsigned.lt(end[best] - start[best], size)) return best;
    int n = right[best]; // holds a fit: maxSize[n] >= size
    for (;;) {
      if (n == NIL) throw new IllegalStateException("subtree_max_size promised a fit that is absent");
      if (!Unsigned.lt(maxSize[left[n]], size)) {
        n = left[n];
      } else if (!Unsigned.lt(end[n] - start[n], size)) {
        return n;
      } else {
        n = right[n];
      }
    }
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
    maxSize[x] = e - s;
    left[x] = NIL;
    right[x] = NIL;
    height[x] = 1;
    root = insert(root, x);
    count++;
  }

  /**
   * Recomputes {@code subtree_max_size} from the root down to the block starting at {@code key},
   * after that block's size changed in place (the kernel's {@code augment_tree_propagate_from}).
   */
  private void refresh(long key) {
    int depth = 0;
    for (int n = root; ; ) {
      path[depth++] = n;
      long k = start[n];
      if (k == key) break;
      n = Unsigned.lt(key, k) ? left[n] : right[n];
    }
    while (depth > 0) pullMax(path[--depth]);
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

  /** Recomputes height and {@code subtree_max_size} of {@code n} from its children. */
  private void pull(int n) {
    height[n] = (byte) (1 + Math.max(height[left[n]], height[right[n]]));
    pullMax(n);
  }

  private void pullMax(int n) {
    long m = end[n] - start[n];
    long l = maxSize[left[n]];
    long r = maxSize[right[n]];
    if (Unsigned.lt(m, l)) m = l;
    if (Unsigned.lt(m, r)) m = r;
    maxSize[n] = m;
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
    if (cap == Integer.MAX_VALUE - 8) throw new IllegalStateException("free shard is full");
    int next = (int) Math.min((long) cap + (cap >> 1) + 1, Integer.MAX_VALUE - 8);
    start = Arrays.copyOf(start, next);
    end = Arrays.copyOf(end, next);
    maxSize = Arrays.copyOf(maxSize, next);
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
      return h;
    }
  }

  /** Collects the owned ranges of a geometry, growing as needed. */
  private static final class RangeBuffer {
    long[] starts = new long[64];
    long[] ends = new long[64];
    int n;

    void add(long s, long e) {
      if (n == starts.length) {
        starts = Arrays.copyOf(starts, n * 2);
        ends = Arrays.copyOf(ends, n * 2);
      }
      starts[n] = s;
      ends[n] = e;
      n++;
    }
  }
}
