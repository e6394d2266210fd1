package io.vmap.bench;

import io.vmap.space.Unsigned;
import java.util.Arrays;

/**
 * {@code --target first-fit}: the naive allocator. Free ranges in one address-sorted array list;
 * an allocation scans it from the lowest range and takes the first aligned fit (which is the
 * lowest aligned fit, so placements equal the other targets'); carving and giving back shift the
 * tail of the array (O(n) memmove), giving back finds its slot by binary search and merges with
 * touching neighbours. Busy tree, lazy list and purge as {@link LockedTarget}, all behind one lock.
 */
final class FirstFitTarget extends LockedTarget {

  private long[] starts = new long[64];
  private long[] ends = new long[64];
  private int n;

  FirstFitTarget(long vstart, long vend, long page, long thresholdPages) {
    super("first-fit", vstart, vend, page, thresholdPages);
    starts[0] = vstart;
    ends[0] = vend;
    n = 1;
  }

  @Override
  public String describe() {
    return "first-fit: address-sorted array of free ranges, linear first-fit scan, O(n) insert/remove; "
        + "BusyTree + lazy list; one ReentrantLock; direct calls, no futures";
  }

  @Override
  protected long carve(long size, long align) {
    for (int i = 0; i < n; i++) {
      long s = starts[i];
      long e = ends[i];
      if (Unsigned.lt(e - s, size)) continue;
      long a = Unsigned.alignUp(s, align);
      if (a == Unsigned.OVERFLOW || Unsigned.lt(e, a)) continue;
      long end = Unsigned.addOrOverflow(a, size);
      if (end == Unsigned.OVERFLOW || Unsigned.lt(e, end)) continue;
      // Clip: full fit, left edge, right edge or split.
      if (a == s && end == e) {
        remove(i);
      } else if (a == s) {
        starts[i] = end;
      } else if (end == e) {
        ends[i] = a;
      } else {
        ends[i] = a;
        insert(i + 1, end, e);
      }
      return a;
    }
    return NONE;
  }

  @Override
  protected void giveBack(long start, long end) {
    int i = firstAbove(start); // ranges [0, i) start below `start`
    boolean left = i > 0 && ends[i - 1] == start;
    boolean right = i < n && starts[i] == end;
    if (i > 0 && Unsigned.lt(start, ends[i - 1]) || i < n && Unsigned.lt(starts[i], end)) {
      throw new IllegalStateException("double release of " + Unsigned.hex(start) + "-" + Unsigned.hex(end));
    }
    if (left && right) {
      ends[i - 1] = ends[i];
      remove(i);
    } else if (left) {
      ends[i - 1] = end;
    } else if (right) {
      starts[i] = start;
    } else {
      insert(i, start, end);
    }
  }

  /** Index of the first range starting above {@code addr} (unsigned). */
  private int firstAbove(long addr) {
    int lo = 0;
    int hi = n;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Unsigned.le(starts[mid], addr)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private void insert(int i, long s, long e) {
    if (n == starts.length) {
      starts = Arrays.copyOf(starts, n * 2);
      ends = Arrays.copyOf(ends, n * 2);
    }
    System.arraycopy(starts, i, starts, i + 1, n - i);
    System.arraycopy(ends, i, ends, i + 1, n - i);
    starts[i] = s;
    ends[i] = e;
    n++;
  }

  private void remove(int i) {
    System.arraycopy(starts, i + 1, starts, i, n - i - 1);
    System.arraycopy(ends, i + 1, ends, i, n - i - 1);
    n--;
  }

  /** Free ranges now (for tests). */
  int rangeCount() {
    return n;
  }
}
