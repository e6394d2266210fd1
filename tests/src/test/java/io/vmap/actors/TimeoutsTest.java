package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.failure;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapClient;
import io.vmap.node.NodeSettings;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.Policy;
import io.vmap.state.RequestId;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Ask timeouts on the manual clock: a call is given up (or asked again) exactly when its timeout
 * has passed, never a millisecond before, whatever the machine's speed. The other side is a probe
 * that answers only when the test says.
 *
 * <p>Geometry: 2 nodes, 16 zones of 64 KiB from B; node 1 owns the zones at B + (2i+1)*Z.
 */
class TimeoutsTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 2);

  @Test
  void aClientCallWithoutAnswerFailsWithEtimedoutWhenItsTimeoutHasPassed() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    VmapClient client = new VmapClient(testKit.system(), G, dir, coordinator.ref(), Duration.ofSeconds(5), 0);

    CompletableFuture<Area> free = client.free(B + 0x1000, "free-1").toCompletableFuture();
    ClientProtocol.Free asked = n0.expectMessageClass(ClientProtocol.Free.class);
    assertEquals(new RequestId("free-1"), asked.requestId());
    manualTime.timePasses(Duration.ofMillis(4_999));
    // Still waiting: an answer now is the call's result.
    asked.replyTo().tell(new ClientProtocol.FreeFailed(asked.requestId(), ErrorCode.ENOENT, "none"));
    assertEquals(ErrorCode.ENOENT, failure(free));

    CompletableFuture<Area> unanswered = client.free(B + 0x2000, "free-2").toCompletableFuture();
    n0.expectMessageClass(ClientProtocol.Free.class);
    manualTime.timePasses(Duration.ofSeconds(5));
    assertEquals(ErrorCode.ETIMEDOUT, failure(unanswered));
  }

  @Test
  void aClientRetriesATimedOutAllocWithTheSameRequestId() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    VmapClient client = new VmapClient(testKit.system(), G, dir, coordinator.ref(), Duration.ofSeconds(5), 1);

    CompletableFuture<Allocation> alloc =
        client.alloc(AllocOptions.size(0x1000).home(1).requestId("retried-1")).toCompletableFuture();
    ClientProtocol.Alloc first = n1.expectMessageClass(ClientProtocol.Alloc.class);
    manualTime.timePasses(Duration.ofMillis(4_999));
    nothingBefore(n1, new NodeMessage.Wake()); // not asked again before the timeout
    manualTime.timePasses(Duration.ofMillis(1));
    ClientProtocol.Alloc retry = n1.expectMessageClass(ClientProtocol.Alloc.class);
    assertEquals(first.requestId(), retry.requestId(), "a retry carries the same request id");
    assertEquals(first.spec(), retry.spec());
    Area area = new Area(B + ZONE, B + ZONE + 0x1000, "");
    retry.replyTo().tell(new ClientProtocol.Allocated(retry.requestId(), area, 1));
    assertEquals(area, await(alloc).area());
    assertEquals(1, client.retriesSent());
  }

  @Test
  void aNodeAsksASilentNeighbourAgainWithTheSameAttemptAfterItsAskTimeout() {
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    Directory dir = new Directory(2).set(1, n1.ref());
    NodeSettings settings = NodeSettings.defaults();
    ActorRef<NodeMessage> n0 = testKit.spawn(VmapTestSupport.volatileNode(0, G, settings, dir, coordinator.ref()));
    dir.set(0, n0);
    TestProbe<ClientProtocol.AllocReply> client = testKit.createTestProbe(ClientProtocol.AllocReply.class);
    TestProbe<ClientProtocol.FindReply> sync = testKit.createTestProbe(ClientProtocol.FindReply.class);

    // Only node 1's zone is in range: node 0 has no fit and asks node 1.
    RequestId id = new RequestId("walk-1");
    AllocSpec spec = AllocSpec.of(G, 0x1000, 0x1000, B + ZONE, B + 2 * ZONE, 0, "", Policy.NORMAL);
    n0.tell(new ClientProtocol.Alloc(id, spec, client.ref()));
    PeerProtocol.AllocHere first = n1.expectMessageClass(PeerProtocol.AllocHere.class);
    assertEquals(1, first.attempt().target());

    // A millisecond before the ask timeout nothing was asked again: node 0 answered a later find,
    // so anything it had sent node 1 before is queued ahead of the marker.
    manualTime.timePasses(settings.askTimeout().minusMillis(1));
    n0.tell(new ClientProtocol.Find(B, sync.ref()));
    sync.expectMessageClass(ClientProtocol.FindReply.class);
    nothingBefore(n1, new NodeMessage.Wake());

    manualTime.timePasses(Duration.ofMillis(1));
    PeerProtocol.AllocHere again = n1.expectMessageClass(PeerProtocol.AllocHere.class);
    assertEquals(first.attempt(), again.attempt(), "the same attempt: node 1 returns its first outcome");
    Area area = new Area(B + ZONE, B + ZONE + 0x1000, "");
    again.replyTo().tell(new PeerProtocol.AttemptPlaced(again.attempt(), area, 1));
    ClientProtocol.Allocated got = client.expectMessageClass(ClientProtocol.Allocated.class);
    assertEquals(area, got.area());
    assertEquals(1, got.node());
    // The first ask's answer arriving late changes nothing.
    first.replyTo().tell(new PeerProtocol.AttemptPlaced(first.attempt(), area, 1));
    n0.tell(new ClientProtocol.Find(B, sync.ref()));
    sync.expectMessageClass(ClientProtocol.FindReply.class);
    nothingBefore(client, new ClientProtocol.AllocFailed(id, ErrorCode.EINVAL, "marker"));
  }
}
