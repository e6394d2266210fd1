package io.vmap.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.CallerRunsExecutor;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.LocalReplies;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code vmap.dispatcher}'s {@link CallerRunsExecutor}: a client's batch that finds its node idle has
 * the node's turn run on the caller's thread; the caller completes there only the calls it made,
 * another thread's calls answered in that turn complete on the pool; a pool thread's send always
 * goes through the pool; the plain {@code thread-pool-executor} never runs a turn on a caller's
 * thread.
 */
class CallerRunsExecutorTest {

  private ActorTestKit kit;
  private Vmap vmap;

  @AfterEach
  void stop() {
    if (vmap != null) vmap.close();
    if (kit != null) kit.shutdownTestKit();
  }

  private static com.typesafe.config.Config callerRuns() {
    return ConfigFactory.parseString("vmap.dispatcher.executor = \"io.vmap.protocol.CallerRunsExecutor\"")
        .withFallback(ConfigFactory.load());
  }

  /** A stand-in node on vmap.dispatcher that notes the thread of each batch's turn. */
  private static Behavior<ClientProtocol.Command> recorder(Map<Long, Thread> ranOn) {
    return Behaviors.receive(ClientProtocol.Command.class)
        .onMessage(ClientProtocol.Batch.class, b -> {
          ranOn.put(b.batch(), Thread.currentThread());
          return Behaviors.same();
        })
        .build();
  }

  private static ClientProtocol.Batch batch(long n, TestProbe<Replies> replyTo) {
    return new ClientProtocol.Batch(n, List.of(), replyTo.getRef());
  }

  @Test
  void aBatchThatFindsItsNodeIdleHasTheTurnRunOnTheCallersThreadBeforeTellReturns() {
    kit = ActorTestKit.create(callerRuns());
    Map<Long, Thread> ranOn = new ConcurrentHashMap<>();
    ActorRef<ClientProtocol.Command> node = kit.spawn(recorder(ranOn), "node", Vmap.DISPATCHER);
    TestProbe<Replies> replies = kit.createTestProbe();
    Thread me = Thread.currentThread();
    AtomicLong next = new AtomicLong();

    // The node is busy while it starts: retry until a send finds it idle.
    replies.awaitAssert(Duration.ofSeconds(10), () -> {
      long b = next.incrementAndGet();
      CallerRunsExecutor.tell(node, batch(b, replies));
      assertEquals(me, ranOn.get(b), "batch " + b + "'s turn ran on the caller's thread before tell returned");
      return null;
    });
  }

  @Test
  void aSendFromAPoolThreadNeverRunsTheTurnOnThatThread() {
    kit = ActorTestKit.create(callerRuns());
    Map<Long, Thread> ranOn = new ConcurrentHashMap<>();
    ActorRef<ClientProtocol.Command> node = kit.spawn(recorder(ranOn), "node", Vmap.DISPATCHER);
    TestProbe<Replies> replies = kit.createTestProbe();
    // A client on a vmap.dispatcher thread (an answer's callback issuing the next request): whether
    // the node's turn for its batch ran on its thread before tell returned.
    TestProbe<Boolean> ranHere = kit.createTestProbe();
    ActorRef<Long> sender = kit.spawn(Behaviors.receive(Long.class)
        .onMessage(Long.class, b -> {
          CallerRunsExecutor.tell(node, batch(b, replies));
          ranHere.getRef().tell(Thread.currentThread().equals(ranOn.get(b)));
          return Behaviors.same();
        })
        .build(), "sender", Vmap.DISPATCHER);

    for (long b = 1; b <= 50; b++) {
      sender.tell(b);
      assertEquals(false, ranHere.receiveMessage(), "batch " + b);
    }
  }

