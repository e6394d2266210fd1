package io.vmap.workload;

import io.vmap.space.Area;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The areas one client (or a group of clients) holds, for frees and finds to pick from; an area
 * taken for a free is never handed out again, so no area is freed twice. {@link #bytes()} counts
 * an area from {@link #add} until {@link #released}: a free that has not answered still holds its
 * space. Thread-safe.
 */
public final class LiveAreas {

  /** An area and the request id it was allocated with (null if none). */
  public record Held(Area area, String requestId) {}

  private final ArrayList<Held> list = new ArrayList<>(); // guarded by itself
  private final AtomicLong bytes = new AtomicLong();

  public void add(Held h) {
    synchronized (list) {
      list.add(h);
    }
    bytes.addAndGet(h.area().size());
  }

  /** Removes and returns a random area, or null if none is held. */
  public Held take(SplittableRandom rnd) {
    synchronized (list) {
      int n = list.size();
      if (n == 0) return null;
      int i = rnd.nextInt(n);
      Held h = list.get(i);
      list.set(i, list.get(n - 1));
      list.remove(n - 1);
      return h;
    }
  }

  /** A random area, left in place, or null if none is held. */
  public Held pick(SplittableRandom rnd) {
    synchronized (list) {
      return list.isEmpty() ? null : list.get(rnd.nextInt(list.size()));
    }
  }

  /** {@code a}'s space is no longer held (its free answered, or failed for good). */
  public void released(Area a) {
    bytes.addAndGet(-a.size());
  }

  /** Removes and returns every area held. */
  public List<Held> takeAll() {
    synchronized (list) {
      List<Held> all = new ArrayList<>(list);
      list.clear();
      return all;
    }
  }

  public int size() {
    synchronized (list) {
      return list.size();
    }
  }

  /** Bytes of the areas added and not yet {@link #released}. */
  public long bytes() {
    return bytes.get();
  }
}
