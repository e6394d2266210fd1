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
 * {@code vmap.dispatcher}'s {@link CallerRunsExecutor}: a client's batch that finds its node idle is
 * handled on the caller's thread, with the caller's own answers; answers to anyone else that turn
 * produces go to their reply actors; a pool thread's send always goes through the pool; the plain
 * {@code thread-pool-executor} never runs a turn on a caller's thread.
 */
class CallerRunsExecutorTest {

  private ActorTestKit kit;
  private Vmap vmap;

  @AfterEach
  void stop() {
    if (vmap != null) vmap.close();
    if (kit != null) kit.shutdownTestKit();
  }

  /** Another caller's batch the stand-in node answers in every turn, besides the batch it got. */
  private static final long OTHERS_BATCH = 1_000_000;

  /** A stand-in node on vmap.dispatcher: answers the batch it got and, in the same turn, another caller's. */
  private static Behavior<ClientProtocol.Command> node(LocalReplies local, ActorRef<Replies> otherCaller) {
    return Behaviors.receive(ClientProtocol.Command.class)
        .onMessage(ClientProtocol.Batch.class, b -> {
          local.send(b.replyTo(), new Replies(b.batch(), List.of()));
          local.send(otherCaller, new Replies(OTHERS_BATCH, List.of()));
          return Behaviors.same();
        })
        .build();
  }

  /** Which thread handled each batch's answers, by batch number. */
  private static final class Handled {
    final Map<Long, Thread> byBatch = new ConcurrentHashMap<>();

    void record(Replies r) {
      byBatch.put(r.batch(), Thread.currentThread());
    }
  }

  @Test
  void aBatchThatFindsItsNodeIdleIsHandledOnTheCallersThreadWhichHandsOnlyItsOwnAnswers() {
    kit = ActorTestKit.create(ConfigFactory.parseString(
        "vmap.dispatcher.executor = \"io.vmap.protocol.CallerRunsExecutor\"").withFallback(ConfigFactory.load()));
    LocalReplies local = LocalReplies.get(kit.system());
    TestProbe<Replies> mine = kit.createTestProbe();
    TestProbe<Replies> other = kit.createTestProbe();
    Handled handled = new Handled();
    local.register(mine.getRef(), handled::record);
    local.register(other.getRef(), handled::record);
    ActorRef<ClientProtocol.Command> node = kit.spawn(node(local, other.getRef()), "node", Vmap.DISPATCHER);
    Thread me = Thread.currentThread();
    AtomicLong batch = new AtomicLong();

    // The node is busy while it starts: retry until a send finds it idle (the turn then runs here).
    long inline = mine.awaitAssert(Duration.ofSeconds(10), () -> {
      long b = batch.incrementAndGet();
      handled.byBatch.remove(OTHERS_BATCH);
      CallerRunsExecutor.tell(node, new ClientProtocol.Batch(b, List.of(), mine.getRef()));
      assertEquals(me, handled.byBatch.get(b), "batch " + b + " answered on the caller's thread before tell returned");
      return b;
    });

    // In that turn the other caller's answer went to its reply actor, not to its handler here.
    assertEquals(new Replies(OTHERS_BATCH, List.of()), other.receiveMessage());
    assertTrue(!me.equals(handled.byBatch.get(OTHERS_BATCH)), "another caller's answer was handled on this caller's thread");
    mine.expectNoMessage(Duration.ofMillis(50));
    assertTrue(inline >= 1);
  }

