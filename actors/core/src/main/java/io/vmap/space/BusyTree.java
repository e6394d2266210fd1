package io.vmap.space;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.StampedLock;

/**
 * A vmap node's busy tree: areas ordered by start, the kernel's {@code vn->busy.root}, readable
 * from other threads without the owner's lock (seed 002's lesson: readers do not take the writer's
 * lock).
 *
 * <p>An AVL tree in one flat array (start, end, children and height per slot, 32 bytes: half a
 * cache line; tags beside it; freed slots chained for reuse), about 40 bytes per area with room
 * to grow and no object per area. One thread writes (the node actor);
 * {@link #findConcurrent} reads from any thread with a {@link StampedLock} optimistic read, the
 * seqlock pattern: read, then validate that no write happened meanwhile, else retry. A read that
 * races with a write may see a torn tree; it never acts on it (every index is bounds-checked, every
 * walk bounded by the tree's height) and it never returns it (validation fails).
 *
 * <p>Beside the tree, a {@link FirstPageIndex} from the page holding an area's start to its slot.
 * A lookup of an address in an area's first page, the common case (callers look areas up by the
 * address they were given, as the kernel's {@code find_vmap_area} callers do), costs about two
 * cache misses (the table, the slot) instead of one per tree level (16 at 62,500 areas); an address
 * a few pages further into an area, or in free space just above one, a probe per page. Every hit
 * is checked against the slot's bounds and what the index does not hold is found by walking the
 * tree, so the answer never depends on the table, only the speed.
 *
 * <p>Invariants: keys are area starts compared unsigned; areas never overlap, so they are ordered
 * by end as well and the area containing an address, if any, is the floor entry of that address;
 * {@link #busyBytes()} is the cached sum of their sizes; AVL balance, so the height is below 64;
 * every live slot has exactly one entry in the first-page index, in the probe run of its start's
 * page.
 */
public final class BusyTree {

  private static final int NIL = 0;
  /** Above any AVL height an int-sized pool can reach (45). */
  private static final int MAX_HEIGHT = 64;
  /**
   * Pages below an address's own that a lookup probes in the first-page index before it walks the
   * tree: an address up to this many pages into an area, or in free space that close above one,
   * costs a probe per page (a cache miss each) instead of a walk (one per level).
   */
  private static final int PAGES_BACK = 4;
  /** Optimistic reads that meet a write before one falls back to the read lock. */
  private static final int OPTIMISTIC_TRIES = 8;

  /** Longs per slot in {@link #slots}: start, end, links (left << 32 | right), height. */
  private static final int STRIDE = 4;

  private final StampedLock lock = new StampedLock();
  /**
   * Slot i is {@code slots[4i .. 4i+3]}: start, end, both child links, height. One array, so a
   * lookup touches one cache line per level (separate arrays per field cost one miss each).
   */
  private long[] slots;
  private String[] tag;
  private int root = NIL;
  private int freeSlots = NIL;
  private int used = 1;
  private int count;
  private long bytes;
  private final FirstPageIndex firstPage;

  /** A tree whose first-page index assumes 4 KiB pages (any starts work; see the class doc). */
  public BusyTree() {
    this(4096);
  }

  /**
   * @param page the allocator's page, a power of two: areas are indexed by the page of their start
   * @throws IllegalArgumentException naming {@code page} unless it is a positive power of two
   */
  public BusyTree(long page) {
    if (page <= 0 || Long.bitCount(page) != 1) {
      throw new IllegalArgumentException("page " + page + " is not a positive power of two");
    }
    firstPage = new FirstPageIndex(page);
    slots = new long[16 * STRIDE];
    tag = new String[16];
  }

  private long start(int i) {
    return slots[i * STRIDE];
  }

  private long end(int i) {
    return slots[i * STRIDE + 1];
  }

  private int left(int i) {
    return (int) (slots[i * STRIDE + 2] >>> 32);
  }

  private int right(int i) {
    return (int) slots[i * STRIDE + 2];
  }

  private int height(int i) {
    return (int) slots[i * STRIDE + 3];
  }

  private void setLeft(int i, int l) {
    slots[i * STRIDE + 2] = ((long) l << 32) | (slots[i * STRIDE + 2] & 0xffffffffL);
  }

