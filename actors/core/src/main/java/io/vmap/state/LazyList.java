package io.vmap.state;

import java.util.ArrayList;
import java.util.List;

/**
 * One node's lazily freed areas not handed to a purge yet: the kernel's {@code vmap_purge_list}.
 *
 * <p>Handing them over is O(1), like {@code llist_del_all()}: the purge takes this list whole (its
 * areas in free order, and the map by start that the node keeps answering lookups from) and the
 * node starts a fresh one. A hand-over never copies the areas, so a splice costs the same with ten
 * areas or a million, and a node serves its next allocation right after it.
 *
 * <p>Invariants: {@code byStart} holds exactly the areas of the list; {@code inFreeOrder} holds
 * them in free order plus {@code removed} entries taken out since (only a release of an area whose
 * splice was lost takes one out, and {@link #handOver} drops those before handing over).
 */
final class LazyList {

  private final AreasByStart byStart;
  private final ArrayList<LazyArea> inFreeOrder;
  private int removed;

  LazyList() {
    this(0);
  }

  /**
   * A list that takes {@code expected} areas without growing: the node's next list after a splice
   * is sized like the one it handed over, rather than rehashing its way up again every epoch.
   */
  LazyList(int expected) {
    byStart = new AreasByStart(expected);
    inFreeOrder = new ArrayList<>(expected);
  }

  void add(LazyArea la) {
    LazyArea before = byStart.put(la);
    if (before != null) {
      // A start is lazy at most once: its space is unusable until released.
      byStart.put(before);
      throw new IllegalStateException("area at " + la.area() + " is lazy already: " + before.area());
    }
    inFreeOrder.add(la);
  }

  LazyArea get(long start) {
    return byStart.get(start);
  }

  LazyArea remove(long start) {
    LazyArea la = byStart.remove(start);
    if (la != null) removed++;
    return la;
  }

  int size() {
    return byStart.size();
  }

  Iterable<LazyArea> areas() {
    return byStart.values();
  }

  /** The areas in free order (for snapshots; a copy). */
  List<LazyArea> copyInFreeOrder() {
    List<LazyArea> out = new ArrayList<>(byStart.size());
    for (LazyArea la : inFreeOrder) if (byStart.get(la.area().start()) == la) out.add(la);
    return out;
  }

  /**
   * Ends this list: its areas in free order and its map by start now belong to the caller, and it
   * must not be used again. O(1) unless areas were removed from it.
   */
  HandedOver handOver() {
    if (removed > 0) {
      inFreeOrder.removeIf(la -> byStart.get(la.area().start()) != la);
      removed = 0;
    }
    return new HandedOver(inFreeOrder, byStart);
  }

  /** What a hand-over gives: the same areas as a list in free order and as a map by start. */
  record HandedOver(List<LazyArea> inFreeOrder, AreasByStart byStart) {}
}
