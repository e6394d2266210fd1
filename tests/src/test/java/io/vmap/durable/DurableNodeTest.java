package io.vmap.durable;

import io.vmap.actors.Requests;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.ClientProtocol;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import akka.persistence.testkit.JournalOperation;
import akka.persistence.testkit.ProcessingPolicy;
import akka.persistence.testkit.ProcessingResult;
import akka.persistence.testkit.ProcessingSuccess$;
import akka.persistence.testkit.WriteEvents;
import akka.persistence.testkit.javadsl.PersistenceTestKit;
import akka.persistence.testkit.javadsl.SnapshotTestKit;
import io.vmap.protocol.NodeDirectory;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.NodeEvent;
import io.vmap.state.Policy;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A durable vmap node on Akka's persistence test kit: what it acknowledged survives a restart
 * (events and snapshots), a journal write failure reaches the client as an error and loses no
 * area, and many requests share one journal write (group commit).
 */
class DurableNodeTest {

  // One node owning a 16-page space: outcomes are exact.
  private static final Geometry G = new Geometry(0x100000, 0x110000, 4096, 0x10000, 1);


  private static ActorTestKit kit;
  private static PersistenceTestKit journal;
  private static SnapshotTestKit snapshots;
  private static int instance;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create(KryoJournal.config());
    journal = PersistenceTestKit.create(kit.system());
    snapshots = SnapshotTestKit.create(kit.system());
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void clean() {
    journal.resetPolicy();
  }

  private String pid;
  private TestProbe<PurgeProtocol.Command> coordinator;

  private ActorRef<NodeMessage> spawnNode(int snapshotEvery) {
    return spawnNode(NodeSettings.defaults().withSnapshotEvery(snapshotEvery));
  }

  private ActorRef<NodeMessage> spawnNode(NodeSettings settings) {
    if (coordinator == null) coordinator = kit.createTestProbe();
    List<ActorRef<NodeMessage>> self = new ArrayList<>();
    NodeDirectory dir =
        new NodeDirectory() {
          @Override
          public RecipientRef<NodeMessage> node(int k) {
            return self.get(0);
          }

          @Override
          public int size() {
            return 1;
          }
        };
    ActorRef<NodeMessage> node =
        kit.spawn(
            VmapNode.create(0, G, settings, dir, coordinator.getRef(), pid, null, null));
    self.add(node);
    return node;
  }

  private static AllocSpec pages(int n) {
    return AllocSpec.of(G, n * 4096L, 4096, null, null, 0, "t", Policy.NORMAL);
  }

  private ClientProtocol.Reply alloc(ActorRef<NodeMessage> node, String id, int pages) {
    TestProbe<ClientProtocol.Replies> p = kit.createTestProbe();
    node.tell(Requests.one(Requests.alloc(id, pages(pages)), p.getRef()));
    return Requests.reply(p);
  }

  private ClientProtocol.NodeInfo info(ActorRef<NodeMessage> node) {
    TestProbe<ClientProtocol.NodeInfo> p = kit.createTestProbe();
    node.tell(new ClientProtocol.GetInfo(p.getRef()));
    return p.receiveMessage();
  }

  private void restart(ActorRef<NodeMessage> node) {
    kit.stop(node);
  }

  @Test
  void acknowledgedAreasAndLazyFreesSurviveARestart() {
    pid = "durable-restart-" + ++instance;
    ActorRef<NodeMessage> node = spawnNode(1000);
    Area a = ((ClientProtocol.Allocated) alloc(node, "a", 2)).area();
    Area b = ((ClientProtocol.Allocated) alloc(node, "b", 3)).area();
    TestProbe<ClientProtocol.Replies> fp = kit.createTestProbe();
    node.tell(Requests.one(Requests.free("free-a", a.start()), fp.getRef()));
    Requests.reply(fp, ClientProtocol.Freed.class);
    ClientProtocol.NodeInfo before = info(node);

    restart(node);
    ActorRef<NodeMessage> again = spawnNode(1000);
    ClientProtocol.NodeInfo after = info(again);
    assertEquals(List.of(b), after.busy());
    assertEquals(1, after.lazy().size());
    assertEquals(a, after.lazy().get(0).area());
    assertEquals(before.freeBytes(), after.freeBytes());
    // A retry of an acknowledged request gets its first answer, not a second area.
    assertEquals(new ClientProtocol.Allocated(Requests.allocKey("b"), b, 0), alloc(again, "b", 3));
    assertEquals(1, info(again).busy().size());
    // The lazily freed space is still not reusable: the next area goes after b.
    Area c = ((ClientProtocol.Allocated) alloc(again, "c", 1)).area();
    assertEquals(b.end(), c.start());
  }

