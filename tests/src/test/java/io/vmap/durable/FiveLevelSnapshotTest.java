package io.vmap.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import akka.japi.Pair;
import akka.persistence.testkit.SnapshotMeta;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import io.vmap.actors.Requests;
import io.vmap.chaos.Checker;
import io.vmap.chaos.Inspector;
import io.vmap.chaos.NodeBooks;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.CompactSnapshot;
import io.vmap.state.NodeSnapshot;
import io.vmap.state.NodeState;
import io.vmap.state.OwnedSnapshot;
import io.vmap.state.Policy;
import io.vmap.state.Principal;
import io.vmap.state.RequestKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A durable node of the 12.5 PiB five-level space (cluster-config/five-level.conf: 16 nodes,
 * 26,214,400 zones each) stores snapshots of a few free entries through Kryo, recovers from one with
 * the same free space, and its books pass the fsck; a snapshot in the format stored before free
 * runs (every free block listed) still recovers a node.
 */
class FiveLevelSnapshotTest extends KryoJournal {

  private static final Geometry FIVE_LEVEL =
      new Geometry(0xffa0000000000000L, 0xffd2000000000000L, 4096, 32L << 20, 16);
  private static final Geometry SMALL = new Geometry(0x100000, 0x100000 + 64 * 0x10000L, 4096, 0x10000, 4);


  private TestProbe<PurgeProtocol.Command> coordinator;

  /** Node {@code k} of {@code g}, alone: every other node of the directory is a probe nobody asks. */
  private ActorRef<NodeMessage> spawn(Geometry g, int k, String pid) {
    if (coordinator == null) coordinator = kit.createTestProbe();
    List<ActorRef<NodeMessage>> self = new ArrayList<>();
    RecipientRef<NodeMessage> nobody = kit.<NodeMessage>createTestProbe().getRef();
    NodeDirectory dir = new NodeDirectory() {
      @Override
      public RecipientRef<NodeMessage> node(int n) {
        return n == k ? self.get(0) : nobody;
      }

      @Override
      public int size() {
        return g.nodes();
      }
    };
    ActorRef<NodeMessage> node =
        kit.spawn(VmapNode.create(k, g, NodeSettings.defaults().withSnapshotEvery(3), dir, coordinator.getRef(), pid, null, null));
    self.add(node);
    return node;
  }

  private static Area alloc(ActorRef<NodeMessage> node, Geometry g, String id, long pages) {
    TestProbe<ClientProtocol.Replies> p = kit.createTestProbe();
    node.tell(Requests.one(Requests.alloc(id, AllocSpec.of(g, pages * 4096, 4096, null, null, 0, "t", Policy.NORMAL)), p.getRef()));
    return Requests.reply(p, ClientProtocol.Allocated.class).area();
  }

  private static ClientProtocol.NodeInfo info(ActorRef<NodeMessage> node) {
    TestProbe<ClientProtocol.NodeInfo> p = kit.createTestProbe();
    node.tell(new ClientProtocol.GetInfo(p.getRef()));
    return p.receiveMessage();
  }

  private static NodeBooks books(ActorRef<NodeMessage> node) {
    TestProbe<ClientProtocol.NodeReport> p = kit.createTestProbe();
    node.tell(new ClientProtocol.Inspect(p.getRef()));
    return Inspector.of(p.receiveMessage());
  }

  private static byte[] kryo(Object o) {
    Serialization s = SerializationExtension.get(kit.system());
    Serializer ser = s.findSerializerFor(o);
    return ser.toBinary(o);
  }

  private static Object readBack(Object o) {
    Serialization s = SerializationExtension.get(kit.system());
    Serializer ser = s.findSerializerFor(o);
    return s.deserialize(ser.toBinary(o), ser.identifier(), "").get();
  }

