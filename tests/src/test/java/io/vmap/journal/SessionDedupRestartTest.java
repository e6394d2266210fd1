package io.vmap.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Allocated;
import io.vmap.protocol.ClientProtocol.Failed;
import io.vmap.protocol.ClientProtocol.Freed;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.ClientProtocol.Reply;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.Policy;
import io.vmap.state.RequestKey;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DESIGN.md "Sessions and dedup": a request is (session, sequence number), and a retry within the
 * node's window gets the first answer, also after a durable node's restart. One durable vmap node
 * on the H2 journal (cluster-config/journal-h2.conf, a file in a temporary vmap.data-dir), driven
 * at actor level: the test is the client, sending {@link ClientProtocol.Batch}es of session-keyed
 * requests to the node and reading its {@link Replies} with a probe.
 *
 * <p>Each earlier request is resent after the node changed the space so that executing it again
 * would give a different answer: an allocation would get a second area, a free refused with
 * EINVAL (inside an area) would now be ENOENT, a free refused with ENOENT would now free the area
 * allocated at that address since. So an equal answer can only come from the node's remembered
 * first answer. The node is restarted twice: once as an actor in the same ActorSystem (stopped and
 * spawned again under its persistence id), once in a new ActorSystem over the same database file,
 * so nothing but the journal carries the answers across. With a snapshot after every journal write
 * the answers come back through the snapshot; with snapshots rare, through the replayed events.
 */
@org.junit.jupiter.api.Tag("integration")
class SessionDedupRestartTest {

  /** One node owning 16 pages: every placement is exact. */
  private static final Geometry G = new Geometry(0x100000, 0x110000, 4096, 0x10000, 1);

  private static final long PAGE = 4096;
  private static final long SESSION = 0x5e55_10d0_0000_0001L;
  /** The node's persistence id is this plus its number ({@link JournalRestartScenario#rows} counts by it). */
  private static final String PREFIX = "session-dedup-node-";

  /**
   * Bound on any one answer: the first opens the database and recovers the node, which on a loaded
   * machine takes longer than the probe's default 3 s. Not a pass/fail criterion on speed.
   */
  private static final java.time.Duration WAIT = java.time.Duration.ofSeconds(30);

  @TempDir Path dataDir;

  private ActorTestKit kit;
  private TestProbe<PurgeProtocol.Command> coordinator;
  private TestProbe<Replies> client;
  private long batches;

  @AfterEach
  void stopKit() {
    if (kit != null) kit.shutdownTestKit();
  }

  /** A fresh ActorSystem on the H2 file in {@link #dataDir} (the same file every time). */
  private void startSystem() {
    Config c = ConfigFactory.load(
        ConfigFactory.parseMap(Map.of("vmap.data-dir", dataDir.toString(), "vmap.persistence-id-prefix", PREFIX))
            .withFallback(ConfigFactory.parseFile(JournalRestartScenario.clusterConfig("journal-h2.conf"))));
    kit = ActorTestKit.create("session-dedup", c);
    coordinator = kit.createTestProbe(PurgeProtocol.Command.class);
    client = kit.createTestProbe(Replies.class);
  }

  private ActorRef<NodeMessage> spawnNode(int snapshotEvery) {
    List<ActorRef<NodeMessage>> self = new ArrayList<>();
    NodeDirectory dir = new NodeDirectory() {
      @Override
      public RecipientRef<NodeMessage> node(int k) {
        return self.get(0);
      }

      @Override
      public int size() {
        return 1;
      }
    };
    ActorRef<NodeMessage> node = kit.spawn(VmapNode.create(0, G, NodeSettings.defaults().withSnapshotEvery(snapshotEvery),
        dir, coordinator.getRef(), PREFIX + "0", null, null));
    self.add(node);
    return node;
  }

  private static RequestKey key(long seq) {
    return new RequestKey(SESSION, seq);
  }

  private static ClientProtocol.AllocRequest alloc(long seq, long pages, String tag) {
    return new ClientProtocol.AllocRequest(key(seq),
        AllocSpec.of(G, pages * PAGE, PAGE, null, null, 0, tag, Policy.NORMAL));
  }

  private static ClientProtocol.FreeRequest free(long seq, long addr) {
    return new ClientProtocol.FreeRequest(key(seq), addr);
  }

  /** Sends one batch, as a client does, and returns its answers in request order. */
  private List<Reply> send(ActorRef<NodeMessage> node, ClientProtocol.Request... requests) {
    return sendAcknowledging(node, -1, requests);
  }

