package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.failure;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
import java.util.List;
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

  /** The one request of the batch a probe standing for a node received. */
  private static ClientProtocol.Batch batchOfOne(TestProbe<NodeMessage> node) {
    ClientProtocol.Batch b = node.expectMessageClass(ClientProtocol.Batch.class);
    assertEquals(1, b.requests().size(), b::toString);
    return b;
  }

  @Test
  void aClientCallWithoutAnswerFailsWithEtimedoutAfterItsTimeoutNotBefore() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    Duration timeout = Duration.ofSeconds(5);
    VmapClient client = new VmapClient(testKit.system(), G, dir, coordinator.ref(), timeout, 0, null);

    CompletableFuture<Area> free = client.free(B + 0x1000, "free-1").toCompletableFuture();
    ClientProtocol.Batch asked = batchOfOne(n0);
    assertEquals(Requests.freeKey("free-1", B + 0x1000), asked.requests().get(0).key());
    manualTime.timePasses(timeout.minusMillis(1));
    // Still waiting: an answer now is the call's result.
    asked.replyTo().tell(new ClientProtocol.Replies(asked.batch(),
        List.of(new ClientProtocol.Failed(Requests.freeKey("free-1", B + 0x1000), ErrorCode.ENOENT, "none"))));
    assertEquals(ErrorCode.ENOENT, failure(free));

    CompletableFuture<Area> unanswered = client.free(B + 0x2000, "free-2").toCompletableFuture();
    batchOfOne(n0);
    manualTime.timePasses(timeout.minusMillis(1));
    assertFalse(unanswered.isDone(), "not given up before its timeout");
    // The check runs every quarter timeout: the call fails within a quarter timeout after it.
    manualTime.timePasses(timeout.dividedBy(4).plusMillis(1));
    assertEquals(ErrorCode.ETIMEDOUT, failure(unanswered));
  }

  @Test
  void aClientRetriesATimedOutAllocWithTheSameRequestKey() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    Duration timeout = Duration.ofSeconds(5);
    VmapClient client = new VmapClient(testKit.system(), G, dir, coordinator.ref(), timeout, 1, null);

    CompletableFuture<Allocation> alloc =
        client.alloc(AllocOptions.size(0x1000).home(1).requestId("retried-1")).toCompletableFuture();
    ClientProtocol.Batch first = batchOfOne(n1);
    manualTime.timePasses(timeout.minusMillis(1));
    nothingBefore(n1, new NodeMessage.Wake()); // not asked again before the timeout
    manualTime.timePasses(timeout.dividedBy(4).plusMillis(1));
    ClientProtocol.Batch retry = batchOfOne(n1);
    ClientProtocol.AllocRequest asked = (ClientProtocol.AllocRequest) first.requests().get(0);
    ClientProtocol.AllocRequest again = (ClientProtocol.AllocRequest) retry.requests().get(0);
    assertEquals(asked.key(), again.key(), "a retry carries the same request key");
    assertEquals(asked.spec(), again.spec());
    Area area = new Area(B + ZONE, B + ZONE + 0x1000, "");
    retry.replyTo().tell(new ClientProtocol.Replies(retry.batch(), List.of(new ClientProtocol.Allocated(again.key(), area, 1))));
    assertEquals(area, await(alloc).area());
    assertEquals(1, client.retriesSent());
  }

  @Test
  void aSessionCallIsAnsweredAloneRetriedWithItsKeyAndGivenUpOnceAndClosingFailsTheRest() {
    // Calls without a caller-chosen id wait in their channel by sequence number (ClientSession).
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    Duration timeout = Duration.ofSeconds(5);
    VmapClient client = new VmapClient(testKit.system(), G, dir, coordinator.ref(), timeout, 1, null);
    Area freedB = new Area(B + 0x2000, B + 0x3000, "");

    CompletableFuture<Area> a = client.free(B + 0x1000).toCompletableFuture();
    ClientProtocol.Batch first = batchOfOne(n0);
    CompletableFuture<Area> b = client.free(B + 0x2000).toCompletableFuture(); // queued behind the first
    // The first batch is acknowledged without a's answer (a walk, a purge): b goes out.
    first.replyTo().tell(new ClientProtocol.Replies(first.batch(), List.of()));
    ClientProtocol.Batch second = batchOfOne(n0);
    second.replyTo().tell(new ClientProtocol.Replies(second.batch(),
        List.of(new ClientProtocol.Freed(second.requests().get(0).key(), freedB))));
    assertEquals(freedB, await(b));
    assertFalse(a.isDone());

    // a's answer never came: asked again with the same key after its timeout.
    manualTime.timePasses(timeout.plus(timeout.dividedBy(4)).plusMillis(1));
    ClientProtocol.Batch retry = batchOfOne(n0);
    assertEquals(first.requests().get(0).key(), retry.requests().get(0).key());
    assertEquals(1, client.retriesSent());
    // Its answer comes alone (no batch acknowledged with it), then again: the call takes the first.
    for (int i = 0; i < 2; i++) {
      retry.replyTo().tell(new ClientProtocol.Replies(-1,
          List.of(new ClientProtocol.Failed(retry.requests().get(0).key(), ErrorCode.ENOENT, "none"))));
    }
    assertEquals(ErrorCode.ENOENT, failure(a));

    // c is never acknowledged nor answered: sent again once, then ETIMEDOUT; a late answer is ignored.
    CompletableFuture<Area> c = client.free(B + 0x4000).toCompletableFuture();
    retry.replyTo().tell(new ClientProtocol.Replies(retry.batch(), List.of()));
    ClientProtocol.Batch third = batchOfOne(n0);
    manualTime.timePasses(timeout.plus(timeout.dividedBy(4)).plusMillis(1));
    ClientProtocol.Batch thirdAgain = batchOfOne(n0);
    assertEquals(third.requests().get(0).key(), thirdAgain.requests().get(0).key());
    manualTime.timePasses(timeout.plus(timeout.dividedBy(4)).plusMillis(1));
    assertEquals(ErrorCode.ETIMEDOUT, failure(c));
    third.replyTo().tell(new ClientProtocol.Replies(thirdAgain.batch(),
        List.of(new ClientProtocol.Freed(third.requests().get(0).key(), freedB))));

    // Node 1's channel: a call waiting there fails when the client closes.
    CompletableFuture<Area> d = client.free(B + ZONE + 0x1000).toCompletableFuture();
    batchOfOne(n1);
    client.close();
    assertEquals(ErrorCode.ETIMEDOUT, failure(d));
  }

  @Test
  void aNodeAsksASilentNeighbourAgainWithTheSameAttemptAfterItsAskTimeout() {
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    Directory dir = new Directory(2).set(1, n1.ref());
    NodeSettings settings = NodeSettings.defaults();
    ActorRef<NodeMessage> n0 = testKit.spawn(VmapTestSupport.volatileNode(0, G, settings, dir, coordinator.ref()));
    dir.set(0, n0);
    TestProbe<ClientProtocol.Replies> client = testKit.createTestProbe(ClientProtocol.Replies.class);
    TestProbe<ClientProtocol.Replies> sync = testKit.createTestProbe(ClientProtocol.Replies.class);

    // Only node 1's zone is in range: node 0 has no fit and asks node 1.
    AllocSpec spec = AllocSpec.of(G, 0x1000, 0x1000, B + ZONE, B + 2 * ZONE, 0, "", Policy.NORMAL);
    n0.tell(Requests.one(Requests.alloc("walk-1", spec), client.ref()));
    PeerProtocol.AllocHere first = n1.expectMessageClass(PeerProtocol.AllocHere.class);
    assertEquals(1, first.attempt().target());

    // A millisecond before the ask timeout nothing was asked again: node 0 answered a later find,
    // so anything it had sent node 1 before is queued ahead of the marker.
    manualTime.timePasses(settings.askTimeout().minusMillis(1));
    n0.tell(Requests.one(Requests.find(B), sync.ref()));
    Requests.reply(sync, ClientProtocol.Found.class);
    nothingBefore(n1, new NodeMessage.Wake());

    manualTime.timePasses(Duration.ofMillis(1));
    PeerProtocol.AllocHere again = n1.expectMessageClass(PeerProtocol.AllocHere.class);
    assertEquals(first.attempt(), again.attempt(), "the same attempt: node 1 returns its first outcome");
    Area area = new Area(B + ZONE, B + ZONE + 0x1000, "");
    again.replyTo().tell(new PeerProtocol.AttemptPlaced(again.attempt(), area, 1));
    ClientProtocol.Allocated got = Requests.reply(client, ClientProtocol.Allocated.class);
    assertEquals(area, got.area());
    assertEquals(1, got.node());
    // The first ask's answer arriving late changes nothing.
    first.replyTo().tell(new PeerProtocol.AttemptPlaced(first.attempt(), area, 1));
    n0.tell(Requests.one(Requests.find(B), sync.ref()));
    Requests.reply(sync, ClientProtocol.Found.class);
    nothingBefore(client, new ClientProtocol.Replies(-1, List.of()));
  }
}
