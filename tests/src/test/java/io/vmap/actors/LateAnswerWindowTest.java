package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.failure;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.info;
import static io.vmap.actors.VmapTestSupport.node;
import static io.vmap.actors.VmapTestSupport.settings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.node.NodeSettings;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.NodeMessage;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.Policy;
import io.vmap.state.RequestKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * README "Decisions" 2: an allocation that has to wait (here for a synchronous purge) is
 * acknowledged with its batch and answered alone later, so its session goes on sending to the node
 * meanwhile. If that lone answer is lost, the client resends the request with its key after the
 * timeout, however many later requests were answered meanwhile. The retry must get the first
 * answer, never a second area: the client's batches carry its acknowledgement floor (the lowest
 * sequence number it still waits for), and the node keeps every answer from there on, up to a hard
 * cap ({@code vmap.node.dedup-window}) past which a retry is refused with ESTALE, never executed
 * again. Below an acknowledged floor a stale copy of a request is refused the same way.
 */
class LateAnswerWindowTest extends AllocatorTestBase {

  static final long B = 0x100000;
  /** One node, 16 zones of 64 KiB. */
  static final Geometry G = geometry(B, 16, 1);
  static final long SESSION = 0x1234_5678L;
  /** Far more later requests than the 512 answers a node used to keep per session. */
  static final int LATER = 3000;

  private TestProbe<Replies> p;
  private long batches;

  /** A full space with one zone lazily freed: the next allocation waits for a synchronous purge. */
  private void fullSpaceWithOneLazyZone(NodeSettings node) {
    vmap = Vmap.embed(testKit.system(), settings(G, 1_000_000).withNode(node));
    VmapClient c = vmap.client();
    List<Allocation> all = new ArrayList<>();
    for (int z = 0; z < 16; z++) all.add(await(c.alloc(AllocOptions.size(ZONE).home(0))));
    await(c.free(all.get(3).start()));
    p = testKit.createTestProbe(Replies.class);
  }

  private static ClientProtocol.AllocRequest waiting() {
    AllocSpec spec = AllocSpec.of(G, 0x1000, G.page(), null, null, 0, "waited", Policy.NORMAL);
    return new ClientProtocol.AllocRequest(new RequestKey(SESSION, 0), spec);
  }

  /** Sends a batch as the client does, acknowledging everything below {@code floor}; returns its acknowledgement. */
  private Replies send(List<ClientProtocol.Request> rs, long floor) {
    long id = batches++;
    node(vmap, 0).tell(new ClientProtocol.Batch(id, rs, p.ref(), SESSION, floor));
    Replies r = p.expectMessageClass(Replies.class);
    assertEquals(id, r.batch(), r::toString);
    return r;
  }

  /** Sends the waiting allocation (seq 0) and returns its lone answer, which the client then "loses". */
  private ClientProtocol.Reply sendTheWaitingAllocation() {
    assertEquals(List.of(), send(List.of(waiting()), 0).replies(), "acknowledged, not answered");
    return p.expectMessageClass(Replies.class).replies().get(0);
  }

  /** {@link #LATER} frees inside an area (refused, each answer recorded), in batches of 100, from seq 1 on. */
  private void laterRequests(long floor) {
    long seq = 1;
    while (seq <= LATER) {
      List<ClientProtocol.Request> rs = new ArrayList<>();
      for (int i = 0; i < 100; i++) rs.add(new ClientProtocol.FreeRequest(new RequestKey(SESSION, seq++), B + 0x1000));
      assertEquals(100, send(rs, floor).replies().size());
    }
  }

  /** The retry of seq 0 the client's timeout check sends, in a new batch: its answer. */
  private ClientProtocol.Reply retryTheWaitingAllocation(long floor) {
    Replies r = send(List.of(waiting()), floor);
    if (r.replies().isEmpty()) r = p.expectMessageClass(Replies.class);
    return r.replies().get(0);
  }

  @Test
  void aRetryOfAnAllocationAnsweredLateGetsItsFirstAnswerHoweverManyLaterRequestsWereAnswered() {
    fullSpaceWithOneLazyZone(NodeSettings.defaults());
    ClientProtocol.Reply first = sendTheWaitingAllocation();
    assertInstanceOf(ClientProtocol.Allocated.class, first);
    laterRequests(0); // the client still waits for seq 0: its floor stays there
    assertEquals(first, retryTheWaitingAllocation(0), "the retry's answer");
    assertEquals(16, info(vmap).busy().size(), "no second area");
  }

