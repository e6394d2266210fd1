package io.vmap.node;

import io.vmap.protocol.PeerProtocol.PlacementAnswer;
import io.vmap.protocol.PeerProtocol.PlacementQuery;
import io.vmap.space.Area;
import io.vmap.state.Answer;
import io.vmap.state.AttemptId;
import io.vmap.state.Decision;
import io.vmap.state.ErrorCode;
import io.vmap.state.LazyArea;
import io.vmap.state.NodeEvent;
import io.vmap.state.PlacementId;
import io.vmap.state.ReservationId;
import java.util.HashMap;
import java.util.Map;

/**
 * Placement confirmation, both sides. A node that placed an area for a request homed elsewhere (a
 * neighbour's attempt, or the start owner of a committed spanning area) asks the home, a lease
 * later and then every lease until answered, whether it kept it; the home answers once its answer
 * to the request is stored. An area the home did not keep was never given to anyone and is freed.
 * This closes the window where a home restarts between a placement and storing it.
 */
final class Placements {

  private final NodeContext c;
  /** Areas placed here for other homes' requests, not confirmed yet, by placement. */
  private final Map<PlacementId, Area> provisional = new HashMap<>();
  private HomeAllocations home;

  Placements(NodeContext c) {
    this.c = c;
  }

  /** The home side needs to know which requests are still being placed. */
  void answeringFor(HomeAllocations home) {
    this.home = home;
  }

  /** An area placed here under {@code id}: confirm it with the request's home a lease from now. */
  void placed(PlacementId id, Area area) {
    if (id.home() >= c.geometry.nodes()) return; // not a home of this geometry: nobody to ask
    provisional.put(id, area);
    Internal.VerifyPlacement verify = new Internal.VerifyPlacement(id);
    c.timers.startSingleTimer(verify, verify, c.settings.lease());
  }

  /**
   * After a restart: placements for other homes that are still allocated are confirmed again (the
   * record of what was confirmed lived in memory). They come from the stored outcomes of neighbour
   * attempts and the stored decisions of spanning commits. A kept placement is simply answered
   * kept again.
   */
  void confirmAgainAfterRecovery() {
    for (Map.Entry<PlacementId, Answer> e : c.state.attemptAnswers()) {
      if (!(e.getKey() instanceof AttemptId a) || !(e.getValue() instanceof Answer.Done d)) continue;
      Area area = d.area();
      if (a.home() == c.node || !area.equals(c.state.busyAt(area.start()))) continue;
      if (c.state.answer(a, true) != null) continue; // freed as not kept; the space was reused
      placed(a, area);
    }
    for (Map.Entry<ReservationId, Decision> e : c.state.spans().decisions()) {
      if (e.getValue() != Decision.COMMITTED) continue;
      ReservationId r = e.getKey();
      if (!r.area().equals(c.state.busyAt(r.area().start())) || c.state.answer(r, true) != null) continue;
      placed(r, r.area());
    }
  }

  void onVerify(Internal.VerifyPlacement m) {
    Area area = provisional.get(m.placement());
    if (area == null) return;
    if (!area.equals(c.state.busyAt(area.start()))) {
      // Freed already: its client had it, so the home kept it.
      provisional.remove(m.placement());
      return;
    }
    c.peers.node(m.placement().home())
        .tell(new PlacementQuery(m.placement().request(), m.placement(), area, c.node));
    c.timers.startSingleTimer(m, m, c.settings.lease());
  }

  /** The home side: did this node keep {@code q.area()} as its answer to {@code q.request()}? */
  void onQuery(PlacementQuery q) {
    if (q.asker() < 0 || q.asker() >= c.geometry.nodes()) return;
    if (home.isPlacing(q.request())) return; // still placing: asked again a lease later
    boolean kept;
    Answer first = c.state.answer(q.request(), false);
    if (first instanceof Answer.Done s) {
      kept = s.area().equals(q.area());
    } else if (first instanceof Answer.Failed f && f.code() == ErrorCode.ESTALE) {
      // The client acknowledged its answer and this node let it go (README "Decisions" 2), so what
      // the answer was is unknown here. Freeing the area could free one the client holds, or one
      // placed again at the same address since: kept, at worst a leak until the area is freed.
      c.log.debug("node {}: keeping {} placed by node {} for request {}: its answer is no longer known here",
          c.node, q.area(), q.asker(), q.request());
      kept = true;
    } else if (first != null) {
      kept = false; // answered with an error
    } else {
      // No answer remembered: this node restarted after the area was placed and before storing
      // it. Adopt it as the request's answer, so a retry of the request gets it.
      c.log.info("node {}: adopting {} placed by node {} for request {}", c.node, q.area(), q.asker(), q.request());
      c.state.apply(new NodeEvent.Placed(q.request(), q.area()));
      kept = true;
    }
    PlacementAnswer answer = new PlacementAnswer(q.placement(), kept);
    c.durability.afterStored(() -> c.peers.node(q.asker()).tell(answer));
  }

  void onAnswer(PlacementAnswer m) {
    Area area = provisional.remove(m.placement());
    if (area == null) return;
    c.timers.cancel(new Internal.VerifyPlacement(m.placement()));
    if (m.kept()) return;
    // The home answered its request otherwise: nobody was ever given this area.
    // A late copy of the attempt must not find the area "placed": it is over.
    c.state.apply(new NodeEvent.Refused(m.placement(), false, ErrorCode.ENOSPC,
        "placement abandoned by node " + m.placement().home()));
    if (area.equals(c.state.busyAt(area.start()))) {
      c.log.info("node {}: freeing {}, which node {} did not keep for request {}", c.node, area,
          m.placement().home(), m.placement().request());
      LazyArea la = c.state.apply(new NodeEvent.AreaFreed(area.start(), m.placement()));
      c.lazyFreed(la.area().size());
      c.endTurn();
    }
  }
}
