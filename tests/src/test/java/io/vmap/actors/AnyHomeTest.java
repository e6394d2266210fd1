package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.geometry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import com.typesafe.config.ConfigFactory;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapClient;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.Quotas;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A client's homes for allocations that name none. {@link VmapClient#anyHome}, the home of an HTTP
 * allocation without a node or an id: the next node in turn; with durable nodes every thread keeps
 * the client's node while the client waits for an answer there, so that the allocations made
 * meanwhile queue behind the batch in flight and leave as one batch (one journal write); once
 * nothing is outstanding there the next node in turn. The default home of a caller's own thread: its
 * own node with volatile nodes, and with durable nodes one node for all of the client's threads,
 * the next in turn every 1,024 allocations. The nodes are probes that answer when the test says.
 */
class AnyHomeTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 4);

  private final List<TestProbe<NodeMessage>> n = new ArrayList<>();

  /** A client of four probes standing for durable or volatile nodes. */
  private VmapClient client(boolean durable) {
    return client(testKit, durable);
  }

  private VmapClient client(ActorTestKit kit, boolean durable) {
    n.clear();
    Directory dir = new Directory(4);
    for (int k = 0; k < 4; k++) {
      n.add(kit.createTestProbe(NodeMessage.class));
      dir.set(k, n.get(k).ref());
    }
    TestProbe<PurgeProtocol.Command> coordinator = kit.createTestProbe(PurgeProtocol.Command.class);
    return new VmapClient(kit.system(), G, dir, coordinator.ref(), Duration.ofSeconds(30), 0, null, Quotas.NONE, durable);
  }

  @Test
  void withDurableNodesEveryThreadKeepsTheClientsNodeWhileItWaitsThereThenTakesTheNextInTurn() throws Exception {
    VmapClient client = client(true);
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      int home = client.anyHome();
      assertEquals(0, home, "the first in turn");
      CompletableFuture<Allocation> a = client.alloc(AllocOptions.size(0x1000).home(home)).toCompletableFuture();
      ClientProtocol.Batch first = n.get(0).expectMessageClass(ClientProtocol.Batch.class);

      // While a waits at node 0, this thread's allocations go there too and queue for one batch.
      List<CompletableFuture<Allocation>> queued = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        int again = client.anyHome();
        assertEquals(0, again, "allocation " + i + " while node 0 has not answered");
        queued.add(client.alloc(AllocOptions.size(0x1000).home(again)).toCompletableFuture());
      }
      // Another thread, with nothing outstanding anywhere itself: the client's node too.
      assertEquals(0, other.submit(client::anyHome).get().intValue());

      answer(first, 0);
      assertEquals(B, await(a).area().start());
      ClientProtocol.Batch second = n.get(0).expectMessageClass(ClientProtocol.Batch.class);
      assertEquals(3, second.requests().size(), "the queued allocations leave as one batch: " + second);
      assertEquals(0, client.anyHome(), "still waiting at node 0");
      answer(second, 1);
      for (CompletableFuture<Allocation> q : queued) await(q);

      // Nothing outstanding at node 0 any more: the next in turn.
      assertEquals(1, client.anyHome());
    } finally {
      other.shutdownNow();
      client.close();
    }
  }

  @Test
  void withDurableNodesTheClientsNodeTakesOneTurnOfAllocationsWhileItWaits() {
    VmapClient client = client(true);
    try {
      CompletableFuture<Allocation> a = client.alloc(AllocOptions.size(0x1000).home(client.anyHome())).toCompletableFuture();
      ClientProtocol.Batch first = n.get(0).expectMessageClass(ClientProtocol.Batch.class);
      for (int i = 2; i <= 1024; i++) assertEquals(0, client.anyHome(), "allocation " + i + ", the client waiting at node 0");
      assertEquals(1, client.anyHome(), "the 1,025th: the next node in turn, although the client still waits at node 0");
      answer(first, 0);
      await(a);
    } finally {
      client.close();
    }
  }

  @ParameterizedTest(name = "durable {0}")
  @ValueSource(booleans = {true, false})
  void callsOneAtATimeGoRoundEveryNode(boolean durable) {
    VmapClient client = client(durable);
    try {
      for (int i = 0; i < 8; i++) {
        int home = client.anyHome();
        assertEquals(i % 4, home, "call " + i);
        CompletableFuture<Allocation> a = client.alloc(AllocOptions.size(0x1000).home(home)).toCompletableFuture();
        answer(n.get(home).expectMessageClass(ClientProtocol.Batch.class), i);
        await(a);
      }
    } finally {
      client.close();
    }
  }

  @Test
  void withVolatileNodesEveryCallTakesTheNextInTurnEvenWhileOneWaits() {
    VmapClient client = client(false);
    try {
      CompletableFuture<Allocation> a = client.alloc(AllocOptions.size(0x1000).home(client.anyHome())).toCompletableFuture();
      ClientProtocol.Batch first = n.get(0).expectMessageClass(ClientProtocol.Batch.class);
      // A volatile node answers in microseconds; a call sent alone may run an idle node's turn on
      // its own thread, which a call queued behind another does not.
      assertEquals(1, client.anyHome());
      assertEquals(2, client.anyHome());
      answer(first, 0);
      await(a);
    } finally {
      client.close();
    }
  }

  @Test
  void withDurableNodesEveryThreadAllocatesOnTheClientsHomeAndItMovesOnInTurn() throws Exception {
    VmapClient client = client(true);
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      // Without a home: this thread's and another thread's allocations all go to node 0 and
      // leave as batches there, none to a node of the other thread's own.
      CompletableFuture<Allocation> a = client.alloc(AllocOptions.size(0x1000)).toCompletableFuture();
      ClientProtocol.Batch first = n.get(0).expectMessageClass(ClientProtocol.Batch.class);
      CompletableFuture<Allocation> b = other.submit(() -> client.alloc(AllocOptions.size(0x1000)).toCompletableFuture()).get();
      List<CompletableFuture<Allocation>> mine = new ArrayList<>();
      for (int i = 2; i < 1024; i++) mine.add(client.alloc(AllocOptions.size(0x1000)).toCompletableFuture());
      for (int k = 1; k < 4; k++) n.get(k).expectNoMessage(Duration.ofMillis(50));
      answer(first, 0);
      await(a);
      // Both threads' allocations queued behind the first and leave in batches at node 0 (at most
      // vmap.client.max-batch each): the queue holds one batch while another is out.
      ClientProtocol.Batch second = n.get(0).expectMessageClass(ClientProtocol.Batch.class);
      assertEquals(256, second.requests().size(), "a full batch");

      // The 1025th allocation without a home goes to the next node in turn, busy or not.
      CompletableFuture<Allocation> next = client.alloc(AllocOptions.size(0x1000)).toCompletableFuture();
      ClientProtocol.Batch atOne = n.get(1).expectMessageClass(ClientProtocol.Batch.class);
      assertEquals(1, atOne.requests().size());
      answer(atOne, 1024);
      int atZero = 1 + second.requests().size();
      for (ClientProtocol.Batch batch = second; ; batch = n.get(0).expectMessageClass(ClientProtocol.Batch.class)) {
        if (batch != second) atZero += batch.requests().size();
        answer(batch, atZero);
        if (atZero == 1024) break;
      }
      n.get(0).expectNoMessage(Duration.ofMillis(50));
      await(b);
      for (CompletableFuture<Allocation> f : mine) await(f);
      await(next);
    } finally {
      other.shutdownNow();
      client.close();
    }
  }

  @Test
  void withVolatileNodesEachThreadAllocatesOnItsOwnNode() throws Exception {
    VmapClient client = client(false);
    try {
      assertEachThreadAllocatesOnItsOwnNode(client);
    } finally {
      client.close();
    }
  }

  /** This thread's default-home allocation goes to node 0, another thread's to node 1. */
  private void assertEachThreadAllocatesOnItsOwnNode(VmapClient client) throws Exception {
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      CompletableFuture<Allocation> a = client.alloc(AllocOptions.size(0x1000)).toCompletableFuture();
      ClientProtocol.Batch first = n.get(0).expectMessageClass(ClientProtocol.Batch.class);
      CompletableFuture<Allocation> b = other.submit(() -> client.alloc(AllocOptions.size(0x1000)).toCompletableFuture()).get();
      ClientProtocol.Batch theirs = n.get(1).expectMessageClass(ClientProtocol.Batch.class);
      answer(first, 0);
      answer(theirs, 1);
      await(a);
      await(b);
    } finally {
      other.shutdownNow();
    }
  }

  @Test
  void durableHomeTurnZeroGivesEachThreadItsOwnNodeAndANegativeOneIsRefusedByName() throws Exception {
    ActorTestKit perThread = ActorTestKit.create(ConfigFactory.parseString("vmap.client.durable-home-turn = 0")
        .withFallback(ActorTestKit.applicationTestConfig()));
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      VmapClient client = client(perThread, true);
      assertEachThreadAllocatesOnItsOwnNode(client);
      // anyHome: a thread keeps its own node while the client waits there; another takes the next.
      int home = client.anyHome();
      CompletableFuture<Allocation> a = client.alloc(AllocOptions.size(0x1000).home(home)).toCompletableFuture();
      ClientProtocol.Batch first = n.get(home).expectMessageClass(ClientProtocol.Batch.class);
      assertEquals(home, client.anyHome());
      assertEquals((home + 1) % 4, other.submit(client::anyHome).get().intValue());
      answer(first, 2);
      await(a);
      client.close();
    } finally {
      other.shutdownNow();
      perThread.shutdownTestKit();
    }
    ActorTestKit negative = ActorTestKit.create(ConfigFactory.parseString("vmap.client.durable-home-turn = -1")
        .withFallback(ActorTestKit.applicationTestConfig()));
    try {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> client(negative, true));
      assertTrue(e.getMessage().contains("vmap.client.durable-home-turn: -1"), e.getMessage());
    } finally {
      negative.shutdownTestKit();
    }
  }

  /** Answers every allocation of {@code batch} with a page of its own (the {@code k}-th and on). */
  private static void answer(ClientProtocol.Batch batch, int k) {
    List<ClientProtocol.Reply> replies = new ArrayList<>();
    for (ClientProtocol.Request r : batch.requests()) {
      long start = B + (long) (k + replies.size()) * 0x1000;
      replies.add(new ClientProtocol.Allocated(r.key(), new Area(start, start + 0x1000, ""), 0));
    }
    batch.replyTo().tell(new ClientProtocol.Replies(batch.batch(), replies));
  }
}
