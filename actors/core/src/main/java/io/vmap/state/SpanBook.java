package io.vmap.state;

import io.vmap.space.Area;
import io.vmap.space.FreeShard;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One node's books of the two-phase spanning protocol (DESIGN.md "Spanning allocations"): the
 * reservations it holds under a lease, the held parts (pieces of other nodes' spanning areas in
 * its zones), the parts of its own busy spanning areas, and the start owner's decisions. Owned by
 * its {@link NodeState}, which shares its free shard with it and changes it only from the {@code
 * apply} handlers of the span events; everything public here is a query.
 */
public final class SpanBook {

  private final int node;
  private final Geometry geometry;
  private final FreeShard shard;
  /** Parts of our own spanning areas, by area start; absent for single-zone areas. */
  private final Map<Long, List<Part>> spans = new HashMap<>();
  /** Pieces of other nodes' spanning areas that lie in our zones, by piece start. */
  private final TreeMap<Long, HeldPart> held = new TreeMap<>(Long::compareUnsigned);
  private final Map<ReservationId, Reservation> reservations = new LinkedHashMap<>();
  /** Start-owner decisions: a part owner asks only within a lease of the reservation. */
  private final BoundedMap<ReservationId, Decision> decisions;
  /**
   * Held parts plus reservations for other start owners: pieces of other nodes' areas that may
   * cover an address here. While there are none, a miss in the busy tree is certain (read by
   * {@link NodeState#find(long)} from other threads).
   */
  private volatile int foreignPieces;

  SpanBook(int node, Geometry geometry, FreeShard shard, int decisionMemory) {
    this.node = node;
    this.geometry = geometry;
    this.shard = shard;
    this.decisions = new BoundedMap<>(decisionMemory);
  }

  // ---------------------------------------------------------------- snapshots

  /** Fills these (empty) books from a snapshot. */
  void restore(NodeSnapshot s) {
    for (int k = 0; k < s.spanStarts().size(); k++) spans.put(s.spanStarts().get(k), s.spanParts().get(k));
    for (HeldPart h : s.held()) held.put(h.start(), h);
    for (Reservation r : s.reservations()) reservations.put(r.id(), r);
    countForeignPieces();
    for (int k = 0; k < s.decisionIds().size(); k++) decisions.put(s.decisionIds().get(k), s.decisions().get(k));
  }

  // ---------------------------------------------------------------- edges

  /** Edge runs of every zone this node owns in {@code [firstZone, lastZone]}, non-empty ones only. */
  public List<ZoneEdge> edgeRuns(long firstZone, long lastZone) {
    List<ZoneEdge> out = new ArrayList<>();
    int nodes = geometry.nodes();
    long rem = Long.remainderUnsigned(firstZone, nodes);
    long z = firstZone + Long.remainderUnsigned(node - rem + nodes, nodes);
    for (; Unsigned.le(z, lastZone) && Unsigned.le(firstZone, z); z += nodes) {
      long lo = geometry.zoneLo(z);
      long hi = geometry.zoneHi(z);
      long low = 0;
      long high = 0;
      long[] b = shard.blockContaining(lo);
      if (b != null) low = Unsigned.min(b[1], hi) - lo;
      long[] c = shard.blockContaining(hi - 1);
      if (c != null) high = hi - Unsigned.max(c[0], lo);
      if (low != 0 || high != 0) out.add(new ZoneEdge(z, low, high));
    }
    return out;
  }

  // ---------------------------------------------------------------- two-phase

  /**
   * Why {@code myParts} cannot be reserved under {@code id}, or null if they can (all free and
   * ours, and the id not already decided). Changes nothing.
   */
  public String reserveRefusal(ReservationId id, Area area, List<Part> myParts) {
    if (decisions.containsKey(id)) return "reservation " + id + " already " + decisions.get(id);
    if (area == null || myParts == null || myParts.isEmpty()) return "reservation " + id + " has no parts";
    long prevEnd = 0;
    boolean first = true;
    for (Part p : myParts) {
      String where = "node " + node + ": part " + Unsigned.hex(p.start()) + "-" + Unsigned.hex(p.end());
      if (!Unsigned.lt(p.start(), p.end())) return where + " is empty or inverted";
      if (p.node() != node || geometry.nodeOf(p.start()) != node
          || geometry.zoneOf(p.start()) != geometry.zoneOf(p.end() - 1)) {
        return where + " is not inside one zone of node " + node;
      }
      if (!geometry.contains(p.start(), p.end())) return where + " is outside the space";
      if (Unsigned.lt(p.start(), area.start()) || Unsigned.lt(area.end(), p.end())) {
        return where + " is outside its area " + area;
      }
      if (!first && Unsigned.lt(p.start(), prevEnd)) return where + " overlaps or precedes the part before it";
      if (!shard.isFree(p.start(), p.end())) return where + " is not free";
      prevEnd = p.end();
      first = false;
    }
    return null;
  }

  /** {@link NodeEvent.SpanReserved}: carves the reservation's parts out of the shard. */
  void reserve(Reservation r) {
    for (Part p : r.myParts()) {
      if (!shard.allocExact(p.start(), p.end())) {
        throw new IllegalStateException("node " + node + ": reserved " + Unsigned.hex(p.start()) + " is not free");
      }
    }
    reservations.put(r.id(), new Reservation(r.id(), r.startOwner(), List.copyOf(r.myParts()), List.copyOf(r.allParts())));
    countForeignPieces();
  }

