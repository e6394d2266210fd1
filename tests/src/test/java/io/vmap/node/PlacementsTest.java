package io.vmap.node;

import static io.vmap.node.NodeFixture.B;
import static io.vmap.node.NodeFixture.PAGE;
import static io.vmap.node.NodeFixture.drain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol.PlacementAnswer;
import io.vmap.protocol.PeerProtocol.PlacementQuery;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.state.AttemptId;
import io.vmap.state.ErrorCode;
import io.vmap.state.Answer;
import io.vmap.state.RequestKey;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Confirmation of areas a node placed for requests homed elsewhere ({@link Placements}), without
 * an actor system. Node 0 placed an area for a request homed on node 1 (a neighbour attempt); a
 * lease later it asks node 1 whether it kept it, and frees it lazily if not.
 */
class PlacementsTest {

  private final NodeFixture n = new NodeFixture(0);
  private final Placements placements = new Placements(n.context);
  private final AttemptId attempt = new AttemptId(new RequestKey(0x7e57, 1), 0, 1, 0);

  /** Node 0 placed {@code [B, B + 3 pages)} for the attempt, as NeighbourAttempts does. */
  private Area placed() {
    Area area = n.allocated(B, 3 * PAGE, attempt);
    placements.placed(attempt, area);
    return area;
  }

  /** The lease passes: node 0 asks node 1, the request's home. */
  private PlacementQuery verify(Area area) {
    Internal.VerifyPlacement verify = new Internal.VerifyPlacement(attempt);
    FakeTimers.Timer<NodeMessage> t = n.timers.armed(verify);
    assertEquals(n.settings.lease(), t.delay(), "asked a lease after the placement");
    placements.onVerify((Internal.VerifyPlacement) n.timers.fire(verify));
    List<NodeMessage> sent = n.sentTo(1);
    assertEquals(1, sent.size(), sent::toString);
    PlacementQuery q = assertInstanceOf(PlacementQuery.class, sent.get(0));
    assertEquals(new PlacementQuery(attempt.request(), attempt, area, 0), q);
    assertTrue(n.timers.isTimerActive(verify), "asked again a lease later until answered");
    return q;
  }

  @Test
  void anAreaTheHomeDidNotKeepIsFreedAndReportedLazy() {
    Area area = placed();
    verify(area);

    placements.onAnswer(new PlacementAnswer(attempt, false));
    assertFalse(n.timers.isTimerActive(new Internal.VerifyPlacement(attempt)));
    // Freed: gone from the busy tree, on the lazy list (not reusable before a purge), and counted.
    assertNull(n.state.busyAt(area.start()));
    assertEquals(area, n.state.lazy().lazyAt(area.start()).area());
    assertEquals(List.of(new PurgeProtocol.LazyFreed(0, 3)), drain(n.coordinator));
    // A retry of the attempt gets a failure, never the area.
    Answer.Failed f = assertInstanceOf(Answer.Failed.class, n.state.answer(attempt, false));
    assertEquals(ErrorCode.ENOSPC, f.code());

    // A late second answer changes nothing.
    placements.onAnswer(new PlacementAnswer(attempt, false));
    assertTrue(drain(n.coordinator).isEmpty());
    assertEquals(1, n.state.lazy().lazyCount());
  }

  @Test
  void aKeptAreaStaysAndIsNotAskedAboutAgain() {
    Area area = placed();
    verify(area);
    placements.onAnswer(new PlacementAnswer(attempt, true));
    assertFalse(n.timers.isTimerActive(new Internal.VerifyPlacement(attempt)));
    assertEquals(area, n.state.busyAt(area.start()));
    assertTrue(drain(n.coordinator).isEmpty());
    assertEquals(0, n.state.lazy().lazyCount());
  }

  @Test
  void anAreaFreedBeforeTheCheckWasKeptAndNobodyIsAsked() {
    Area area = placed();
    n.freed(area.start()); // its client had it: the home kept it
    placements.onVerify((Internal.VerifyPlacement) n.timers.fire(new Internal.VerifyPlacement(attempt)));
    assertTrue(n.sentTo(1).isEmpty());
    assertFalse(n.timers.isTimerActive(new Internal.VerifyPlacement(attempt)));
    // An answer arriving anyway frees nothing more.
    placements.onAnswer(new PlacementAnswer(attempt, false));
    assertTrue(drain(n.coordinator).isEmpty());
  }

  @Test
  void aPlacementForAHomeOutsideTheGeometryIsNotConfirmed() {
    AttemptId stray = new AttemptId(new RequestKey(0x7e57, 2), 0, 7, 0);
    Area area = n.allocated(B, PAGE, stray);
    placements.placed(stray, area);
    assertTrue(n.timers.all().isEmpty(), () -> "armed: " + n.timers.all());
  }

  /**
   * The home side: a placement asked about after the client acknowledged the request's answer (the
   * node let it go, README "Decisions" 2) is kept. Answering "not kept" there freed the area while
   * its client held it, or a later area at the same address (two owners of it).
   */
  @Test
  void aPlacementWhoseAnswerTheClientAcknowledgedIsKept() {
    NodeFixture home = new NodeFixture(1);
    Placements homeSide = new Placements(home.context);
    homeSide.answeringFor(new HomeAllocations(home.context, new QuotaGate(home.context)));
    Area area = new Area(B, B + 3 * PAGE, null);
    RequestKey request = attempt.request();
    home.state.apply(new io.vmap.state.NodeEvent.Placed(request, area));
    home.state.apply(new io.vmap.state.NodeEvent.Acknowledged(request.session(), request.seq() + 1));
    assertEquals(ErrorCode.ESTALE, assertInstanceOf(Answer.Failed.class, home.state.answer(request, false)).code(),
        "the answer is gone once acknowledged");

    homeSide.onQuery(new PlacementQuery(request, attempt, area, 0));
    assertEquals(List.of(new PlacementAnswer(attempt, true)), home.sentTo(0));
  }

  @Test
  void aPlacementTheHomeAnsweredWithAnotherAreaIsNotKept() {
    NodeFixture home = new NodeFixture(1);
    Placements homeSide = new Placements(home.context);
    homeSide.answeringFor(new HomeAllocations(home.context, new QuotaGate(home.context)));
    RequestKey request = attempt.request();
    home.state.apply(new io.vmap.state.NodeEvent.Placed(request, new Area(B + 8 * PAGE, B + 9 * PAGE, null)));

    homeSide.onQuery(new PlacementQuery(request, attempt, new Area(B, B + 3 * PAGE, null), 0));
    assertEquals(List.of(new PlacementAnswer(attempt, false)), home.sentTo(0));
  }
}