  @Test
  void aFiveLevelNodeSnapshotsAFewEntriesRecoversTheSameFreeSpaceAndPassesTheFsck() {
    String pid = "five-level-" + ++instance;
    ActorRef<NodeMessage> node = spawn(FIVE_LEVEL, 3, pid);
    List<Area> areas = new ArrayList<>();
    for (int i = 0; i < 6; i++) areas.add(alloc(node, FIVE_LEVEL, "a" + i, 1 + i));
    areas.add(alloc(node, FIVE_LEVEL, "zone", FIVE_LEVEL.zone() / 4096)); // a whole zone
    TestProbe<ClientProtocol.Replies> fp = kit.createTestProbe();
    node.tell(Requests.one(Requests.free("free-a1", areas.get(1).start()), fp.getRef()));
    Requests.reply(fp, ClientProtocol.Freed.class);
    kit.createTestProbe().awaitAssert(() -> {
      assertTrue(!snapshots.persistedInStorage(pid).isEmpty(), "a snapshot was stored");
      return null;
    });
    ClientProtocol.NodeInfo before = info(node);
    assertTrue(before.freeBlocks() > 26_000_000, "about one free block per zone: " + before.freeBlocks());

    // The stored snapshot: a few entries, a few hundred bytes of Kryo (the old format: 26 million
    // blocks, over 200 MB even as varints).
    Object stored = snapshots.persistedInStorage(pid).get(0).second();
    CompactSnapshot c = assertInstanceOf(CompactSnapshot.class, stored);
    assertTrue(c.free().size() <= 8, "entries: " + c.free());
    assertEquals(0, c.state().freeStarts().length);
    int bytes = kryo(stored).length;
    assertTrue(bytes < 16_384, "snapshot of " + bytes + " bytes");

    kit.stop(node);
    ActorRef<NodeMessage> again = spawn(FIVE_LEVEL, 3, pid);
    ClientProtocol.NodeInfo after = info(again);
    assertEquals(before.busy(), after.busy());
    assertEquals(before.lazy(), after.lazy());
    assertEquals(before.freeBytes(), after.freeBytes());
    assertEquals(before.freeBlocks(), after.freeBlocks());
    assertEquals(before.largestFreeBlock(), after.largestFreeBlock());

    // Its books come as runs and pass the fsck: free + areas = its zones, nothing overlaps.
    NodeBooks b = books(again);
    assertTrue(b.freeRuns().size() >= 1 && b.freeStarts().length <= 4, "runs: " + b.freeRuns());
    assertEquals(after.freeBlocks(), b.freeBlockCount());
    assertEquals(List.of(), Checker.fsck(FIVE_LEVEL, List.of(b), Duration.ofMinutes(1)));
    // And it goes on allocating where it would have.
    Area next = alloc(again, FIVE_LEVEL, "next", 1);
    assertEquals(areas.get(5).end(), next.start());
  }

  @Test
  void aSnapshotStoredBeforeFreeRunsStillRecoversANode() {
    String pid = "five-level-old-" + ++instance;
    // What an older vmap stored for node 1 of a small space: its state, every free block listed.
    NodeState s = new NodeState(1, SMALL, NodeSettings.defaults().memory());
    Area a = s.allocate(s.findFit(AllocSpec.of(SMALL, 0x3000, 4096, null, null, 0, "t", Policy.NORMAL)),
        new RequestKey(9, 1), Principal.DEFAULT_TENANT);
    FreeRuns f = s.freeRuns();
    List<long[]> blocks = new ArrayList<>();
    for (int i = 0; i < f.size(); i++) f.forEachMember(i, 0, -1L, Long.MAX_VALUE, (x, y) -> blocks.add(new long[] {x, y}));
    long[] fs = blocks.stream().mapToLong(x -> x[0]).toArray();
    long[] fe = blocks.stream().mapToLong(x -> x[1]).toArray();
    NodeSnapshot n = s.snapshot();
    NodeSnapshot old = new NodeSnapshot(n.node(), n.spliceEpoch(), fs, fe, n.busy(), n.spanStarts(), n.spanParts(),
        n.held(), n.reservations(), n.lazy(), n.purging(), n.decisionIds(), n.decisions(), n.clientKeys(),
        n.clientAnswers(), n.attemptKeys(), n.attemptAnswers(), n.abandonedKeys(), n.abandoned(), n.releaseEpoch(),
        n.releasedInEpoch());
    assertTrue(fs.length > f.size(), "the old format lists each untouched zone");
    // Kryo id 207 still reads it.
    NodeSnapshot back = assertInstanceOf(NodeSnapshot.class, readBack(old));
    assertEquals(fs.length, back.freeStarts().length);
    assertEquals(s.freeRuns(), OwnedSnapshot.restore(back, SMALL, NodeSettings.defaults().memory()).freeRuns());

    snapshots.persistForRecovery(pid, List.of(Pair.create(SnapshotMeta.create(1), old)));
    ActorRef<NodeMessage> node = spawn(SMALL, 1, pid);
    ClientProtocol.NodeInfo info = info(node);
    assertEquals(List.of(a), info.busy());
    assertEquals(s.freeBytes(), info.freeBytes());
    assertEquals(s.freeBlocks(), info.freeBlocks());
    NodeBooks b = books(node);
    assertEquals(1, b.freeRuns().size(), "its untouched zones folded back into one run: " + b.freeRuns());
    assertEquals(List.of(), Checker.fsck(SMALL, List.of(b), Duration.ofMinutes(1)));
    // A later snapshot of it is a compact one.
    for (int i = 0; i < 4; i++) alloc(node, SMALL, "later" + i, 1);
    kit.createTestProbe().awaitAssert(() -> {
      assertTrue(snapshots.persistedInStorage(pid).stream().anyMatch(p -> p.second() instanceof CompactSnapshot),
          "a compact snapshot was stored");
      return null;
    });
  }
}
