package io.vmap.bench;

import io.vmap.state.ErrorCode;
import io.vmap.space.Area;
import io.vmap.space.BusyTree;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The "before" picture of the seeds: one busy tree, one free structure and one lazy list, every
 * operation under ONE global lock (the kernel's {@code vmap_area_lock} + {@code
 * free_vmap_area_lock} before per-node trees). Same semantics as one vmap node of DESIGN.md:
 * lowest aligned fit, lazy free, a purge when lazy pages exceed the threshold (strictly greater)
 * and a synchronous purge-and-retry-once when an allocation finds no space.
 *
 * <p>The threshold purge runs synchronously, in the freeing thread, holding the lock for the whole
 * release (the pre-2016 kernel: one purge_lock section, no lock break); that is the latency the
 * actor design bounds with release batches. Subclasses supply the free-space structure.
 */
abstract class LockedTarget implements BenchTarget.Sync {

  private final String name;
  protected final long vstart;
  protected final long vend;
  protected final long page;
  private final long thresholdPages;
  private final ReentrantLock lock = new ReentrantLock();
  private final BusyTree busy = new BusyTree();
  private final List<Area> lazy = new ArrayList<>();
  private long lazyPages;
  private long purges;

  LockedTarget(String name, long vstart, long vend, long page, long thresholdPages) {
    if (page <= 0 || Long.bitCount(page) != 1) throw new IllegalArgumentException("page " + page + " is not a power of two");
    if (!Unsigned.lt(vstart, vend)) throw new IllegalArgumentException("empty space");
    this.name = name;
    this.vstart = vstart;
    this.vend = vend;
    this.page = page;
    this.thresholdPages = thresholdPages;
  }

  /** Lowest aligned fit in {@code [vstart, vend)}, carved out; {@link BenchTarget#NONE} if none. Under the lock. */
  protected abstract long carve(long size, long align);

  /** Gives {@code [start, end)} back to the free structure, merging neighbours. Under the lock. */
  protected abstract void giveBack(long start, long end);

  @Override
  public String name() {
    return name;
  }

  @Override
  public long page() {
    return page;
  }

  @Override
  public long alloc(long size, long align, int hint) {
    if (size == 0) throw new IllegalArgumentException("size 0");
    if (align == 0 || Long.bitCount(align) != 1) {
      throw new IllegalArgumentException("align " + Long.toUnsignedString(align) + " is not a power of two");
    }
    long s = Unsigned.alignUp(size, page);
    if (s == Unsigned.OVERFLOW) throw new IllegalArgumentException("size overflows");
    long a = Unsigned.max(align, page);
    lock.lock();
    try {
      long start = carve(s, a);
      if (start == NONE && !lazy.isEmpty()) {
        purgeLocked();
        start = carve(s, a);
      }
      if (start == NONE) return NONE;
      busy.insert(new Area(start, start + s, ""));
      return start;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public ErrorCode free(long addr) {
    lock.lock();
    try {
      Area area = busy.remove(addr);
      if (area == null) return busy.find(addr) != null ? ErrorCode.EINVAL : ErrorCode.ENOENT;
      lazy.add(area);
      lazyPages += area.size() / page;
      if (lazyPages > thresholdPages) purgeLocked();
      return null;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public long find(long addr) {
    lock.lock();
    try {
      Area a = busy.find(addr);
      return a == null ? NONE : a.start();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int purge() {
    lock.lock();
    try {
      return purgeLocked();
    } finally {
      lock.unlock();
    }
  }

  /** Every lazy area back into the free structure, in one go under the lock. */
  private int purgeLocked() {
    int n = lazy.size();
    for (int i = 0; i < n; i++) {
      Area a = lazy.get(i);
      giveBack(a.start(), a.end());
    }
    lazy.clear();
    lazyPages = 0;
    purges++;
    return n;
  }

  /** Busy areas now (for tests). */
  int busyCount() {
    lock.lock();
    try {
      return busy.size();
    } finally {
      lock.unlock();
    }
  }

  long purges() {
    lock.lock();
    try {
      return purges;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {}
}
