package io.vmap.space;

import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * A vmap node's busy tree: areas ordered by start, the kernel's {@code vn->busy.root}.
 *
 * <p>Invariants: keys are area starts compared unsigned; areas never overlap, so they are ordered by
 * end as well and the area containing an address, if any, is the floor entry of that address;
 * {@link #busyBytes()} is the cached sum of their sizes. Not thread safe: a busy tree belongs to
 * one vmap node actor.
 */
public final class BusyTree {

  private final TreeMap<Long, Area> byStart = new TreeMap<>(Long::compareUnsigned);
  private long bytes;

  public BusyTree() {}

  /**
   * Inserts {@code a}. O(log n).
   *
   * @throws IllegalStateException naming both areas if {@code a} overlaps an area already there;
   *     the tree is unchanged then
   */
  public void insert(Area a) {
    Map.Entry<Long, Area> below = byStart.floorEntry(a.start());
    if (below != null && Unsigned.lt(a.start(), below.getValue().end())) throw overlap(a, below);
    Map.Entry<Long, Area> above = byStart.higherEntry(a.start());
    if (above != null && Unsigned.lt(above.getKey(), a.end())) throw overlap(a, above);
    byStart.put(a.start(), a);
    bytes += a.size();
  }

  /** The area with {@code start <= addr < end}, or null. O(log n). */
  public Area find(long addr) {
    Map.Entry<Long, Area> e = byStart.floorEntry(addr);
    return e != null && e.getValue().contains(addr) ? e.getValue() : null;
  }

  /** The area starting exactly at {@code start}, or null. O(log n). */
  public Area get(long start) {
    return byStart.get(start);
  }

  /** Removes and returns the area starting exactly at {@code start}, or null. O(log n). */
  public Area remove(long start) {
    Area a = byStart.remove(start);
    if (a != null) bytes -= a.size();
    return a;
  }

  public int size() {
    return byStart.size();
  }

  /** Sum of area sizes (unsigned). */
  public long busyBytes() {
    return bytes;
  }

  /** Areas in address order; an unmodifiable live view. */
  public Collection<Area> areas() {
    return Collections.unmodifiableCollection(byStart.values());
  }

  /** Areas with start in {@code [lo, hi)} in address order; empty if {@code hi <= lo}. */
  public Iterable<Area> areasStartingIn(long lo, long hi) {
    if (!Unsigned.lt(lo, hi)) return Collections.emptyList();
    return Collections.unmodifiableCollection(byStart.subMap(lo, true, hi, false).values());
  }

  @Override
  public String toString() {
    return "BusyTree[" + byStart.size() + " areas, " + Long.toUnsignedString(bytes) + " bytes]";
  }

  private static IllegalStateException overlap(Area a, Map.Entry<Long, Area> other) {
    return new IllegalStateException(
        "busy area " + a + " overlaps busy area " + other.getValue() + " already there");
  }
}