  @Test
  void aSendFromAPoolThreadGoesThroughThePoolAndItsTurnHandlesEveryAnswer() {
    kit = ActorTestKit.create(ConfigFactory.parseString(
        "vmap.dispatcher.executor = \"io.vmap.protocol.CallerRunsExecutor\"").withFallback(ConfigFactory.load()));
    LocalReplies local = LocalReplies.get(kit.system());
    TestProbe<Replies> mine = kit.createTestProbe();
    TestProbe<Replies> other = kit.createTestProbe();
    Handled handled = new Handled();
    local.register(mine.getRef(), handled::record);
    local.register(other.getRef(), handled::record);
    ActorRef<ClientProtocol.Command> node = kit.spawn(node(local, other.getRef()), "node", Vmap.DISPATCHER);
    // A client on a vmap.dispatcher thread (an answer's callback issuing the next request).
    TestProbe<String> senders = kit.createTestProbe();
    ActorRef<Long> sender = kit.spawn(Behaviors.receive(Long.class)
        .onMessage(Long.class, b -> {
          CallerRunsExecutor.tell(node, new ClientProtocol.Batch(b, List.of(), mine.getRef()));
          senders.getRef().tell(Thread.currentThread().getName());
          return Behaviors.same();
        })
        .build(), "sender", Vmap.DISPATCHER);

    for (long b = 1; b <= 20; b++) {
      handled.byBatch.remove(OTHERS_BATCH);
      sender.tell(b);
      senders.receiveMessage();
      long sent = b;
      // Not run inline: the turn is a pool thread's own, so the other caller's answer is handled
      // there as well, never sent to its reply actor.
      mine.awaitAssert(() -> {
        assertTrue(handled.byBatch.containsKey(sent), "batch " + sent + " answered");
        assertTrue(handled.byBatch.containsKey(OTHERS_BATCH), "the other caller's answer handled");
        return null;
      });
    }
    other.expectNoMessage(Duration.ofMillis(100));
    mine.expectNoMessage(Duration.ofMillis(10));
  }

  @Test
  void thePlainPoolNeverRunsATurnOnTheCallersThread() {
    kit = ActorTestKit.create(ConfigFactory.parseString(
        "vmap.dispatcher.executor = thread-pool-executor").withFallback(ConfigFactory.load()));
    LocalReplies local = LocalReplies.get(kit.system());
    TestProbe<Replies> mine = kit.createTestProbe();
    TestProbe<Replies> other = kit.createTestProbe();
    Handled handled = new Handled();
    local.register(mine.getRef(), handled::record);
    local.register(other.getRef(), handled::record);
    ActorRef<ClientProtocol.Command> node = kit.spawn(node(local, other.getRef()), "node", Vmap.DISPATCHER);
    Thread me = Thread.currentThread();

    for (long b = 1; b <= 20; b++) {
      CallerRunsExecutor.tell(node, new ClientProtocol.Batch(b, List.of(), mine.getRef()));
      long sent = b;
      Thread on = mine.awaitAssert(() -> {
        Thread t = handled.byBatch.get(sent);
        assertTrue(t != null, "batch " + sent + " answered");
        return t;
      });
      assertNotEquals(me, on);
    }
    other.expectNoMessage(Duration.ofMillis(100));
  }

  /**
   * The allocator on the caller-runs pool, from the test's thread and from four threads at once: a
   * call that finds its node idle is answered before it returns, every answer is right, the space
   * adds up, and purges still run (the coordinator and the nodes' release turns on the pool).
   */
  @Test
  void theAllocatorAnswersCallersOnTheirThreadsAndStillPurges() throws Exception {
    kit = ActorTestKit.create(ConfigFactory.parseString(
        "vmap.dispatcher.executor = \"io.vmap.protocol.CallerRunsExecutor\"").withFallback(ConfigFactory.load()));
    VmapSettings s = VmapSettings.from(ConfigFactory.parseString(
            "vmap.space { start = \"0x100000000\", end = \"0x200000000\", page = 4096, zone = 1 MiB, nodes = 4 }\n"
                + "vmap.purge.lazy-max-pages = 256")
        .withFallback(ConfigFactory.load()));
    vmap = Vmap.embed(kit.system(), s);
    VmapClient c = vmap.client();
    TestProbe<Void> probe = kit.createTestProbe();

    // A warm-up call settles the nodes; then a call to an idle node is done when it returns.
    VmapTestSupport.await(c.alloc(AllocOptions.size(4096).home(1)));
    List<CompletableFuture<Allocation>> tries = new ArrayList<>();
    Allocation done = probe.awaitAssert(Duration.ofSeconds(10), () -> {
      CompletableFuture<Allocation> f = c.alloc(AllocOptions.size(8192).home(1)).toCompletableFuture();
      tries.add(f);
      assertTrue(f.isDone(), "answered before alloc returned");
      return f.join();
    });
    assertEquals(8192, done.area().size());
    long warmUpBytes = 4096;
    for (CompletableFuture<Allocation> f : tries) warmUpBytes += VmapTestSupport.await(f).area().size();

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
