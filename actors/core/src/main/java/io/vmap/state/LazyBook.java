package io.vmap.state;

import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One node's freed areas until a purge releases them: the lazy list ({@code vmap_purge_list}), the
 * areas handed to a purge epoch, and the epochs of the last splice and release. Owned by its
 * {@link NodeState}, which changes it only from the {@code apply} handlers of the free and purge
 * events; everything public here is a query.
 */
public final class LazyBook {

  private final Geometry geometry;
  /** Freed areas not handed to a purge yet, in free order (vmap_purge_list). */
  private LazyList lazy = new LazyList();
  /**
   * Areas handed to a purge epoch and not released yet: still unusable, still counted lazy. The
   * map of the lazy list handed over, not a copy (a splice is O(1)).
   */
  private AreasByStart purging = new AreasByStart();
  /** The epoch of the last splice: what a new purge coordinator re-drives after a crash. */
  private long spliceEpoch;
  /**
   * The epoch of the last release and the pieces released in it that the purging map does not
   * guard (held pieces; own areas of an epoch this node did not splice last): a late copy of one
   * of its batches must not release a piece again (a newer area with the same boundaries and tag may lie
   * there by then). Derived from the {@link NodeEvent.PiecesReleased} events and kept in snapshots,
   * so it survives a restart without a journal write of its own.
   */
  private long releaseEpoch = -1;
  private final Set<ReleasePiece> releasedInEpoch = new HashSet<>();

  LazyBook(Geometry geometry) {
    this.geometry = geometry;
  }

  // ---------------------------------------------------------------- snapshots

  /** Fills this (empty) book from a snapshot. */
  void restore(NodeSnapshot s) {
    spliceEpoch = s.spliceEpoch();
    for (LazyArea la : s.lazy()) lazy.add(la);
    for (LazyArea la : s.purging()) purging.put(la);
    releaseEpoch = s.releaseEpoch();
    releasedInEpoch.addAll(s.releasedInEpoch());
  }

  /** The lazy list, in free order (a copy). */
  List<LazyArea> lazyInFreeOrder() {
    return lazy.copyInFreeOrder();
  }

  long releaseEpoch() {
    return releaseEpoch;
  }

  /** The pieces released in {@link #releaseEpoch()} that the purging map does not guard (a copy). */
  List<ReleasePiece> releasedInEpoch() {
    return new ArrayList<>(releasedInEpoch);
  }

  // ---------------------------------------------------------------- events

  /** {@link NodeEvent.AreaFreed}: the area joins the lazy list. */
  void add(LazyArea la) {
    lazy.add(la);
  }

  /** {@link NodeEvent.LazySpliced}: see {@link NodeState#apply(NodeEvent.LazySpliced)}. */
  List<LazyArea> splice(long epoch) {
    spliceEpoch = epoch;
    LazyList.HandedOver handed = lazy.handOver();
    // Sized like the list handed over (up to a bound: a big synchronous purge must not leave every
    // node a big empty map), so a steady epoch's list never rehashes.
    lazy = new LazyList(Math.min(handed.inFreeOrder().size(), 8192));
    List<LazyArea> out = handed.inFreeOrder();
    if (purging.isEmpty()) {
      purging = handed.byStart();
    } else {
      // Left over from an earlier epoch (a lost release): rare, and the only copy a splice makes.
      out = new ArrayList<>(out);
      out.addAll(purging.values());
      purging.putAll(handed.byStart());
    }
    return out;
  }

  /** {@link NodeEvent.PiecesReleased}, first: remembers what epoch {@code epoch} released. */
  void noteReleased(long epoch, List<ReleasePiece> pieces) {
    if (epoch != releaseEpoch) {
      releaseEpoch = epoch;
      releasedInEpoch.clear();
    }
    // An own area of the epoch spliced last leaves the purging map when released, which guards a
    // repeat: only the other pieces are recorded, so the set grows with the spanning traffic
    // rather than with every area of a big epoch.
    for (ReleasePiece p : pieces) {
      if (!(p.start() == p.areaStart() && epoch == spliceEpoch)) releasedInEpoch.add(p);
    }
  }

  /**
   * {@link NodeEvent.PiecesReleased}, then: takes out our area starting at {@code start} to release
   * it, or returns null if it is released already.
   */
  LazyArea take(long start) {
    LazyArea la = purging.remove(start);
    // A successor coordinator may re-drive an epoch whose splice this node never stored.
    return la != null ? la : lazy.remove(start);
  }

  // ---------------------------------------------------------------- views

  /** Lazy and purging areas (not released yet). */
  public List<LazyArea> unpurged() {
    List<LazyArea> out = lazy.copyInFreeOrder();
    out.addAll(purging.values());
    return out;
  }

  /** The area handed to a purge and not released yet that starts at {@code start}, or null. */
  public LazyArea purgingAt(long start) {
    return purging.get(start);
  }

  /** The lazily freed area not handed to a purge yet that starts at {@code start}, or null. */
  public LazyArea lazyAt(long start) {
    return lazy.get(start);
  }

  /** Our freed area not released yet (purging or lazy: a start is in at most one) that starts at {@code start}, or null. */
  public LazyArea unreleasedAt(long start) {
    LazyArea la = purging.get(start);
    return la != null ? la : lazy.get(start);
  }

  /**
   * Areas handed to a purge epoch and not released yet (a successor coordinator re-drives them), by
   * start address: the same list whatever order the map keeps them in (a repeated splice's answer,
   * snapshots).
   */
  public List<LazyArea> purging() {
    List<LazyArea> out = new ArrayList<>(purging.values());
    out.sort((x, y) -> Long.compareUnsigned(x.area().start(), y.area().start()));
    return out;
  }

  public int purgingCount() {
    return purging.size();
  }

  /** Pages of every unpurged area whose start is ours. */
  public long unpurgedPages() {
    long b = 0;
    for (LazyArea la : lazy.areas()) b += la.area().size();
    for (LazyArea la : purging.values()) b += la.area().size();
    return geometry.pagesOf(b);
  }

  public long spliceEpoch() {
    return spliceEpoch;
  }

  /** Whether {@code piece} was released in {@code epoch}, the epoch of the last release (else false). */
  public boolean releasedInEpoch(long epoch, ReleasePiece piece) {
    return epoch == releaseEpoch && releasedInEpoch.contains(piece);
  }

  public int lazyCount() {
    return lazy.size() + purging.size();
  }
}