  /** As {@link #send}, with the client's acknowledgement floor (negative: none). */
  private List<Reply> sendAcknowledging(ActorRef<NodeMessage> node, long floor, ClientProtocol.Request... requests) {
    long id = batches++;
    node.tell(new ClientProtocol.Batch(id, List.of(requests), client.getRef(), SESSION, floor));
    Replies r = client.expectMessageClass(Replies.class, WAIT);
    assertEquals(id, r.batch(), "the answer acknowledges the batch sent");
    assertEquals(requests.length, r.replies().size(), r::toString);
    for (int i = 0; i < requests.length; i++) assertEquals(requests[i].key(), r.replies().get(i).key());
    return r.replies();
  }

  private ClientProtocol.NodeInfo info(ActorRef<NodeMessage> node) {
    TestProbe<ClientProtocol.NodeInfo> p = kit.createTestProbe(ClientProtocol.NodeInfo.class);
    node.tell(new ClientProtocol.GetInfo(p.getRef()));
    return p.receiveMessage(WAIT);
  }

  private static Area area(long startPage, long pages, String tag) {
    return new Area(G.vstart() + startPage * PAGE, G.vstart() + (startPage + pages) * PAGE, tag);
  }

  private static List<Area> lazyAreas(ClientProtocol.NodeInfo i) {
    return i.lazy().stream().map(la -> la.area()).toList();
  }

  @ParameterizedTest(name = "snapshot every {0} journal writes")
  @ValueSource(ints = {1, 1000})
  void aResentSessionRequestGetsItsFirstAnswerAfterRestartsAndANewSequenceNumberIsANewRequest(int snapshotEvery)
      throws Exception {
    startSystem();
    ActorRef<NodeMessage> node = spawnNode(snapshotEvery);

    // ---- first incarnation: answers worth remembering
    Area a = area(0, 2, "a");
    Area b = area(2, 1, "b");
    ClientProtocol.Request[] first = {
      alloc(0, 2, "a"),
      free(1, a.start() + PAGE), // inside a, not its start
      free(2, area(4, 1, "").start()), // nothing there (yet)
      alloc(3, 1, "b"),
    };
    List<Reply> firstAnswers = send(node, first);
    assertEquals(new Allocated(key(0), a, 0), firstAnswers.get(0));
    assertEquals(ErrorCode.EINVAL, ((Failed) firstAnswers.get(1)).code());
    assertEquals(ErrorCode.ENOENT, ((Failed) firstAnswers.get(2)).code());
    assertEquals(new Allocated(key(3), b, 0), firstAnswers.get(3));
    // A retry of the whole batch, before any restart: the same answers, nothing allocated again.
    assertEquals(firstAnswers, send(node, first));
    assertEquals(List.of(a, b), info(node).busy());

    // Change the space so that running those requests again would answer differently: a is freed
    // (lazily: its space stays unusable), and an area now starts where the ENOENT free pointed.
    Area c = area(3, 1, "c");
    Area d = area(4, 1, "d");
    ClientProtocol.Request[] second = {free(4, a.start()), alloc(5, 1, "c"), alloc(6, 1, "d")};
    List<Reply> secondAnswers = send(node, second);
    assertEquals(List.of(new Freed(key(4), a), new Allocated(key(5), c, 0), new Allocated(key(6), d, 0)), secondAnswers);
    ClientProtocol.NodeInfo before = info(node);
    assertEquals(List.of(b, c, d), before.busy());
    assertEquals(List.of(a), lazyAreas(before));
    if (snapshotEvery == 1) {
      // Recovery must go through a snapshot (with its remembered answers): wait until one is stored.
      client.awaitAssert(WAIT, () -> {
        try {
          assertTrue(JournalRestartScenario.rows(kit.system().settings().config(), "snapshot") > 0, "a snapshot is stored");
        } catch (java.sql.SQLException e) {
          throw new AssertionError(e);
        }
        return null;
      });
    }

    // ---- restart 1: the node actor stops and is spawned again in this ActorSystem
    kit.stop(node);
    node = spawnNode(snapshotEvery);
    assertResentAnswersAreTheFirst(node, first, firstAnswers, second, secondAnswers, before);

    // A new sequence number is a new request, even for the same operation on the same address:
    // d is freed now, and an allocation like a's gets a new area (a and d are lazy: not reusable).
    Area e = area(5, 2, "a");
    ClientProtocol.Request[] third = {free(7, d.start()), alloc(8, 2, "a"), free(9, d.start())};
    List<Reply> thirdAnswers = send(node, third);
    assertEquals(new Freed(key(7), d), thirdAnswers.get(0));
    assertEquals(new Allocated(key(8), e, 0), thirdAnswers.get(1));
    assertEquals(ErrorCode.ENOENT, ((Failed) thirdAnswers.get(2)).code(), "d was freed by seq 7");
    ClientProtocol.NodeInfo later = info(node);
    assertEquals(List.of(b, c, e), later.busy());
    assertEquals(List.of(a, d), lazyAreas(later).stream().sorted((x, y) -> Long.compareUnsigned(x.start(), y.start())).toList());

    // ---- restart 2: a new ActorSystem over the same database file
    kit.shutdownTestKit();
    kit = null;
    startSystem();
    node = spawnNode(snapshotEvery);
    assertEquals(thirdAnswers, send(node, third), "seq 7-9 resent after the second restart");
    assertResentAnswersAreTheFirst(node, first, firstAnswers, second, secondAnswers, later);
  }

