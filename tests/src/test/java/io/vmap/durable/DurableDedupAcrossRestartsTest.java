package io.vmap.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.FishingOutcomes;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import io.vmap.actors.Requests;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.AttemptId;
import io.vmap.state.ErrorCode;
import io.vmap.state.HeldPart;
import io.vmap.state.Policy;
import io.vmap.state.ReleasePiece;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The two windows README "Known limits" named, closed: what a durable node remembers to refuse a
 * late copy of a message survives its restart.
 *
 * <ul>
 *   <li>A release batch: a part owner restarted between two copies of one batch must not free,
 *       with the second copy, a newer part with the same boundaries and tag (the per-epoch release
 *       memory is derived from the node's stored PiecesReleased events, and in its snapshots).
 *   <li>A neighbour attempt: after the neighbour and the home both restart, a late copy of an
 *       attempt that failed (its client was told ENOSPC) must not place an area, and nothing may be
 *       adopted by that request.
 * </ul>
 *
 * Two durable nodes on Akka's persistence test kit (events and snapshots through Kryo); a probe
 * plays the purge coordinator and the network's late copies.
 */
class DurableDedupAcrossRestartsTest extends KryoJournal {

  /** Two nodes, 64 KiB zones alternating 0, 1, 0, 1 over 256 KiB. */
  private static final Geometry G = new Geometry(0x100000, 0x140000, 4096, 0x10000, 2);


  /** Two durable nodes whose directory follows their restarts. */
  private static final class Nodes {
    final String prefix = "dedup-" + ++instance + "-";
    final NodeSettings settings;
    final TestProbe<PurgeProtocol.Command> coordinator = kit.createTestProbe();
    final List<ActorRef<NodeMessage>> refs = new ArrayList<>(List.of(kit.<NodeMessage>createTestProbe().getRef(),
        kit.<NodeMessage>createTestProbe().getRef()));
    final NodeDirectory directory = new NodeDirectory() {
      @Override
      public RecipientRef<NodeMessage> node(int k) {
        return refs.get(k);
      }

      @Override
      public int size() {
        return 2;
      }
    };

    Nodes(NodeSettings settings) {
      this.settings = settings;
      spawn(0);
      spawn(1);
    }

    void spawn(int k) {
      refs.set(k, kit.spawn(VmapNode.create(k, G, settings, directory, coordinator.getRef(), prefix + k, null, null)));
    }

    /** Stops node k (its journal child too) and starts it again: it recovers from what was stored. */
    void restart(int k) {
      kit.stop(refs.get(k), Duration.ofSeconds(10));
      spawn(k);
    }

    ActorRef<NodeMessage> node(int k) {
      return refs.get(k);
    }

    ClientProtocol.Reply alloc(int home, String id, long size, Long vstart) {
      TestProbe<ClientProtocol.Replies> p = kit.createTestProbe();
      AllocSpec spec = AllocSpec.of(G, size, 4096, vstart, null, home, "t", Policy.NORMAL);
      node(home).tell(Requests.one(Requests.alloc(id, spec), p.getRef()));
      return reply(p);
    }

    /** The one answer in the next Replies (a walk and a spanning search may take a while on a loaded machine). */
    ClientProtocol.Reply reply(TestProbe<ClientProtocol.Replies> p) {
      ClientProtocol.Replies r = p.expectMessageClass(ClientProtocol.Replies.class, Duration.ofSeconds(30));
      assertEquals(1, r.replies().size(), r::toString);
      return r.replies().get(0);
    }

    Area allocated(int home, String id, long size, Long vstart) {
      return ((ClientProtocol.Allocated) alloc(home, id, size, vstart)).area();
    }

    void free(int k, String id, long start) {
      TestProbe<ClientProtocol.Replies> p = kit.createTestProbe();
      node(k).tell(Requests.one(Requests.free(id, start), p.getRef()));
      assertTrue(reply(p) instanceof ClientProtocol.Freed);
    }

    ClientProtocol.NodeReport books(int k) {
      TestProbe<ClientProtocol.NodeReport> p = kit.createTestProbe();
      node(k).tell(new ClientProtocol.Inspect(p.getRef()));
      return p.receiveMessage(Duration.ofSeconds(10));
    }

    /** The next message of {@code type} the coordinator probe gets (the nodes also report frees to it). */
    <T> T fromNode(Class<T> type) {
      PurgeProtocol.Command[] got = new PurgeProtocol.Command[1];
      coordinator.fishForMessage(Duration.ofSeconds(10), "a " + type.getSimpleName(), m -> {
        if (!type.isInstance(m)) return FishingOutcomes.continueAndIgnore();
        got[0] = m;
        return FishingOutcomes.complete();
      });
      return type.cast(got[0]);
    }

    void splice(int k, long epoch) {
      node(k).tell(new PurgeProtocol.SpliceLazy(epoch, coordinator.getRef()));
      assertEquals(epoch, fromNode(PurgeProtocol.Spliced.class).epoch());
    }

    PurgeProtocol.Released release(int k, PurgeProtocol.ReleasePieces batch) {
      node(k).tell(batch);
      PurgeProtocol.Released r = fromNode(PurgeProtocol.Released.class);
      assertEquals(batch.batch(), r.batch());
      return r;
    }
  }

  @Test
  void aLateCopyOfAReleaseBatchAfterARestartFreesNothingNewRecoveredFromEvents() {
    lateReleaseCopyAfterRestart(NodeSettings.defaults().withSnapshotEvery(10_000));
  }

  @Test
  void aLateCopyOfAReleaseBatchAfterARestartFreesNothingNewRecoveredFromASnapshot() {
    Nodes n = lateReleaseCopyAfterRestart(NodeSettings.defaults().withSnapshotEvery(1));
    assertFalse(snapshots.persistedInStorage(n.prefix + 1).isEmpty(), "node 1 recovered from a snapshot");
  }

  /**
   * A1 spans zones 0 (node 0) and 1 (node 1); it is freed and purged in epoch 1, node 1 releasing its
   * held part with batch 7. A2, allocated next with the same size and tag, lies exactly where A1 did,
   * so node 1 holds a part with the same boundaries, area and tag. Node 1 restarts; a second copy of
   * batch 7 arrives. It must release nothing: A2 is live.
   */
  private Nodes lateReleaseCopyAfterRestart(NodeSettings settings) {
    Nodes n = new Nodes(settings);
    long size = 0x18000; // 96 KiB: more than a zone, so it spans zones 0 and 1
    Area a1 = n.allocated(0, "a1", size, null);
    assertEquals(new Area(0x100000, 0x118000, "t"), a1);
    n.free(0, "free-a1", a1.start());
    n.splice(0, 1);
    n.splice(1, 1);
    ReleasePiece held = new ReleasePiece(a1.start(), 0x110000, 0x118000);
    PurgeProtocol.ReleasePieces batch7 =
        new PurgeProtocol.ReleasePieces(1, List.of(held), n.coordinator.getRef(), 7, List.of(a1));
    assertEquals(0x8000, n.release(1, batch7).bytes(), "the first copy releases node 1's part");
    PurgeProtocol.ReleasePieces batch8 = new PurgeProtocol.ReleasePieces(1,
        List.of(new ReleasePiece(a1.start(), a1.start(), 0x110000)), n.coordinator.getRef(), 8, List.of(a1));
    assertEquals(1, n.release(0, batch8).areas());

    Area a2 = n.allocated(0, "a2", size, null);
    assertEquals(a1, a2, "the newer area has the same boundaries and tag");
    // Node 1 learns of the commit from node 0 (CommitPart): wait until it holds A2's part.
    HeldPart newer = kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      List<HeldPart> h = n.books(1).held();
      assertEquals(1, h.size(), "node 1 holds A2's part: " + h);
      return h.get(0);
    });
    assertEquals(a2, newer.area());
    assertEquals(new ReleasePiece(a2.start(), newer.start(), newer.end()), held);

    n.restart(1);
    PurgeProtocol.Released again = n.release(1, batch7);
    assertEquals(0, again.bytes(), "a late copy of batch 7 released A2's part on node 1");
    ClientProtocol.NodeReport books = n.books(1);
    assertEquals(1, books.held().size(), "node 1 still holds A2's part");
    assertEquals(a2, books.held().get(0).area());
    // Node 1 cannot hand out A2's part: a 32 KiB area there goes after it.
    Area other = ((ClientProtocol.Allocated) n.alloc(1, "other", 0x8000, 0x110000L)).area();
    assertTrue(Long.compareUnsigned(other.start(), a2.end()) >= 0, "placed " + other + " inside live " + a2);
    return n;
  }

  /**
   * A one-page area at the start of each zone leaves no 64 KiB fit anywhere: request "r" of 64 KiB
   * homed on node 0 tries node 1 (attempts r/0@0>1 and, after a synchronous purge, r/1@0>1), which
   * refuses both, and its client is told ENOSPC. Then node 1's zone 1 becomes free, both nodes
   * restart, and late copies of the attempts reach node 1. It must refuse again: placing the area now would hand 64 KiB to a request whose client
   * was told there was no space.
   */
  @Test
  void aLateCopyOfARefusedAttemptAfterTheNeighbourAndTheHomeRestartPlacesNothing() {
    Nodes n = new Nodes(NodeSettings.defaults().withLease(Duration.ofMillis(200)));
    List<Area> pages = new ArrayList<>();
    for (long zone = 0x100000; zone < 0x140000; zone += 0x10000) {
      pages.add(n.allocated(G.nodeOf(zone), "page-" + zone, 4096, zone));
    }
    long big = 0x10000;
    // The home walks to node 1 (pass 0), asks the coordinator for a synchronous purge (nothing to
    // purge), walks again (pass 1), then answers ENOSPC.
    TestProbe<ClientProtocol.Replies> client = kit.createTestProbe();
    AllocSpec spec = AllocSpec.of(G, big, 4096, null, null, 0, "t", Policy.NORMAL);
    n.node(0).tell(Requests.one(Requests.alloc("r", spec), client.getRef()));
    PurgeProtocol.PurgeSync sync = n.fromNode(PurgeProtocol.PurgeSync.class);
    sync.replyTo().tell(new PurgeProtocol.PurgeDone(0, 0, sync.tag()));
    ClientProtocol.Reply r = n.reply(client);
    assertEquals(ErrorCode.ENOSPC, ((ClientProtocol.Failed) r).code(), r.toString());

    // Zone 1 (node 1) becomes entirely free: its page is freed and purged.
    Area zone1 = pages.get(1);
    n.free(1, "free-page", zone1.start());
    n.splice(1, 1);
    n.release(1, new PurgeProtocol.ReleasePieces(1, List.of(new ReleasePiece(zone1.start(), zone1.start(), zone1.end())),
        n.coordinator.getRef(), 1, List.of(zone1)));

    n.restart(1);
    n.restart(0);
    TestProbe<PeerProtocol.AttemptReply> home = kit.createTestProbe();
    for (int pass = 0; pass <= 1; pass++) {
      AttemptId attempt = new AttemptId(Requests.allocKey("r"), pass, 0, 1);
      n.node(1).tell(new PeerProtocol.AllocHere(attempt, spec, home.getRef()));
      PeerProtocol.AttemptReply answer = home.receiveMessage(Duration.ofSeconds(30));
      assertEquals(new PeerProtocol.AttemptFailed(attempt, ErrorCode.ENOSPC, "no fit on node 1"), answer);
    }

    // Nothing was placed, so nothing can be adopted: node 1 has its one page, the client's retry of
    // "r" still gets its first answer, and zone 1 is free for anyone.
    assertEquals(List.of(pages.get(3)), n.books(1).busy());
    n.node(0).tell(Requests.one(Requests.alloc("r", spec), client.getRef()));
    assertEquals(r, n.reply(client), "the retry of r gets its first answer");
    assertEquals(new Area(0x110000, 0x120000, "t"), n.allocated(1, "zone-1", big, null));
  }
}
