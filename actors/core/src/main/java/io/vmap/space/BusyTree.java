package io.vmap.space;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.StampedLock;

/**
 * A vmap node's busy tree: areas ordered by start, the kernel's {@code vn->busy.root}, readable
 * from other threads without the owner's lock (seed 002's lesson: readers do not take the writer's
 * lock).
 *
 * <p>An AVL tree in flat arrays (start, end, tag, children, height per slot; freed slots chained
 * for reuse), about 30 bytes per area and no object per area. One thread writes (the node actor);
 * {@link #findConcurrent} reads from any thread with a {@link StampedLock} optimistic read, the
 * seqlock pattern: read, then validate that no write happened meanwhile, else retry. A read that
 * races with a write may see a torn tree; it never acts on it (every index is bounds-checked, every
 * walk bounded by the tree's height) and it never returns it (validation fails).
 *
 * <p>Invariants: keys are area starts compared unsigned; areas never overlap, so they are ordered
 * by end as well and the area containing an address, if any, is the floor entry of that address;
 * {@link #busyBytes()} is the cached sum of their sizes; AVL balance, so the height is below 64.
 */
public final class BusyTree {

  private static final int NIL = 0;
  /** Above any AVL height an int-sized pool can reach (45). */
  private static final int MAX_HEIGHT = 64;
  /** Optimistic reads that meet a write before one falls back to the read lock. */
  private static final int OPTIMISTIC_TRIES = 8;

  private final StampedLock lock = new StampedLock();
  private long[] start;
  private long[] end;
  private String[] tag;
  private int[] left;
  private int[] right;
  private byte[] height;
  private int root = NIL;
  private int freeSlots = NIL;
  private int used = 1;
  private int count;
  private long bytes;

  public BusyTree() {
    start = new long[16];
    end = new long[16];
    tag = new String[16];
    left = new int[16];
    right = new int[16];
    height = new byte[16];
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
    int below = floor(a.start());
    if (below != NIL && Unsigned.lt(a.start(), end[below])) throw overlap(a, below);
    int above = higher(a.start());
    if (above != NIL && Unsigned.lt(start[above], a.end())) throw overlap(a, above);
    long stamp = lock.writeLock();
    try {
      int x = newSlot();
      start[x] = a.start();
      end[x] = a.end();
      tag[x] = a.tag();
      left[x] = NIL;
      right[x] = NIL;
      height[x] = 1;
      root = insert(root, x);
      count++;
      bytes += a.size();
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  /** The area with {@code start <= addr < end}, or null. O(log n). */
  public Area find(long addr) {
    int n = floor(addr);
    return n != NIL && Unsigned.lt(addr, end[n]) ? area(n) : null;
  }

  /** The area starting exactly at {@code start}, or null. O(log n). */
  public Area get(long start) {
    int n = floor(start);
    return n != NIL && this.start[n] == start ? area(n) : null;
  }

  /** Removes and returns the area starting exactly at {@code start}, or null. O(log n). */
  public Area remove(long start) {
    int n = floor(start);
    if (n == NIL || this.start[n] != start) return null;
    Area a = area(n);
    long stamp = lock.writeLock();
    try {
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
      Area found = null;
      boolean torn = false;
      try {
        // Array references first: the owner may replace them (growth) while we read.
        long[] s = start;
        long[] e = end;
        String[] t = tag;
        int[] l = left;
        int[] r = right;
        int best = NIL;
        int n = root;
        for (int depth = 0; n != NIL; depth++) {
          if (depth > MAX_HEIGHT || n < 0 || n >= s.length || n >= l.length || n >= r.length) {
            torn = true;
            break;
          }
          if (Unsigned.le(s[n], addr)) {
            best = n;
            n = r[n];
          } else {
            n = l[n];
          }
        }
        if (!torn && best != NIL && best < e.length && best < t.length && Unsigned.lt(addr, e[best])) {
          long bs = s[best];
          long be = e[best];
          String bt = t[best];
          if (Unsigned.lt(bs, be)) found = new Area(bs, be, bt);
          else torn = true;
        }
      } catch (RuntimeException raced) {
        torn = true; // a torn read (a stale index, a null tag): validation would fail anyway
      }
      if (!torn && lock.validate(stamp)) return found;
    }
    // The owner kept writing: take the read lock once.
    long stamp = lock.readLock();
    try {
      return find(addr);
    } finally {
      lock.unlockRead(stamp);
    }
  }

  @Override
  public String toString() {
    return "BusyTree[" + count + " areas, " + Long.toUnsignedString(bytes) + " bytes]";
  }

  // ---------------------------------------------------------------------------------------------
  // The tree

  private Area area(int n) {
    return new Area(start[n], end[n], tag[n]);
  }

  private interface SlotVisitor {
    void visit(int n);
  }

  private void inOrder(int n, SlotVisitor v) {
    if (n == NIL) return;
    inOrder(left[n], v);
    v.visit(n);
    inOrder(right[n], v);
  }

  /** The slot with the greatest start {@code <= key}, or NIL. */
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

  /** The slot with the least start {@code > key}, or NIL. */
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

  private int insert(int n, int x) {
    if (n == NIL) return x;
    if (Unsigned.lt(start[x], start[n])) {
      left[n] = insert(left[n], x);
    } else {
      right[n] = insert(right[n], x);
    }
    return rebalance(n);
  }

  /** Unlinks and frees the slot starting at {@code key}, which exists. */
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
      if (l == NIL) return r;
      if (r == NIL) return l;
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
    height[n] = (byte) (1 + Math.max(height[left[n]], height[right[n]]));
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
    height[n] = (byte) (1 + Math.max(height[left[n]], height[right[n]]));
    height[l] = (byte) (1 + Math.max(height[left[l]], height[right[l]]));
    return l;
  }

  private int rotateLeft(int n) {
    int r = right[n];
    right[n] = left[r];
    left[r] = n;
    height[n] = (byte) (1 + Math.max(height[left[n]], height[right[n]]));
    height[r] = (byte) (1 + Math.max(height[left[r]], height[right[r]]));
    return r;
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
    tag[s] = null;
    freeSlots = s;
  }

  private void grow() {
    int next = (int) Math.min((long) start.length + (start.length >> 1) + 1, Integer.MAX_VALUE - 8);
    if (next == start.length) throw new IllegalStateException("busy tree is full");
    // New arrays are filled before they are published, field by field: a concurrent reader that
    // sees a mix of old and new arrays reads valid (old) slots or fails validation.
    start = Arrays.copyOf(start, next);
    end = Arrays.copyOf(end, next);
    tag = Arrays.copyOf(tag, next);
    left = Arrays.copyOf(left, next);
    right = Arrays.copyOf(right, next);
    height = Arrays.copyOf(height, next);
  }

  private IllegalStateException overlap(Area a, int other) {
    return new IllegalStateException(
        "busy area " + a + " overlaps busy area " + area(other) + " already there");
  }
}