  @Test
  void thePlainPoolNeverRunsATurnOnTheCallersThread() {
    kit = ActorTestKit.create(ConfigFactory.parseString(
        "vmap.dispatcher.executor = thread-pool-executor").withFallback(ConfigFactory.load()));
    Map<Long, Thread> ranOn = new ConcurrentHashMap<>();
    ActorRef<ClientProtocol.Command> node = kit.spawn(recorder(ranOn), "node", Vmap.DISPATCHER);
    TestProbe<Replies> replies = kit.createTestProbe();
    Thread me = Thread.currentThread();

    for (long b = 1; b <= 50; b++) {
      CallerRunsExecutor.tell(node, batch(b, replies));
      long sent = b;
      Thread on = replies.awaitAssert(() -> {
        Thread t = ranOn.get(sent);
        assertTrue(t != null, "batch " + sent + " handled");
        return t;
      });
      assertNotEquals(me, on);
    }
  }

  /**
   * A stand-in node that keeps the first batch it gets unanswered and answers it together with the
   * next one, in that one's turn: B's call waits until A's call runs the node on A's thread.
   */
  private static Behavior<NodeMessage> holdFirstAnswerWithSecond(
      LocalReplies local, ActorRef<String> held, java.util.concurrent.atomic.AtomicReference<Thread> answeredOn) {
    return Behaviors.setup(ctx -> {
      ClientProtocol.Batch[] first = new ClientProtocol.Batch[1];
      return Behaviors.receive(NodeMessage.class)
          .onMessage(ClientProtocol.Batch.class, b -> {
            if (first[0] == null) {
              first[0] = b;
              held.tell("held " + b.batch());
              return Behaviors.same();
            }
            answeredOn.set(Thread.currentThread());
            local.send(b.replyTo(), answers(b));
            local.send(first[0].replyTo(), answers(first[0]));
            first[0] = null;
            return Behaviors.same();
          })
          .build();
    });
  }

  private static Replies answers(ClientProtocol.Batch b) {
    List<ClientProtocol.Reply> out = new ArrayList<>();
    for (ClientProtocol.Request r : b.requests()) out.add(new ClientProtocol.Allocated(r.key(), new Area(0x10000, 0x11000, ""), 0));
    return new Replies(b.batch(), out);
  }

  @Test
  void aCallerRunningATurnCompletesOnlyItsOwnCallsAndLeavesAnotherThreadsToThePool() throws Exception {
    kit = ActorTestKit.create(callerRuns());
    TestProbe<String> held = kit.createTestProbe();
    java.util.concurrent.atomic.AtomicReference<Thread> answeredOn = new java.util.concurrent.atomic.AtomicReference<>();
    ActorRef<NodeMessage> node = kit.spawn(
        holdFirstAnswerWithSecond(LocalReplies.get(kit.system()), held.getRef(), answeredOn), "node", Vmap.DISPATCHER);
    VmapTestSupport.Directory dir = new VmapTestSupport.Directory(1).set(0, node);
    io.vmap.space.Geometry g = VmapTestSupport.geometry(0x10000, 4, 1);
    TestProbe<PurgeProtocol.Command> coordinator = kit.createTestProbe();
    // Two clients, so that A's call is not queued behind B's batch in one channel.
    VmapClient forB = new VmapClient(kit.system(), g, dir, coordinator.getRef(), Duration.ofSeconds(30));
    VmapClient forA = new VmapClient(kit.system(), g, dir, coordinator.getRef(), Duration.ofSeconds(30));
    ExecutorService threadB = Executors.newSingleThreadExecutor();
    Thread me = Thread.currentThread();
    try {
      // Until A's call finds the node idle and runs its turn (the node is busy while it starts).
      held.awaitAssert(Duration.ofSeconds(20), () -> {
        CompletableFuture<Thread> bCompletedOn = new CompletableFuture<>();
        threadB.submit(() -> forB.alloc(AllocOptions.size(4096).home(0))
            .whenComplete((a, e) -> bCompletedOn.complete(Thread.currentThread()))).get();
        held.receiveMessage();

        CompletableFuture<Allocation> a = forA.alloc(AllocOptions.size(4096).home(0)).toCompletableFuture();
        boolean answeredBeforeReturn = a.isDone();

        Thread bOn = bCompletedOn.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(me, answeredOn.get(), "the turn answering A and B ran on A's thread");
        assertTrue(answeredBeforeReturn, "A's call was answered before it returned");
        assertNotEquals(me, bOn, "B's call completed (its callback ran) on A's thread");
        assertEquals(0x10000, a.join().area().start());
        return null;
      });
    } finally {
      threadB.shutdownNow();
      forA.close();
      forB.close();
    }
  }

