package io.vmap.actors;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.ClientProtocol;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.geometry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import io.vmap.state.Part;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md "Lookup": a find asks nodeOf(addr) and fans out only to nodes that could hold the start
 * of an area covering addr. The node under test is spawned with probes as its peers, so every
 * message it sends to another node is seen.
 *
 * <p>Geometry: 4 nodes, 8 zones of 64 KiB from B = 0x100000; node k owns zones B + k*Z and
 * B + (k+4)*Z. The spanning area S = [B + Z/2, B + Z + Z/2) starts on node 0 and has its later
 * piece [B + Z, B + Z + Z/2) on node 1.
 *
 * <p>"No other node was asked" is asserted with markers: once the node under test has answered a
 * later request, whatever it sent a peer before is queued at that peer's probe, so a marker sent
 * then must be the peer's next message.
 */
class FindFanOutTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 8, 4);
  static final Area S = new Area(B + ZONE / 2, B + ZONE + ZONE / 2, "span");
  static final List<Part> S_PARTS =
      List.of(new Part(0, B + ZONE / 2, B + ZONE), new Part(1, B + ZONE, B + ZONE + ZONE / 2));

  TestProbe<NodeMessage> p0;
  TestProbe<NodeMessage> p2;
  TestProbe<NodeMessage> p3;
  TestProbe<PurgeProtocol.Command> coordinator;
  TestProbe<ClientProtocol.Replies> asker;
  TestProbe<PeerProtocol.ReserveReply> reserves;

  @BeforeEach
  void probes() {
    p0 = testKit.createTestProbe(NodeMessage.class);
    p2 = testKit.createTestProbe(NodeMessage.class);
    p3 = testKit.createTestProbe(NodeMessage.class);
    coordinator = testKit.createTestProbe(PurgeProtocol.Command.class);
    asker = testKit.createTestProbe(ClientProtocol.Replies.class);
    reserves = testKit.createTestProbe(PeerProtocol.ReserveReply.class);
  }

  private ActorRef<NodeMessage> spawnNode(int k, Directory dir) {
    ActorRef<NodeMessage> ref =
        testKit.spawn(
            VmapTestSupport.volatileNode(k, G, NodeSettings.defaults().withLease(Duration.ofSeconds(30)), dir, coordinator.ref()));
    dir.set(k, ref);
    return ref;
  }

  /** Node 1 holds S's later piece as a committed part (start owner 0 is told nothing). */
  private void holdLaterPieceOfS(ActorRef<NodeMessage> n1) {
    n1.tell(new PeerProtocol.Reserve(VmapTestSupport.reservation("r-span", S), 0, List.of(S_PARTS.get(1)), S_PARTS, 30_000, reserves.ref()));
    PeerProtocol.ReserveReply r = reserves.expectMessageClass(PeerProtocol.ReserveReply.class);
    assertTrue(r.ok(), () -> "reserve refused: " + r.reason());
    n1.tell(new PeerProtocol.CommitPart(VmapTestSupport.reservation("r-span", S)));
  }

  /**
   * {@code node} sent nothing to these peers (nor to the coordinator) while handling what it was
   * sent before: it answers a find of one of its own addresses (one no other node could cover)
   * first, then each probe's next message must be a marker.
   */
  @SafeVarargs
  private void nothingToPeers(ActorRef<NodeMessage> node, long ownAddr, TestProbe<NodeMessage>... peers) {
    TestProbe<ClientProtocol.Replies> sync = testKit.createTestProbe(ClientProtocol.Replies.class);
    node.tell(Requests.one(Requests.find(ownAddr), sync.ref()));
    assertEquals(ownAddr, Requests.reply(sync, ClientProtocol.Found.class).addr());
    for (TestProbe<NodeMessage> p : peers) nothingBefore(p, new NodeMessage.Wake());
    nothingBefore(coordinator, new PurgeProtocol.LazyFreed(-1, -1));
  }

  /** {@code node} answered {@code asker} nothing before: its answer to a find of its own address comes first. */
  private void nothingToAsker(ActorRef<NodeMessage> node, long ownAddr) {
    node.tell(Requests.one(Requests.find(ownAddr), asker.ref()));
    assertEquals(ownAddr, Requests.reply(asker, ClientProtocol.Found.class).addr(),
        "the asker's next answer must be the one to this find");
  }

  @Test
  void aMissWithNothingCoveringAsksNoOtherNode() {
    Directory dir = new Directory(4).set(0, p0.ref()).set(2, p2.ref()).set(3, p3.ref());
    ActorRef<NodeMessage> n1 = spawnNode(1, dir);

    for (long addr : new long[] {B + ZONE, B + ZONE + 0x1234, B + 2 * ZONE - 1, B + 5 * ZONE, B + 6 * ZONE - 1}) {
      n1.tell(Requests.one(Requests.find(addr), asker.ref()));
      ClientProtocol.Found r = Requests.reply(asker, ClientProtocol.Found.class);
      assertEquals(addr, r.addr());
      assertFalse(r.found());
    }
    nothingToPeers(n1, B + 5 * ZONE, p0, p2, p3);
  }

  @Test
  void aMissBesideAHeldPieceStillAsksNoOtherNode() {
    Directory dir = new Directory(4).set(0, p0.ref()).set(2, p2.ref()).set(3, p3.ref());
    ActorRef<NodeMessage> n1 = spawnNode(1, dir);
    holdLaterPieceOfS(n1);

    // Addresses of node 1's zones that S's piece does not cover.
    for (long addr : new long[] {S.end(), S.end() + 0x1000, B + 2 * ZONE - 1, B + 5 * ZONE}) {
      n1.tell(Requests.one(Requests.find(addr), asker.ref()));
      assertNull(Requests.reply(asker, ClientProtocol.Found.class).area());
    }
    nothingToPeers(n1, B + 5 * ZONE, p0, p2, p3);
  }

  @Test
  void aFindInTheLaterPieceOfASpanningAreaAsksExactlyTheStartOwner() {
    Directory dir = new Directory(4).set(0, p0.ref()).set(2, p2.ref()).set(3, p3.ref());
    ActorRef<NodeMessage> n1 = spawnNode(1, dir);
    holdLaterPieceOfS(n1);

    long addr = B + ZONE + 0x2345;
    n1.tell(Requests.one(Requests.find(addr), asker.ref()));
    PeerProtocol.FindHere fh = p0.expectMessageClass(PeerProtocol.FindHere.class);
    assertEquals(addr, fh.addr());
    // The start owner answers the asker directly.
    assertEquals(asker.ref(), fh.replyTo());
    nothingToPeers(n1, B + 5 * ZONE, p0, p2, p3);
    nothingToAsker(n1, B + 5 * ZONE);

    // The first and last byte of the piece fan out the same way, to node 0 only.
    for (long a : new long[] {B + ZONE, S.end() - 1}) {
      n1.tell(Requests.one(Requests.find(a), asker.ref()));
      assertEquals(a, p0.expectMessageClass(PeerProtocol.FindHere.class).addr());
    }
    nothingToPeers(n1, B + 5 * ZONE, p0, p2, p3);
  }

  @Test
  void aFindInTheLaterPieceIsAnsweredWithTheWholeArea() {
    Directory dir = new Directory(4).set(2, p2.ref()).set(3, p3.ref());
    ActorRef<NodeMessage> n0 = spawnNode(0, dir);
    ActorRef<NodeMessage> n1 = spawnNode(1, dir);

    // Play the spanning coordinator: reserve on both owners, commit at the start owner, then the part.
    n0.tell(new PeerProtocol.Reserve(VmapTestSupport.reservation("r-span", S), 0, List.of(S_PARTS.get(0)), S_PARTS, 30_000, reserves.ref()));
    n1.tell(new PeerProtocol.Reserve(VmapTestSupport.reservation("r-span", S), 0, List.of(S_PARTS.get(1)), S_PARTS, 30_000, reserves.ref()));
    assertTrue(reserves.expectMessageClass(PeerProtocol.ReserveReply.class).ok());
    assertTrue(reserves.expectMessageClass(PeerProtocol.ReserveReply.class).ok());
    TestProbe<PeerProtocol.CommitReply> commits = testKit.createTestProbe(PeerProtocol.CommitReply.class);
    n0.tell(new PeerProtocol.CommitArea(VmapTestSupport.reservation("r-span", S), commits.ref()));
    assertTrue(commits.expectMessageClass(PeerProtocol.CommitReply.class).committed());
    n1.tell(new PeerProtocol.CommitPart(VmapTestSupport.reservation("r-span", S)));

    for (long addr : new long[] {B + ZONE, B + ZONE + 0x4321, S.end() - 1}) {
      n1.tell(Requests.one(Requests.find(addr), asker.ref()));
      ClientProtocol.Found r = Requests.reply(asker, ClientProtocol.Found.class);
      assertEquals(addr, r.addr());
      assertEquals(S, r.area());
      assertEquals(0, r.node());
    }
    // Asked at the wrong node (0), an address of node 1's piece: forwarded, then fanned back.
    n0.tell(Requests.one(Requests.find(B + ZONE + 8), asker.ref()));
    assertEquals(S, Requests.reply(asker, ClientProtocol.Found.class).area());
    // An address in the start piece is answered by node 0 directly.
    n0.tell(Requests.one(Requests.find(S.start()), asker.ref()));
    assertEquals(S, Requests.reply(asker, ClientProtocol.Found.class).area());
    n1.tell(Requests.one(Requests.find(S.end()), asker.ref()));
    assertFalse(Requests.reply(asker, ClientProtocol.Found.class).found());
    nothingToPeers(n1, B + 5 * ZONE, p2, p3);
  }

  @Test
  void aFindOfAnotherNodesAddressIsForwardedToThatNodeOnly() {
    Directory dir = new Directory(4).set(0, p0.ref()).set(2, p2.ref()).set(3, p3.ref());
    ActorRef<NodeMessage> n1 = spawnNode(1, dir);

    long addr = B + 6 * ZONE + 0x10; // node 2's second zone
    n1.tell(Requests.one(Requests.find(addr), asker.ref()));
    ClientProtocol.Batch fwd = p2.expectMessageClass(ClientProtocol.Batch.class);
    assertEquals(addr, ((ClientProtocol.FindRequest) fwd.requests().get(0)).addr());
    assertEquals(asker.ref(), fwd.replyTo());
    nothingToPeers(n1, B + 5 * ZONE, p0, p2, p3);
    nothingToAsker(n1, B + 5 * ZONE);
  }
}