  @Test
  void recoversFromASnapshotPlusLaterEvents() {
    pid = "durable-snapshot-" + ++instance;
    ActorRef<NodeMessage> node = spawnNode(3);
    List<Area> areas = new ArrayList<>();
    for (int i = 0; i < 7; i++) areas.add(((ClientProtocol.Allocated) alloc(node, "s" + i, 1)).area());
    kit.createTestProbe().awaitAssert(() -> {
      assertTrue(!snapshots.persistedInStorage(pid).isEmpty(), "a snapshot was stored");
      return null;
    });
    restart(node);
    ActorRef<NodeMessage> again = spawnNode(3);
    assertEquals(areas, info(again).busy());
    assertEquals(G.spaceBytes() - 7 * 4096L, info(again).freeBytes());
  }

  @Test
  void aJournalWriteFailureIsAnErrorForTheClientAndLosesNoArea() {
    pid = "durable-failure-" + ++instance;
    ActorRef<NodeMessage> node = spawnNode(1000);
    Area first = ((ClientProtocol.Allocated) alloc(node, "ok", 1)).area();
    journal.failNextPersisted(pid);
    TestProbe<ClientProtocol.Replies> p = kit.createTestProbe();
    node.tell(Requests.one(Requests.alloc("lost", pages(1)), p.getRef()));
    ClientProtocol.Failed failed = Requests.reply(p, ClientProtocol.Failed.class);
    assertEquals(ErrorCode.ETIMEDOUT, failed.code());
    p.expectTerminated(node);

    ActorRef<NodeMessage> again = spawnNode(1000);
    // Nothing unacknowledged survived; the retry of the failed request gets one area.
    assertEquals(List.of(first), info(again).busy());
    Area retried = ((ClientProtocol.Allocated) alloc(again, "lost", 1)).area();
    assertEquals(first.end(), retried.start());
    assertEquals(2, info(again).busy().size());
  }

  /** Sends 16 allocations at once; returns the sizes of the journal writes that stored them. */
  private List<Integer> sixteenAllocations(NodeSettings settings) {
    List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    String me = pid;
    journal.withPolicy(
        new ProcessingPolicy<JournalOperation>() {
          @Override
          public ProcessingResult tryProcess(String persistenceId, JournalOperation op) {
            if (persistenceId.equals(me) && op instanceof WriteEvents w) batchSizes.add(eventsIn(w.getBatch()));
            return ProcessingSuccess$.MODULE$;
          }
        });
    ActorRef<NodeMessage> node = spawnNode(settings);
    TestProbe<ClientProtocol.Replies> p = kit.createTestProbe();
    for (int i = 0; i < 16; i++) node.tell(Requests.one(Requests.alloc("g" + i, pages(1)), p.getRef()));
    List<Long> starts = new ArrayList<>();
    for (int i = 0; i < 16; i++) starts.add(Requests.reply(p, ClientProtocol.Allocated.class).area().start());
    assertEquals(16, starts.stream().distinct().count());
    assertEquals(16, eventsIn(journal.persistedInStorage(pid)));
    return batchSizes;
  }

  /** NodeEvents in journal events: a group commit stores its events as one NodeEvent.Batch. */
  private static int eventsIn(List<?> stored) {
    int n = 0;
    for (Object e : stored) n += e instanceof NodeEvent.Batch b ? b.events().size() : 1;
    return n;
  }

  @Test
  void manyRequestsShareOneJournalWrite() {
    pid = "durable-group-" + ++instance;
    List<Integer> batchSizes = sixteenAllocations(NodeSettings.defaults());
    assertTrue(batchSizes.size() < 16, "16 events in " + batchSizes.size() + " writes: " + batchSizes);
    assertNotEquals(0, batchSizes.size());
  }

  @Test
  void withoutGroupCommitEachEventIsItsOwnWrite() {
    pid = "durable-single-" + ++instance;
    List<Integer> batchSizes = sixteenAllocations(NodeSettings.defaults().withMaxBatchEvents(1));
    assertEquals(16, batchSizes.size(), "writes: " + batchSizes);
    assertTrue(batchSizes.stream().allMatch(n -> n == 1), "writes: " + batchSizes);
  }
}
