package io.vmap.node;

import static io.vmap.node.NodeFixture.B;
import static io.vmap.node.NodeFixture.ZONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestInbox;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.PeerProtocol;
import io.vmap.space.Area;
import io.vmap.state.Decision;
import io.vmap.state.ErrorCode;
import io.vmap.state.Part;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * README "Error codes" EEXIST, on the one path where a free waits: an address inside a piece of
 * another node's spanning area, which only its start owner can check. While that free waits, the
 * same request id for another address is refused, not run.
 */
class KeyedFreeWhileCheckingTest {

  static final Area R = new Area(B + ZONE / 2, B + ZONE + ZONE / 2, "r");
  static final Part R0 = new Part(0, B + ZONE / 2, B + ZONE);
  static final Part R1 = new Part(1, B + ZONE, B + ZONE + ZONE / 2);
  static final ReservationId ID = new ReservationId(new RequestKey(0x7e57, 1), 0, R, 0);

  private static List<ClientProtocol.Reply> batch(NodeFixture n, Lookups lookups, ClientProtocol.FreeRequest f) {
    TestInbox<ClientProtocol.Replies> to = TestInbox.create("client");
    ClientProtocol.Batch b = new ClientProtocol.Batch(0, List.of(f), to.getRef());
    n.context.responses.begin(b);
    lookups.onFree(f, to.getRef());
    n.context.responses.end();
    return to.receiveMessage().replies();
  }

  @Test
  void aRequestIdReusedForAnotherAddressWhileItsFreeWaitsForTheStartOwnerIsRefused() {
    NodeFixture n = new NodeFixture(1);
    SpanParticipant spans = new SpanParticipant(n.context, new Placements(n.context));
    TestInbox<PeerProtocol.ReserveReply> reserved = TestInbox.create("reserved");
    spans.onReserve(new PeerProtocol.Reserve(ID, 0, List.of(R1), List.of(R0, R1), 300, reserved.getRef()));
    assertTrue(reserved.receiveMessage().ok());
    spans.onLeaseExpired((Internal.LeaseExpired) n.timers.fire(ID));
    spans.onResolution(new PeerProtocol.Resolution(ID, Decision.COMMITTED)); // node 1 holds R1 of R
    n.sentTo(0);

    Lookups lookups = new Lookups(n.context);
    long inside = R1.start() + 0x1000;
    RequestKey first = RequestKey.keyed("free", "f-9", RequestKey.fingerprint(inside));
    assertEquals(List.of(), batch(n, lookups, new ClientProtocol.FreeRequest(first, inside)), "waits for node 0");
    assertInstanceOf(PeerProtocol.CheckAddress.class, n.sentTo(0).get(0));

    RequestKey other = RequestKey.keyed("free", "f-9", RequestKey.fingerprint(inside + 0x1000));
    ClientProtocol.Failed refused = assertInstanceOf(ClientProtocol.Failed.class,
        batch(n, lookups, new ClientProtocol.FreeRequest(other, inside + 0x1000)).get(0));
    assertEquals(ErrorCode.EEXIST, refused.code());
    assertEquals(List.of(), n.sentTo(0), "not checked, not run");
  }
}
