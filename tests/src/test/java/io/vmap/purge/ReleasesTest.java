package io.vmap.purge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestInbox;
import akka.actor.typed.ActorRef;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.PurgeProtocol.ReleasePieces;
import io.vmap.space.Area;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.ReleasePiece;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The release phase without an actor system: batches are bounded, one per node outstanding, built
 * as they are sent, and every piece of every handed-over area (spanning parts included) reaches
 * its owner exactly once.
 */
class ReleasesTest {

  private static final long PAGE = 0x1000;

  private final List<TestInbox<NodeMessage>> inboxes = new ArrayList<>();
  private final TestInbox<PurgeProtocol.Command> coordinator = TestInbox.create("coordinator");

  private NodeDirectory nodes(int n) {
    List<ActorRef<NodeMessage>> refs = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      TestInbox<NodeMessage> in = TestInbox.create("node-" + k);
      inboxes.add(in);
      refs.add(in.getRef());
    }
    return NodeDirectory.of(refs);
  }

  private static LazyArea single(int node, long start, long pages) {
    Area a = new Area(start, start + pages * PAGE, "t");
    return new LazyArea(a, node, List.of(new Part(node, a.start(), a.end())));
  }

  /** The batches waiting in node {@code k}'s inbox. */
  private List<ReleasePieces> sent(int k) {
    List<ReleasePieces> out = new ArrayList<>();
    while (inboxes.get(k).hasMessages()) out.add((ReleasePieces) inboxes.get(k).receiveMessage());
    return out;
  }

  private static PurgeProtocol.Released answer(ReleasePieces b, int node) {
    return new PurgeProtocol.Released(b.epoch(), node, b.pieces().size(), 0, b.batch());
  }

  @Test
  void batchesAreBoundedOnePerNodeAndCoverEveryArea() {
    NodeDirectory dir = nodes(2);
    List<LazyArea> zero = new ArrayList<>();
    for (int i = 0; i < 10; i++) zero.add(single(0, 0x10_0000 + 2 * i * PAGE, 1));
    List<LazyArea> one = new ArrayList<>();
    for (int i = 0; i < 3; i++) one.add(single(1, 0x90_0000 + 2 * i * PAGE, 1));
    Releases r = new Releases(5, Map.of(0, List.of(zero.subList(0, 4), zero.subList(4, 10)), 1, List.of(one)), 4,
        dir, coordinator.getRef(), 100, 0);

    Set<ReleasePiece> released = new HashSet<>();
    int rounds = 0;
    while (!r.done()) {
      assertTrue(++rounds < 10, "the phase ends");
      for (int k = 0; k < 2; k++) {
        List<ReleasePieces> batches = sent(k);
        assertTrue(batches.size() <= 1, "one batch outstanding per node: " + batches);
        for (ReleasePieces b : batches) {
          assertEquals(5, b.epoch());
          assertTrue(b.pieces().size() <= 4, "bounded batch: " + b.pieces().size());
          assertEquals(b.pieces().size(), b.areas().size());
          for (ReleasePiece p : b.pieces()) assertTrue(released.add(p), "released once: " + p);
          assertTrue(r.answered(answer(b, k)));
          assertFalse(r.answered(answer(b, k)), "a repeated answer does not count twice");
        }
      }
    }
    Set<ReleasePiece> expected = new HashSet<>();
    for (LazyArea la : zero) expected.add(new ReleasePiece(la.area().start(), la.area().start(), la.area().end()));
    for (LazyArea la : one) expected.add(new ReleasePiece(la.area().start(), la.area().start(), la.area().end()));
    assertEquals(expected, released);
    // 10 areas in batches of 4 on node 0, 3 on node 1: 3 + 1 batches, ids from 100.
    assertEquals(104, r.nextBatchId());
  }

  @Test
  void aSpanningAreasPartsGoToTheirOwnersEvenAfterTheyRanOutOfTheirOwn() {
    NodeDirectory dir = nodes(3);
    // Node 0's second area spans onto nodes 1 and 2, which hand over nothing themselves: they get
    // a batch once node 0's cursor reaches that area, after their first check found nothing.
    long s = 0x20_0000;
    Area span = new Area(s, s + 3 * 0x10_0000, "span");
    LazyArea spanning = new LazyArea(span, 0, List.of(
        new Part(0, s, s + 0x10_0000), new Part(1, s + 0x10_0000, s + 0x20_0000), new Part(2, s + 0x20_0000, s + 0x30_0000)));
    LazyArea first = single(0, 0x10_0000, 1);
    Releases r = new Releases(1, Map.of(0, List.of(List.of(first, spanning))), 1, dir, coordinator.getRef(), 0, 0);

    List<ReleasePieces> b0 = sent(0);
    assertEquals(1, b0.size());
    assertEquals(List.of(first.area()), b0.get(0).areas());
    assertTrue(sent(1).isEmpty());
    assertTrue(r.answered(answer(b0.get(0), 0)));

    // Node 0's next batch takes the spanning area's start piece and wakes nodes 1 and 2.
    assertEquals(List.of(new ReleasePiece(s, s, s + 0x10_0000)), sent(0).get(0).pieces());
    ReleasePieces b1 = sent(1).get(0);
    ReleasePieces b2 = sent(2).get(0);
    assertEquals(List.of(new ReleasePiece(s, s + 0x10_0000, s + 0x20_0000)), b1.pieces());
    assertEquals(List.of(new ReleasePiece(s, s + 0x20_0000, s + 0x30_0000)), b2.pieces());
    assertEquals(List.of(span), b2.areas());
    assertFalse(r.done());
  }

  @Test
  void anUnansweredBatchIsResentAfterTwoTicks() {
    NodeDirectory dir = nodes(1);
    Releases r = new Releases(1, Map.of(0, List.of(List.of(single(0, 0x10_0000, 1)))), 8, dir,
        coordinator.getRef(), 0, 0);
    ReleasePieces b = sent(0).get(0);
    r.resendDue(1);
    assertTrue(sent(0).isEmpty());
    r.resendDue(2);
    assertEquals(List.of(b), sent(0));
    assertTrue(r.answered(answer(b, 0)));
    assertTrue(r.done());
  }

  @Test
  void anUnboundedBatchSendsEverythingInOneMessage() {
    NodeDirectory dir = nodes(1);
    List<LazyArea> all = new ArrayList<>();
    for (int i = 0; i < 100; i++) all.add(single(0, 0x10_0000 + 2 * i * PAGE, 1));
    Releases r = new Releases(1, Map.of(0, List.of(all)), Integer.MAX_VALUE, dir, coordinator.getRef(), 0, 0);
    ReleasePieces b = sent(0).get(0);
    assertEquals(100, b.pieces().size());
    assertTrue(r.answered(answer(b, 0)));
    assertTrue(r.done());
  }
}
