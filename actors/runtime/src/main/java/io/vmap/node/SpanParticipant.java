package io.vmap.node;

import io.vmap.protocol.ClientProtocol.ReservationAge;
import io.vmap.protocol.PeerProtocol.CancelReservation;
import io.vmap.protocol.PeerProtocol.CommitArea;
import io.vmap.protocol.PeerProtocol.CommitPart;
import io.vmap.protocol.PeerProtocol.CommitReply;
import io.vmap.protocol.PeerProtocol.EdgeRuns;
import io.vmap.protocol.PeerProtocol.GetEdgeRuns;
import io.vmap.protocol.PeerProtocol.Reserve;
import io.vmap.protocol.PeerProtocol.ReserveReply;
import io.vmap.protocol.PeerProtocol.Resolution;
import io.vmap.protocol.PeerProtocol.ResolveReservation;
import io.vmap.space.Area;
import io.vmap.state.Decision;
import io.vmap.state.NodeEvent;
import io.vmap.state.Part;
import io.vmap.state.ReleasePiece;
import io.vmap.state.Reservation;
import io.vmap.state.ReservationId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * This node as an owner in other requests' spanning allocations (DESIGN.md "Spanning
 * allocations"): it reports its zones' edge runs, holds reservations under a lease, and commits or
 * gives them back. On the start owner the commit is the decision, remembered and stored; a part
 * owner whose lease runs out asks the start owner what was decided.
 */
final class SpanParticipant {

  private final NodeContext c;
  private final Placements placements;
  /** When each reservation was made here (System.nanoTime) and its lease in ms, for inspection. */
  private final Map<ReservationId, long[]> reservedAt = new HashMap<>();
  private final long startedNanos = System.nanoTime();

  SpanParticipant(NodeContext c, Placements placements) {
    this.c = c;
    this.placements = placements;
    // Reservations recovered from the journal: their lease timers died with the previous
    // incarnation. Arm them again (a full lease from now), or they would hold space for good;
    // their age counts from this incarnation's start.
    for (Reservation r : c.state.spans().reservations()) {
      reservedAt.put(r.id(), new long[] {startedNanos, c.settings.lease().toMillis()});
      c.timers.startSingleTimer(r.id(), new Internal.LeaseExpired(r.id()), c.settings.lease());
    }
  }

  void onGetEdgeRuns(GetEdgeRuns m) {
    m.replyTo().tell(new EdgeRuns(m.query(), c.node, c.state.spans().edgeRuns(m.firstZone(), m.lastZone())));
  }

  void onReserve(Reserve m) {
    ReservationId id = m.id();
    if (c.state.spans().reservation(id) != null) {
      c.durability.afterStored(() -> m.replyTo().tell(new ReserveReply(id, c.node, true, null)));
      return;
    }
    String refusal = m.startOwner() != c.geometry.nodeOf(id.area().start())
        ? "start owner " + m.startOwner() + " is not node " + c.geometry.nodeOf(id.area().start()) + " of " + id.area()
        : c.state.spans().reserveRefusal(id, id.area(), m.myParts());
    if (refusal != null) {
      m.replyTo().tell(new ReserveReply(id, c.node, false, refusal));
      return;
    }
    c.state.apply(new NodeEvent.SpanReserved(new Reservation(id, m.startOwner(), m.myParts(), m.allParts())));
    c.timers.startSingleTimer(id, new Internal.LeaseExpired(id), Duration.ofMillis(m.leaseMillis()));
    if (reservedAt.size() > 2 * c.state.spans().reservationCount() + 64) {
      reservedAt.keySet().removeIf(k -> c.state.spans().reservation(k) == null);
    }
    reservedAt.put(id, new long[] {System.nanoTime(), m.leaseMillis()});
    c.durability.afterStored(() -> m.replyTo().tell(new ReserveReply(id, c.node, true, null)));
  }

  void onCommitArea(CommitArea m) {
    ReservationId id = m.id();
    Reservation r = c.state.spans().reservation(id);
    boolean committed;
    if (r != null && r.startOwner() == c.node) {
      c.state.commit(id, m.tenant());
      c.timers.cancel(id);
      committed = true;
      placements.placed(id, r.area());
    } else {
      // Too late (lease expired, cancelled) or a retry of a commit that already happened.
      Decision d = c.state.spans().decision(id);
      if (d == null) c.state.apply(new NodeEvent.SpanResolved(id));
      committed = d == Decision.COMMITTED;
    }
    CommitReply reply = new CommitReply(id, committed);
    c.durability.afterStored(() -> m.replyTo().tell(reply));
  }