  private void setRight(int i, int r) {
    slots[i * STRIDE + 2] = (slots[i * STRIDE + 2] & 0xffffffff00000000L) | (r & 0xffffffffL);
  }

  private void setHeight(int i, int h) {
    slots[i * STRIDE + 3] = h;
  }

  // ---------------------------------------------------------------------------------------------
  // The owner's operations (one thread)

  /**
   * Inserts {@code a}. O(log n).
   *
   * @throws IllegalStateException naming both areas if {@code a} overlaps an area already there;
   *     the tree is unchanged then
   */
  public void insert(Area a) {
    // The neighbours on both sides from one descent (floor and higher at once), then the insert's own.
    long key = a.start();
    int below = NIL;
    int above = NIL;
    for (int n = root; n != NIL; ) {
      if (Unsigned.le(start(n), key)) {
        below = n;
        n = right(n);
      } else {
        above = n;
        n = left(n);
      }
    }
    if (below != NIL && Unsigned.lt(key, end(below))) throw overlap(a, below);
    if (above != NIL && Unsigned.lt(start(above), a.end())) throw overlap(a, above);
    long stamp = lock.writeLock();
    try {
      int x = newSlot();
      slots[x * STRIDE] = a.start();
      slots[x * STRIDE + 1] = a.end();
      slots[x * STRIDE + 2] = 0; // no children (NIL, NIL)
      slots[x * STRIDE + 3] = 1;
      tag[x] = a.tag();
      root = insert(root, x);
      count++;
      bytes += a.size();
      firstPage.put(x, a.start(), !a.tag().isEmpty(), slots, STRIDE);
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  /**
   * The area with {@code start <= addr < end}, or null. O(1) within {@value #PAGES_BACK} pages
   * above an area's start, else O(log n).
   */
  public Area find(long addr) {
    int e = firstPage.floorEntry(slots, STRIDE, addr, PAGES_BACK);
    int n = e != NIL ? e & FirstPageIndex.SLOT : floor(addr);
    return n != NIL && Unsigned.lt(addr, end(n)) ? area(n) : null;
  }

  /** The area starting exactly at {@code start}, or null. O(1): the first-page index. */
  public Area get(long start) {
    int n = slotStartingAt(start);
    return n != NIL ? area(n) : null;
  }

  /** Removes and returns the area starting exactly at {@code start}, or null. O(log n) (one walk). */
  public Area remove(long start) {
    int n = slotStartingAt(start);
    if (n == NIL) return null;
    Area a = area(n);
    long stamp = lock.writeLock();
    try {
      firstPage.remove(n, start, slots, STRIDE);
      root = delete(root, start);
      count--;
      bytes -= a.size();
    } finally {
      lock.unlockWrite(stamp);
    }
    return a;
  }

  public int size() {
    return count;
  }

  /** Sum of area sizes (unsigned). */
  public long busyBytes() {
    return bytes;
  }

  /** Areas in address order: a read-only list built now. O(n). */
  public List<Area> areas() {
    Area[] out = new Area[count];
    int[] i = {0};
    inOrder(root, n -> out[i[0]++] = area(n));
    return List.of(out);
  }

  // ---------------------------------------------------------------------------------------------
  // Any thread

  /**
   * {@link #find} from any thread: the area containing {@code addr} at some instant during the
   * call, or null if none did. Reflects every insert and remove that completed before the call.
   */
  public Area findConcurrent(long addr) {
    for (int attempt = 0; attempt < OPTIMISTIC_TRIES; attempt++) {
      long stamp = lock.tryOptimisticRead();
      if (stamp == 0) {
        Thread.onSpinWait();
        continue;
      }
      long bs = 0;
      long be = 0;
      String bt = "";
      boolean found = false;
      boolean torn = false;
      try {
        // Array references first: the owner may replace them (growth) while we read.
        long[] sl = slots;
        String[] t = tag;
        int entry = firstPage.floorEntry(sl, STRIDE, addr, PAGES_BACK);
        // The index's floor entry is the tree's (its tag read only if it has one); else walk.
        int best = entry != NIL ? entry & FirstPageIndex.SLOT : floorConcurrent(sl, addr);
        if (best < 0 || best >= t.length) {
          torn = true;
        } else if (best != NIL) {
          int at = best * STRIDE;
          bs = sl[at];
          be = sl[at + 1];
          if (Unsigned.lt(addr, be)) {
            found = true;
            if (entry == NIL || (entry & FirstPageIndex.TAGGED) != 0) bt = t[best];
            torn = !Unsigned.lt(bs, be);
          }
        }
      } catch (RuntimeException raced) {
        torn = true; // a torn read (a stale index): validation would fail anyway
      }
      if (!torn && lock.validate(stamp)) return found ? new Area(bs, be, bt) : null;
    }
    // The owner kept writing: take the read lock once.
    long stamp = lock.readLock();
    try {
      return find(addr);
    } finally {
      lock.unlockRead(stamp);
    }
  }

  /**
   * {@link #floor} for a reader on another thread over the slot array {@code sl} it read: the slot,
   * NIL, or -1 when the read is torn (an index out of bounds, a walk deeper than any AVL tree).
   */
  private int floorConcurrent(long[] sl, long addr) {
    int best = NIL;
    int n = root;
    for (int depth = 0; n != NIL; depth++) {
      int at = n * STRIDE;
      if (depth > MAX_HEIGHT || n < 0 || at + STRIDE > sl.length) return -1;
      long links = sl[at + 2];
      if (Unsigned.le(sl[at], addr)) {
        best = n;
        n = (int) links;
      } else {
        n = (int) (links >>> 32);
      }
    }
    return best;
  }

  /** The slot of the area starting exactly at {@code start}, or NIL: a probe run of the index (owner). */
  private int slotStartingAt(long start) {
    return firstPage.slotStartingAt(slots, STRIDE, start);
  }

  @Override
  public String toString() {
    return "BusyTree[" + count + " areas, " + Long.toUnsignedString(bytes) + " bytes]";
  }

  // ---------------------------------------------------------------------------------------------
  // The tree

  private Area area(int n) {
    return new Area(start(n), end(n), tag[n]);
  }

  private interface SlotVisitor {
    void visit(int n);
  }

  private void inOrder(int n, SlotVisitor v) {
    if (n == NIL) return;
    inOrder(left(n), v);
    v.visit(n);
    inOrder(right(n), v);
  }

  /** The slot with the greatest start {@code <= key}, or NIL. */
  private int floor(long key) {
    int best = NIL;
    for (int n = root; n != NIL; ) {
      if (Unsigned.le(start(n), key)) {
        best = n;
        n = right(n);
      } else {
        n = left(n);
      }
    }
    return best;
  }

  // Insert and delete stop rebalancing where the changed child's height did not change: n's own
  // height and balance then stand as they were. Above that level AVL has nothing to do, and
  // rebalance would read each path node's other child (one cache miss per level at 10^5 areas)
  // only to find that out.

  private int insert(int n, int x) {
    if (n == NIL) return x;
    if (Unsigned.lt(start(x), start(n))) {
      int l = left(n);
      int before = height(l);
      int nl = insert(l, x);
      setLeft(n, nl);
      if (height(nl) == before) return n;
    } else {
      int r = right(n);
      int before = height(r);
      int nr = insert(r, x);
      setRight(n, nr);
      if (height(nr) == before) return n;
    }
    return rebalance(n);
  }

  /** Unlinks and frees the slot starting at {@code key}, which exists. */
  private int delete(int n, long key) {
    int c = Long.compareUnsigned(key, start(n));
    if (c < 0) {
      int l = left(n);
      int before = height(l);
      int nl = delete(l, key);
      setLeft(n, nl);
      if (height(nl) == before) return n;
    } else if (c > 0) {
      int r = right(n);
      int before = height(r);
      int nr = delete(r, key);
      setRight(n, nr);
      if (height(nr) == before) return n;
    } else {
      int l = left(n);
      int r = right(n);
      freeSlot(n);
      if (l == NIL) return r;
      if (r == NIL) return l;
      int m = r;
      while (left(m) != NIL) m = left(m);
      setRight(m, removeMin(r));
      setLeft(m, l);
      return rebalance(m);
    }
    return rebalance(n);
  }

  private int removeMin(int n) {
    int l = left(n);
    if (l == NIL) return right(n);
    int before = height(l);
    int nl = removeMin(l);
    setLeft(n, nl);
    if (height(nl) == before) return n;
    return rebalance(n);
  }

  private void pull(int n) {
    setHeight(n, 1 + Math.max(height(left(n)), height(right(n))));
  }

  private int rebalance(int n) {
    pull(n);
    int bf = height(left(n)) - height(right(n));
    if (bf > 1) {
      int l = left(n);
      if (height(left(l)) < height(right(l))) setLeft(n, rotateLeft(l));
      return rotateRight(n);
    }
    if (bf < -1) {
      int r = right(n);
      if (height(right(r)) < height(left(r))) setRight(n, rotateRight(r));
      return rotateLeft(n);
    }
    return n;
  }

  private int rotateRight(int n) {
    int l = left(n);
    setLeft(n, right(l));
    setRight(l, n);
    pull(n);
    pull(l);
    return l;
  }

  private int rotateLeft(int n) {
    int r = right(n);
    setRight(n, left(r));
    setLeft(r, n);
    pull(n);
    pull(r);
    return r;
  }

  private int newSlot() {
    int s = freeSlots;
    if (s != NIL) {
      freeSlots = left(s);
      return s;
    }
    if (used == tag.length) grow();
    return used++;
  }

  private void freeSlot(int s) {
    slots[s * STRIDE + 2] = (long) freeSlots << 32; // chained through the left link
    tag[s] = null;
    freeSlots = s;
  }

  private void grow() {
    int next = (int) Math.min((long) tag.length + (tag.length >> 1) + 1, FirstPageIndex.SLOT + 1L);
    if (next == tag.length) throw new IllegalStateException("busy tree is full");
    // New arrays are filled before they are published: a concurrent reader that sees the old
    // arrays, the new ones or one of each reads valid slots or fails validation.
    slots = Arrays.copyOf(slots, next * STRIDE);
    tag = Arrays.copyOf(tag, next);
  }

  /**
   * Checks the invariants of the class doc that the public answers cannot show (tests): AVL
   * heights and balance, strict unsigned order of non-overlapping areas, the cached count and
   * bytes, every area found through the first-page index.
   *
   * @throws IllegalStateException naming the first slot that breaks one
   */
  void checkInvariants() {
    long[] sum = new long[2];
    checkSubtree(root, sum, new long[] {0, 0}, 0);
    if (sum[0] != count) throw new IllegalStateException("count " + count + " but " + sum[0] + " areas in the tree");
    if (sum[1] != bytes) throw new IllegalStateException("busyBytes " + bytes + " but the areas sum to " + sum[1]);
  }

  /** Returns the height of {@code n}'s subtree; {@code last} holds whether an area was seen and its end. */
  private int checkSubtree(int n, long[] sum, long[] last, int depth) {
    if (n == NIL) return 0;
    if (depth > MAX_HEIGHT) throw new IllegalStateException("tree deeper than " + MAX_HEIGHT + " at slot " + n);
    int hl = checkSubtree(left(n), sum, last, depth + 1);
    if (!Unsigned.lt(start(n), end(n))) throw new IllegalStateException("slot " + n + " is empty: " + area(n));
    if (last[0] != 0 && Unsigned.lt(start(n), last[1])) {
      throw new IllegalStateException("slot " + n + " " + area(n) + " starts below the end of the area before it");
    }
    last[0] = 1;
    last[1] = end(n);
    if (slotStartingAt(start(n)) != n) throw new IllegalStateException("first-page index misses slot " + n);
    sum[0]++;
    sum[1] += end(n) - start(n);
    int hr = checkSubtree(right(n), sum, last, depth + 1);
    if (height(n) != 1 + Math.max(hl, hr)) {
      throw new IllegalStateException("slot " + n + " height " + height(n) + ", children " + hl + " and " + hr);
    }
    if (Math.abs(hl - hr) > 1) throw new IllegalStateException("slot " + n + " unbalanced: " + hl + " and " + hr);
    return height(n);
  }

  private IllegalStateException overlap(Area a, int other) {
    return new IllegalStateException(
        "busy area " + a + " overlaps busy area " + area(other) + " already there");
  }
}