  /**
   * README "Decisions" 2: the answer a client still waits for is kept however many later requests
   * were answered (here 3,000, far past the 512 a node used to keep), across restarts; once the
   * client acknowledged it, a copy of the request is refused with ESTALE, also after a restart,
   * and never executed again.
   */
  @ParameterizedTest(name = "snapshot every {0} journal writes")
  @ValueSource(ints = {1, 1000})
  void anAnswerTheClientWaitsForOutlivesThousandsOfLaterRequestsAndRestartsAndAnAcknowledgedOneIsRefused(
      int snapshotEvery) throws Exception {
    startSystem();
    ActorRef<NodeMessage> node = spawnNode(snapshotEvery);
    Area a = area(0, 1, "lost");
    ClientProtocol.Request lost = alloc(0, 1, "lost");
    assertEquals(List.of(new Allocated(key(0), a, 0)), sendAcknowledging(node, 0, lost)); // then "lost"
    int later = 3000;
    long seq = 1;
    while (seq <= later) {
      ClientProtocol.Request[] batch = new ClientProtocol.Request[100];
      for (int i = 0; i < batch.length; i++) batch[i] = free(seq++, a.start() + PAGE); // nothing there: ENOENT
      for (Reply r : sendAcknowledging(node, 0, batch)) assertEquals(ErrorCode.ENOENT, ((Failed) r).code());
    }
    if (snapshotEvery == 1) awaitSnapshot();

    kit.stop(node);
    node = spawnNode(snapshotEvery);
    assertEquals(List.of(new Allocated(key(0), a, 0)), sendAcknowledging(node, 0, lost), "the first answer after a restart");
    assertEquals(List.of(a), info(node).busy(), "no second area");

    // The client got it now: its next batch acknowledges everything below it.
    Area b = area(1, 1, "b");
    long next = later + 1;
    assertEquals(List.of(new Allocated(key(next), b, 0)), sendAcknowledging(node, next, alloc(next, 1, "b")));
    if (snapshotEvery == 1) awaitSnapshot();

    kit.shutdownTestKit();
    kit = null;
    startSystem();
    node = spawnNode(snapshotEvery);
    assertEquals(ErrorCode.ESTALE, ((Failed) send(node, lost).get(0)).code(), "acknowledged: refused, not run again");
    assertEquals(ErrorCode.ESTALE, ((Failed) send(node, free(5, a.start() + PAGE)).get(0)).code());
    assertEquals(List.of(new Allocated(key(next), b, 0)), send(node, alloc(next, 1, "b")), "still waited for: kept");
    assertEquals(List.of(a, b), info(node).busy());
  }

  private void awaitSnapshot() {
    client.awaitAssert(WAIT, () -> {
      try {
        assertTrue(JournalRestartScenario.rows(kit.system().settings().config(), "snapshot") > 0, "a snapshot is stored");
      } catch (java.sql.SQLException e) {
        throw new AssertionError(e);
      }
      return null;
    });
  }

  /** Resends both earlier batches (also one request at a time): the first answers, no change. */
  private void assertResentAnswersAreTheFirst(ActorRef<NodeMessage> node, ClientProtocol.Request[] first,
      List<Reply> firstAnswers, ClientProtocol.Request[] second, List<Reply> secondAnswers,
      ClientProtocol.NodeInfo expected) {
    assertEquals(firstAnswers, send(node, first), "seq 0-3 resent after a restart");
    assertEquals(secondAnswers, send(node, second), "seq 4-6 resent after a restart");
    for (int i = first.length - 1; i >= 0; i--) {
      assertEquals(List.of(firstAnswers.get(i)), send(node, first[i]), "seq " + i + " resent alone");
    }
    ClientProtocol.NodeInfo now = info(node);
    assertEquals(expected.busy(), now.busy(), "resent requests allocate or free nothing");
    assertEquals(expected.lazy().size(), now.lazy().size());
    assertEquals(expected.freeBytes(), now.freeBytes());
  }
}