  void onCommitPart(CommitPart m) {
    if (c.state.spans().reservation(m.id()) != null) {
      c.state.apply(new NodeEvent.SpanPartCommitted(m.id()));
      c.timers.cancel(m.id());
    }
  }

  void onCancel(CancelReservation m) {
    if (c.state.spans().reservation(m.id()) != null) {
      c.state.apply(new NodeEvent.SpanCancelled(m.id()));
      c.timers.cancel(m.id());
    }
  }

  void onLeaseExpired(Internal.LeaseExpired m) {
    Reservation r = c.state.spans().reservation(m.id());
    if (r == null) return;
    if (r.startOwner() == c.node) {
      c.log.info("reservation {} for {} expired uncommitted", r.id(), r.area());
      c.state.apply(new NodeEvent.SpanCancelled(r.id()));
    } else {
      // Only the start owner knows whether the area was committed: ask, and ask again a lease
      // later if no answer comes (the start owner may be restarting).
      c.peers.node(r.startOwner()).tell(new ResolveReservation(r.id(), c.node));
      c.timers.startSingleTimer(r.id(), new Internal.LeaseExpired(r.id()), c.settings.lease());
    }
  }

  void onResolve(ResolveReservation m) {
    if (m.asker() < 0 || m.asker() >= c.geometry.nodes()) return;
    Decision d = c.state.spans().decision(m.id());
    if (d == null) {
      c.state.apply(new NodeEvent.SpanResolved(m.id()));
      d = Decision.ABORTED;
    } else if (d == Decision.COMMITTED && !holds(m.id().area())) {
      // Released since: its parts were released on every owner after the flush, so what the asker
      // still reserves is a stale copy of the reserve (duplicated or late), which it must give back
      // rather than hold as a part of an area that no longer exists.
      d = Decision.RELEASED;
    }
    Resolution answer = new Resolution(m.id(), d);
    c.durability.afterStored(() -> c.peers.node(m.asker()).tell(answer));
  }

  void onResolution(Resolution m) {
    if (c.state.spans().reservation(m.id()) == null) return;
    switch (m.decision()) {
      case COMMITTED -> {
        c.state.apply(new NodeEvent.SpanPartCommitted(m.id()));
        c.timers.cancel(m.id());
      }
      case ABORTED, RELEASED -> {
        c.state.apply(new NodeEvent.SpanCancelled(m.id()));
        c.timers.cancel(m.id());
      }
      case PENDING -> {} // the timer is armed again already
    }
  }

  /** Whether {@code area} is still this node's, busy or freed and not released yet. */
  private boolean holds(Area area) {
    long start = area.start();
    if (area.equals(c.state.busyAt(start))) return true;
    var freed = c.state.lazy().unreleasedAt(start);
    return freed != null && freed.area().equals(area);
  }

  /**
   * Pieces of other nodes' spanning areas that this node still holds as reservations (their
   * CommitPart was lost or is late): the area was committed (it was busy, then freed and flushed),
   * so each such reservation becomes held parts first, and the release then frees them. Without
   * this the release would find nothing to free, and the reservation would later resolve to
   * committed and stay held for good.
   *
   * @param areas the area of each piece (same order), or null when the batch does not say
   * @param releasedAlready pieces this epoch released before (skipped)
   */
  void commitReservedPieces(List<ReleasePiece> pieces, List<Area> areas, Predicate<ReleasePiece> releasedAlready) {
    if (c.state.spans().reservationCount() == 0) return;
    for (int i = 0; i < pieces.size(); i++) {
      ReleasePiece p = pieces.get(i);
      if (p.start() == p.areaStart() || releasedAlready.test(p)) continue;
      for (Reservation r : new ArrayList<>(c.state.spans().reservations())) {
        if (r.startOwner() == c.node || r.area().start() != p.areaStart()) continue;
        if (areas != null && !areas.get(i).equals(r.area())) continue;
        for (Part part : r.myParts()) {
          if (part.start() == p.start() && part.end() == p.end()) {
            c.state.apply(new NodeEvent.SpanPartCommitted(r.id()));
            c.timers.cancel(r.id());
            break;
          }
        }
      }
    }
  }

  /** Every reservation held here, with its age and lease. */
  List<ReservationAge> ages() {
    long now = System.nanoTime();
    List<ReservationAge> out = new ArrayList<>();
    for (Reservation r : c.state.spans().reservations()) {
      // Reservations recovered from the journal count from this incarnation's start.
      long[] since = reservedAt.getOrDefault(r.id(), new long[] {startedNanos, c.settings.lease().toMillis()});
      out.add(new ReservationAge(r.id(), r.area(), r.startOwner(), r.myParts(), (now - since[0]) / 1_000_000, since[1]));
    }
    return out;
  }
}