  /**
   * The allocator on the caller-runs pool, from the test's thread and from four threads at once: a
   * call that finds its node idle is answered before it returns, every answer is right, the space
   * adds up, and purges still run (the coordinator and the nodes' release turns on the pool).
   */
  @Test
  void theAllocatorAnswersCallersOnTheirThreadsAndStillPurges() throws Exception {
    kit = ActorTestKit.create(callerRuns());
    VmapSettings s = VmapSettings.from(ConfigFactory.parseString(
            "vmap.space { start = \"0x100000000\", end = \"0x200000000\", page = 4096, zone = 1 MiB, nodes = 4 }\n"
                + "vmap.purge.lazy-max-pages = 256")
        .withFallback(ConfigFactory.load()));
    vmap = Vmap.embed(kit.system(), s);
    VmapClient c = vmap.client();
    TestProbe<Void> probe = kit.createTestProbe();

    // A warm-up call settles the nodes; then calls made one after the other, each to an idle node,
    // are done when they return: twenty in a row (a node busy with a timer's message now and then
    // queues one, which starts the count again; on the pool, none would be done in time).
    VmapTestSupport.await(c.alloc(AllocOptions.size(4096).home(1)));
    List<CompletableFuture<Allocation>> tries = new ArrayList<>();
    probe.awaitAssert(Duration.ofSeconds(10), () -> {
      for (int i = 0; i < 20; i++) {
        CompletableFuture<Allocation> f = c.alloc(AllocOptions.size(8192).home(1)).toCompletableFuture();
        tries.add(f);
        assertTrue(f.isDone(), "call " + i + " of the run answered before alloc returned");
      }
      return null;
    });
    long warmUpBytes = 4096;
    for (CompletableFuture<Allocation> f : tries) {
      Area a = VmapTestSupport.await(f).area();
      assertEquals(8192, a.size());
      warmUpBytes += a.size();
    }

    ExecutorService threads = Executors.newFixedThreadPool(4);
    try {
      List<Future<List<Area>>> held = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int home = t;
        held.add(threads.submit(() -> {
          List<Area> kept = new ArrayList<>();
          for (int i = 0; i < 400; i++) {
            Area a = VmapTestSupport.await(c.alloc(AllocOptions.size(4096L * (1 + i % 8)).home(home))).area();
            assertEquals(4096L * (1 + i % 8), a.size());
            if (i % 4 == 0) kept.add(a);
            else assertEquals(a, VmapTestSupport.await(c.free(a.start())));
          }
          return kept;
        }));
      }
      long keptBytes = 0;
      List<Area> all = new ArrayList<>();
      for (Future<List<Area>> f : held) all.addAll(f.get());
      for (Area a : all) keptBytes += a.size();
      all.sort((x, y) -> Long.compareUnsigned(x.start(), y.start()));
      for (int i = 1; i < all.size(); i++) {
        assertTrue(Long.compareUnsigned(all.get(i - 1).end(), all.get(i).start()) <= 0, "overlap: " + all.get(i - 1) + " " + all.get(i));
      }
      long kept = keptBytes + warmUpBytes;
      // 1,200 frees of 4.5 pages on average: far past 256 lazy pages, so purges ran.
      PurgeProtocol.Status st = probe.awaitAssert(Duration.ofSeconds(20), () -> {
        PurgeProtocol.Status now = VmapTestSupport.await(c.purgeStatus());
        assertTrue(now.epochsRun() >= 1, "a purge ran: " + now);
        return now;
      });
      io.vmap.client.VmapInfo info = VmapTestSupport.await(c.info());
      assertEquals(kept, info.busyBytes());
      assertEquals(0x100000000L, info.freeBytes() + info.lazyBytes() + info.busyBytes());
      assertTrue(st.areasReleased() > 0, "released: " + st);
    } finally {
      threads.shutdownNow();
    }
  }
}
