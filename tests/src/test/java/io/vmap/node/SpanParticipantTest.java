package io.vmap.node;

import static io.vmap.node.NodeFixture.B;
import static io.vmap.node.NodeFixture.ZONE;
import static io.vmap.node.NodeFixture.drain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestInbox;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol;
import io.vmap.space.Area;
import io.vmap.state.Decision;
import io.vmap.state.Part;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reservation leases of spanning allocations ({@link SpanParticipant}), on fake timers: a lease is
 * armed with the reserve's own length; when it runs out the start owner gives the space back, and
 * a part owner asks the start owner, asking again a lease later until it gets an answer.
 *
 * <p>The area R = [B + Z/2, B + Z + Z/2) starts on node 0 (part R0) and ends on node 1 (part R1).
 */
class SpanParticipantTest {

  static final Area R = new Area(B + ZONE / 2, B + ZONE + ZONE / 2, "r");
  static final Part R0 = new Part(0, B + ZONE / 2, B + ZONE);
  static final Part R1 = new Part(1, B + ZONE, B + ZONE + ZONE / 2);
  static final ReservationId ID = new ReservationId(new RequestKey(0x7e57, 1), 0, R, 0);

  private final TestInbox<PeerProtocol.ReserveReply> replies = TestInbox.create("reserve-replies");

  private static SpanParticipant spans(NodeFixture n) {
    return new SpanParticipant(n.context, new Placements(n.context));
  }

  private void reserve(SpanParticipant s, Part mine, long leaseMillis) {
    s.onReserve(new PeerProtocol.Reserve(ID, 0, List.of(mine), List.of(R0, R1), leaseMillis, replies.getRef()));
    PeerProtocol.ReserveReply r = replies.receiveMessage();
    assertTrue(r.ok(), r::toString);
  }

  @Test
  void theStartOwnerGivesAnUncommittedReservationBackWhenItsLeaseRunsOut() {
    NodeFixture n = new NodeFixture(0);
    SpanParticipant s = spans(n);
    long free = n.state.freeBytes();
    reserve(s, R0, 1234);
    assertEquals(Duration.ofMillis(1234), n.timers.armed(ID).delay(), "the reserve's own lease");
    assertEquals(free - (R0.end() - R0.start()), n.state.freeBytes());

    s.onLeaseExpired((Internal.LeaseExpired) n.timers.fire(ID));
    assertNull(n.state.spans().reservation(ID));
    assertEquals(free, n.state.freeBytes());
    assertTrue(n.sentTo(1).isEmpty(), "the start owner decides alone");
    // A commit now is too late, and is refused.
    TestInbox<PeerProtocol.CommitReply> commits = TestInbox.create("commits");
    s.onCommitArea(new PeerProtocol.CommitArea(ID, commits.getRef()));
    assertFalse(commits.receiveMessage().committed());
  }

  @Test
  void aPartOwnerAsksTheStartOwnerUntilItAnswers() {
    NodeFixture n = new NodeFixture(1);
    SpanParticipant s = spans(n);
    long free = n.state.freeBytes();
    reserve(s, R1, 300);

    s.onLeaseExpired((Internal.LeaseExpired) n.timers.fire(ID));
    List<NodeMessage> asked = n.sentTo(0);
    assertEquals(List.of(new PeerProtocol.ResolveReservation(ID, 1)), asked);
    assertEquals(n.settings.lease(), n.timers.armed(ID).delay(), "asked again a lease later");
    assertNotNull(n.state.spans().reservation(ID), "only the start owner knows: the part stays reserved");

    // No answer (the start owner is restarting): it asks again, still holding the part.
    s.onLeaseExpired((Internal.LeaseExpired) n.timers.fire(ID));
    assertEquals(List.of(new PeerProtocol.ResolveReservation(ID, 1)), n.sentTo(0));
    // "Pending" keeps waiting; "aborted" gives the part back and stops asking.
    s.onResolution(new PeerProtocol.Resolution(ID, Decision.PENDING));
    assertTrue(n.timers.isTimerActive(ID));
    s.onResolution(new PeerProtocol.Resolution(ID, Decision.ABORTED));
    assertNull(n.state.spans().reservation(ID));
    assertFalse(n.timers.isTimerActive(ID));
    assertEquals(free, n.state.freeBytes());
  }

  @Test
  void aPartOwnerToldCommittedKeepsItsPieceAsAHeldPart() {
    NodeFixture n = new NodeFixture(1);
    SpanParticipant s = spans(n);
    reserve(s, R1, 300);
    s.onLeaseExpired((Internal.LeaseExpired) n.timers.fire(ID));
    s.onResolution(new PeerProtocol.Resolution(ID, Decision.COMMITTED));
    assertNull(n.state.spans().reservation(ID));
    assertFalse(n.timers.isTimerActive(ID));
    assertEquals(R, n.state.spans().heldAt(R1.start()).area());
    assertInstanceOf(PeerProtocol.ResolveReservation.class, drain(n.peers.get(0)).get(0));
  }
}
