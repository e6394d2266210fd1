package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.geometry;
import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.TestProbe;
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
 * {@link VmapClient#anyHome}, the home of an HTTP allocation that names no node and has no id: the
 * next node in turn. With durable nodes a thread keeps its node while the client waits for an answer
 * there, so that the allocations it makes meanwhile queue behind the batch in flight and leave as one
 * batch (one journal write); once nothing is outstanding there it takes the next node in turn. The
 * nodes are probes that answer when the test says.
 */
class AnyHomeTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 4);

  private final List<TestProbe<NodeMessage>> n = new ArrayList<>();

  /** A client of four probes standing for durable or volatile nodes. */
  private VmapClient client(boolean durable) {
    Directory dir = new Directory(4);
    for (int k = 0; k < 4; k++) {
      n.add(testKit.createTestProbe(NodeMessage.class));
      dir.set(k, n.get(k).ref());
    }
    TestProbe<PurgeProtocol.Command> coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    return new VmapClient(testKit.system(), G, dir, coordinator.ref(), Duration.ofSeconds(30), 0, null, Quotas.NONE, durable);
  }

  @Test
  void withDurableNodesAThreadKeepsItsNodeWhileItWaitsThereThenTakesTheNextInTurn() throws Exception {
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
      // Another thread, with nothing outstanding anywhere: the next node in turn.
      assertEquals(1, other.submit(client::anyHome).get().intValue());

      answer(first, 0);
      assertEquals(B, await(a).area().start());
      ClientProtocol.Batch second = n.get(0).expectMessageClass(ClientProtocol.Batch.class);
      assertEquals(3, second.requests().size(), "the queued allocations leave as one batch: " + second);
      assertEquals(0, client.anyHome(), "still waiting at node 0");
      answer(second, 1);
      for (CompletableFuture<Allocation> q : queued) await(q);

      // Nothing outstanding at node 0 any more: the next in turn (1 went to the other thread).
      assertEquals(2, client.anyHome());
    } finally {
      other.shutdownNow();
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
