package io.vmap.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.ManualTime;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Geometry;
import io.vmap.state.ErrorCode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * README "Decisions" 2 through {@link VmapClient} and a durable node's restart: the answer to an
 * allocation is lost on its way back (its batch is acknowledged without it), the client makes
 * thousands of later calls to the node, the node restarts from its journal (events and snapshots
 * through Kryo, Akka's persistence test kit), and the client's timeout check resends the
 * allocation: it gets the area the node gave it first, and the node holds no second one. On the
 * manual clock, so the retry happens exactly when the test advances it.
 */
class LateRetryAcrossRestartTest {

  /** One node owning 16 zones of 64 KiB. */
  private static final Geometry G = new Geometry(0x100000, 0x200000, 4096, 0x10000, 1);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  /** More later calls than the 256 (default) or 512 answers a node used to keep per session. */
  private static final int LATER = 1000;

  private static ActorTestKit kit;
  private static ManualTime time;
  private static int instance;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create(ManualTime.config().withFallback(KryoJournal.config()));
    time = ManualTime.get(kit.system());
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @ParameterizedTest(name = "snapshot every {0} journal writes")
  @ValueSource(ints = {1, 100_000})
  void aLostAnswerRetriedAfterThousandsOfCallsAndARestartGetsItsFirstArea(int snapshotEvery) throws Exception {
    String pid = "late-retry-" + ++instance;
    NodeSettings settings = NodeSettings.defaults().withSnapshotEvery(snapshotEvery);
    TestProbe<PurgeProtocol.Command> coordinator = kit.createTestProbe();
    AtomicReference<ActorRef<NodeMessage>> node = new AtomicReference<>();
    NodeDirectory peers = new NodeDirectory() {
      @Override
      public RecipientRef<NodeMessage> node(int k) {
        return node.get();
      }

      @Override
      public int size() {
        return 1;
      }
    };
    node.set(kit.spawn(VmapNode.create(0, G, settings, peers, coordinator.getRef(), pid, null, null)));
    // Between client and node: the first answer to an allocation is taken out of its batch's Replies.
    TestProbe<Replies> lost = kit.createTestProbe();
    AtomicBoolean armed = new AtomicBoolean(true);
    ActorRef<NodeMessage> proxy = kit.spawn(Behaviors.setup(ctx -> Behaviors.receive(NodeMessage.class)
        .onMessage(ClientProtocol.Batch.class, b -> {
          ActorRef<Replies> client = b.replyTo();
          ActorRef<Replies> back = ctx.spawnAnonymous(Behaviors.receiveMessage((Replies r) -> {
            if (!r.replies().isEmpty() && r.replies().get(0) instanceof ClientProtocol.Allocated a
                && armed.compareAndSet(true, false)) {
              lost.getRef().tell(new Replies(-1, List.of(a)));
              client.tell(new Replies(r.batch(), List.copyOf(r.replies().subList(1, r.replies().size()))));
            } else {
              client.tell(r);
            }
            return Behaviors.stopped();
          }));
          node.get().tell(new ClientProtocol.Batch(b.batch(), b.requests(), back, b.session(), b.ackFloor()));
          return Behaviors.same();
        })
        .onAnyMessage(m -> {
          node.get().tell(m);
          return Behaviors.same();
        })
        .build()));
    VmapClient client = new VmapClient(kit.system(), G, NodeDirectory.of(List.of(proxy)), coordinator.getRef(), TIMEOUT, 1, null);
    try {
      CompletableFuture<Allocation> first = client.alloc(AllocOptions.size(0x3000).tag("first")).toCompletableFuture();
      ClientProtocol.Allocated given = (ClientProtocol.Allocated) lost.receiveMessage(Duration.ofSeconds(30)).replies().get(0);
      for (int i = 0; i < LATER; i++) {
        // Frees inside the first area, not at its start: refused, each answer stored.
        CompletableFuture<?> f = client.free(given.area().start() + 0x1000).toCompletableFuture();
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
            () -> f.get(30, TimeUnit.SECONDS));
        assertEquals(ErrorCode.EINVAL, ((VmapException) e.getCause()).code());
      }
      assertFalse(first.isDone(), "its answer was lost");

      kit.stop(node.get(), Duration.ofSeconds(10));
      node.set(kit.spawn(VmapNode.create(0, G, settings, peers, coordinator.getRef(), pid, null, null)));

      time.timePasses(TIMEOUT.plus(TIMEOUT.dividedBy(4)));
      assertEquals(given.area(), first.get(30, TimeUnit.SECONDS).area(), "the first area, after the restart");
      assertEquals(1, client.retriesSent());
      TestProbe<ClientProtocol.NodeInfo> info = kit.createTestProbe();
      node.get().tell(new ClientProtocol.GetInfo(info.getRef()));
      assertEquals(List.of(given.area()), info.receiveMessage(Duration.ofSeconds(30)).busy(), "no second area");
    } finally {
      client.close();
    }
  }
}