  @Test
  void pastTheHardCapARetryIsRefusedWithEstaleAndNotExecutedAgain() {
    fullSpaceWithOneLazyZone(NodeSettings.defaults().withDedupWindow(256));
    sendTheWaitingAllocation();
    laterRequests(0); // a client that never acknowledges: the cap bounds what the node keeps
    ClientProtocol.Failed refused = assertInstanceOf(ClientProtocol.Failed.class, retryTheWaitingAllocation(0));
    assertEquals(ErrorCode.ESTALE, refused.code(), refused::toString);
    assertEquals(16, info(vmap).busy().size(), "not executed again");
  }

  @Test
  void belowAnAcknowledgedFloorAStaleCopyOfARequestIsRefusedNotExecuted() {
    vmap = Vmap.embed(testKit.system(), settings(G, 1_000_000));
    p = testKit.createTestProbe(Replies.class);
    AllocSpec page = AllocSpec.of(G, 0x1000, G.page(), null, null, 0, "a", Policy.NORMAL);
    ClientProtocol.AllocRequest a = new ClientProtocol.AllocRequest(new RequestKey(SESSION, 0), page);
    assertInstanceOf(ClientProtocol.Allocated.class, send(List.of(a), 0).replies().get(0));
    // The client got it: its next batch acknowledges everything below seq 1.
    ClientProtocol.AllocRequest b = new ClientProtocol.AllocRequest(new RequestKey(SESSION, 1), page);
    assertInstanceOf(ClientProtocol.Allocated.class, send(List.of(b), 1).replies().get(0));
    // A copy of the first batch that the network kept and delivers now.
    ClientProtocol.Failed stale = assertInstanceOf(ClientProtocol.Failed.class, send(List.of(a), 2).replies().get(0));
    assertEquals(ErrorCode.ESTALE, stale.code());
    assertEquals(2, info(vmap).busy().size(), "two areas, not three");
  }

  /**
   * The same through {@link VmapClient}: node 0's lone answers to this client are dropped once on
   * the way back, the client makes thousands of later calls to that node, and its timeout check
   * resends the allocation, which completes with the area the node gave it first.
   */
  @Test
  void throughVmapClientALostLoneAnswerRetriedAfterThousandsOfLaterCallsGetsItsFirstArea() {
    fullSpaceWithOneLazyZone(NodeSettings.defaults());
    TestProbe<Replies> dropped = testKit.createTestProbe(Replies.class);
    AtomicBoolean dropNextLone = new AtomicBoolean(true);
    ActorRef<NodeMessage> lossy = testKit.spawn(losingLoneAnswers(node(vmap, 0), dropped.ref(), dropNextLone));
    Duration timeout = Duration.ofSeconds(5);
    VmapClient c = new VmapClient(testKit.system(), G, new VmapTestSupport.Directory(1).set(0, lossy),
        vmap.client().coordinator(), timeout, 1, null);
    try {
      CompletableFuture<Allocation> waited = c.alloc(AllocOptions.size(0x1000).home(0)).toCompletableFuture();
      ClientProtocol.Allocated first = assertInstanceOf(ClientProtocol.Allocated.class,
          dropped.expectMessageClass(Replies.class).replies().get(0));
      // Frees inside the first zone's area, not at its start: refused, each answer recorded.
      for (int i = 0; i < LATER; i++) assertEquals(ErrorCode.EINVAL, failure(c.free(B + 0x1000)));
      assertFalse(waited.isDone(), "its answer was lost");
      manualTime.timePasses(timeout.plus(timeout.dividedBy(4)));
      assertEquals(first.area(), await(waited).area(), "the first area");
      assertEquals(1, c.retriesSent());
      assertEquals(16, info(vmap).busy().size(), "no second area");
    } finally {
      c.close();
    }
  }

  /**
   * Node {@code target} behind a proxy that drops the next lone answer ({@code Replies} of batch
   * -1) to any client while {@code armed}, handing it to {@code dropped} instead.
   */
  static Behavior<NodeMessage> losingLoneAnswers(akka.actor.typed.RecipientRef<NodeMessage> target,
      ActorRef<Replies> dropped, AtomicBoolean armed) {
    return Behaviors.setup(ctx -> {
      java.util.Map<ActorRef<Replies>, ActorRef<Replies>> via = new java.util.HashMap<>();
      return Behaviors.receive(NodeMessage.class)
          .onMessage(ClientProtocol.Batch.class, b -> {
            ActorRef<Replies> to = via.computeIfAbsent(b.replyTo(), client -> ctx.spawnAnonymous(
                Behaviors.receiveMessage((Replies r) -> {
                  if (r.batch() < 0 && armed.compareAndSet(true, false)) dropped.tell(r);
                  else client.tell(r);
                  return Behaviors.same();
                })));
            target.tell(new ClientProtocol.Batch(b.batch(), b.requests(), to, b.session(), b.ackFloor()));
            return Behaviors.same();
          })
          .onAnyMessage(m -> {
            target.tell(m);
            return Behaviors.same();
          })
          .build();
    });
  }
}