  public Reservation reservation(ReservationId id) {
    return reservations.get(id);
  }

  /**
   * What the start owner decided about reservation {@code id}: null if it never saw it (the actor
   * then records it aborted with {@link NodeEvent.SpanResolved}, so a reserve that arrives after
   * the question, reordered by the network, is refused instead of committing space given back).
   */
  public Decision decision(ReservationId id) {
    Decision d = decisions.get(id);
    if (d != null) return d;
    return reservations.containsKey(id) ? Decision.PENDING : null;
  }

  /** Remembered start-owner decisions, oldest first. */
  public Collection<Map.Entry<ReservationId, Decision>> decisions() {
    return decisions.entries();
  }

  /**
   * The start owner's commit point, first half: takes its own reservation {@code id} out of the
   * books (the caller makes the area busy, then calls {@link #committed}).
   */
  Reservation takeOwn(ReservationId id) {
    Reservation r = reservations.remove(id);
    if (r == null || r.startOwner() != node) {
      throw new IllegalStateException("node " + node + ": no reservation " + id + " to commit");
    }
    return r;
  }

  /** The start owner's commit point, second half: the area's parts are kept and the id decided. */
  void committed(Reservation r) {
    spans.put(r.area().start(), r.allParts());
    decisions.put(r.id(), Decision.COMMITTED);
  }

  /** {@link NodeEvent.SpanPartCommitted}: the reserved parts become held parts. */
  void partCommitted(ReservationId id) {
    Reservation r = reservations.remove(id);
    if (r != null) {
      for (Part p : r.myParts()) {
        held.put(p.start(), new HeldPart(p.start(), p.end(), r.area(), r.startOwner(), id));
      }
      countForeignPieces();
    }
  }

  /** {@link NodeEvent.SpanCancelled}: the parts go back to the shard; aborted on the start owner. */
  void cancel(ReservationId id) {
    Reservation r = reservations.remove(id);
    if (r != null) {
      if (r.startOwner() == node) decisions.put(id, Decision.ABORTED);
      for (Part p : r.myParts()) shard.release(p.start(), p.end());
      countForeignPieces();
    }
  }

  /** {@link NodeEvent.SpanResolved}: an id the start owner never saw is aborted. */
  void resolve(ReservationId id) {
    decisions.putIfAbsent(id, Decision.ABORTED);
  }

  // ---------------------------------------------------------------- free and release

  /** The parts of our spanning area starting at {@code start}, forgotten (it was freed); null for a single-zone area. */
  List<Part> forget(long start) {
    // Most nodes hold no spanning area: no boxed start per free then.
    return spans.isEmpty() ? null : spans.remove(start);
  }

  /**
   * Gives back the held part that release piece {@code p} names, if it is held here exactly
   * (start, end and area): returns whether it was.
   */
  boolean releaseHeld(ReleasePiece p) {
    HeldPart h = held.get(p.start());
    if (h == null || h.end() != p.end() || h.area().start() != p.areaStart()) return false;
    held.remove(p.start());
    shard.release(p.start(), p.end());
    countForeignPieces();
    return true;
  }

  // ---------------------------------------------------------------- views

  /** Whether a piece of another node's area may cover an address here (any thread). */
  boolean hasForeignPieces() {
    return foreignPieces != 0;
  }

  private void countForeignPieces() {
    int n = held.size();
    for (Reservation r : reservations.values()) if (r.startOwner() != node) n++;
    foreignPieces = n;
  }

  /**
   * The node holding the start of the area that covers {@code addr} from another node (a held part
   * or a reservation in our zones), or -1 if nothing of another node's lies at {@code addr}.
   */
  public int startOwnerCovering(long addr) {
    Map.Entry<Long, HeldPart> e = held.floorEntry(addr);
    if (e != null && Unsigned.lt(addr, e.getValue().end())) return e.getValue().startOwner();
    for (Reservation r : reservations.values()) {
      if (r.startOwner() == node) continue;
      for (Part p : r.myParts()) {
        if (Unsigned.le(p.start(), addr) && Unsigned.lt(addr, p.end())) return r.startOwner();
      }
    }
    return -1;
  }

  public int reservationCount() {
    return reservations.size();
  }

  public Collection<Reservation> reservations() {
    return Collections.unmodifiableCollection(reservations.values());
  }

  public long reservedBytes() {
    long b = 0;
    for (Reservation r : reservations.values()) {
      for (Part p : r.myParts()) b += p.end() - p.start();
    }
    return b;
  }

  /** The held part (a piece of another node's spanning area) starting at {@code start}, or null. */
  public HeldPart heldAt(long start) {
    return held.get(start);
  }

  public Collection<HeldPart> heldParts() {
    return held.values();
  }

  long heldBytes() {
    long b = 0;
    for (HeldPart h : held.values()) b += h.end() - h.start();
    return b;
  }

  /** Parts of this node's busy spanning areas, by area start. */
  public Map<Long, List<Part>> spanningParts() {
    return Collections.unmodifiableMap(spans);
  }
}
