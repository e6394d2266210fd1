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
 * The release phase without an actor system: batches are bounded, one per node outstanding and at
 * most the cap over all nodes, built as they are sent, and every piece of every handed-over area
 * (spanning parts included) reaches its owner exactly once.
 */
class ReleasesTest {

  private static final long PAGE = 0x1000;
  /** More batches in flight than nodes: no node ever waits for a slot. */
  private static final int NO_CAP = 64;

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
    Releases r = new Releases(5, Map.of(0, List.of(zero.subList(0, 4), zero.subList(4, 10)), 1, List.of(one)), 4, NO_CAP,
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
  void aSpanningAreasPartsGoToTheirOwnersEvenAfterTheyRanOutOfTheirOwnAndItsStartPieceLast() {
    NodeDirectory dir = nodes(3);
    // Node 0's second area spans onto nodes 1 and 2, which hand over nothing themselves: they get
    // a batch once node 0's cursor reaches that area, after their first check found nothing.
    long s = 0x20_0000;
    Area span = new Area(s, s + 3 * 0x10_0000, "span");
    LazyArea spanning = new LazyArea(span, 0, List.of(
        new Part(0, s, s + 0x10_0000), new Part(1, s + 0x10_0000, s + 0x20_0000), new Part(2, s + 0x20_0000, s + 0x30_0000)));
    LazyArea first = single(0, 0x10_0000, 1);
    Releases r = new Releases(1, Map.of(0, List.of(List.of(first, spanning))), 1, NO_CAP, dir, coordinator.getRef(), 0, 0);

    List<ReleasePieces> b0 = sent(0);
    assertEquals(1, b0.size());
    assertEquals(List.of(first.area()), b0.get(0).areas());
    assertTrue(sent(1).isEmpty());
    assertTrue(r.answered(answer(b0.get(0), 0)));

    // Node 0's cursor reaches the spanning area: nodes 1 and 2 get their parts; node 0's start
    // piece waits until both are released (a successor coordinator re-drives only what the start
    // owner still lists, so it must list the area until its other parts are gone).
    assertTrue(sent(0).isEmpty());
    ReleasePieces b1 = sent(1).get(0);
    ReleasePieces b2 = sent(2).get(0);
    assertEquals(List.of(new ReleasePiece(s, s + 0x10_0000, s + 0x20_0000)), b1.pieces());
    assertEquals(List.of(new ReleasePiece(s, s + 0x20_0000, s + 0x30_0000)), b2.pieces());
    assertEquals(List.of(span), b2.areas());
    assertTrue(r.answered(answer(b1, 1)));
    assertTrue(sent(0).isEmpty());
    assertTrue(r.answered(answer(b2, 2)));
    ReleasePieces last = sent(0).get(0);
    assertEquals(List.of(new ReleasePiece(s, s, s + 0x10_0000)), last.pieces());
    assertEquals(List.of(span), last.areas());
    assertFalse(r.done());
    assertTrue(r.answered(answer(last, 0)));
    assertTrue(r.done());
  }

  @Test
  void anUnansweredBatchIsResentAfterTwoTicks() {
    NodeDirectory dir = nodes(1);
    Releases r = new Releases(1, Map.of(0, List.of(List.of(single(0, 0x10_0000, 1)))), 8, NO_CAP, dir,
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
    Releases r = new Releases(1, Map.of(0, List.of(all)), Integer.MAX_VALUE, NO_CAP, dir, coordinator.getRef(), 0, 0);
    ReleasePieces b = sent(0).get(0);
    assertEquals(100, b.pieces().size());
    assertTrue(r.answered(answer(b, 0)));
    assertTrue(r.done());
  }

  /** Every batch waiting in any inbox, with its node. */
  private List<Object[]> sentAnywhere() {
    List<Object[]> out = new ArrayList<>();
    for (int k = 0; k < inboxes.size(); k++) for (ReleasePieces b : sent(k)) out.add(new Object[] {k, b});
    return out;
  }

  @Test
  void atMostTheCapOfBatchesIsOutstandingOverAllNodesAndEveryNodeGetsItsTurn() {
    NodeDirectory dir = nodes(4);
    Map<Integer, List<List<LazyArea>>> handed = new java.util.HashMap<>();
    Set<ReleasePiece> expected = new HashSet<>();
    for (int k = 0; k < 4; k++) {
      List<LazyArea> mine = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        LazyArea la = single(k, 0x100_0000L * (k + 1) + 2 * i * PAGE, 1);
        mine.add(la);
        expected.add(new ReleasePiece(la.area().start(), la.area().start(), la.area().end()));
      }
      handed.put(k, List.of(mine));
    }
    Releases r = new Releases(3, handed, 2, 2, dir, coordinator.getRef(), 0, 0);

    java.util.ArrayDeque<Object[]> outstanding = new java.util.ArrayDeque<>(sentAnywhere());
    Set<ReleasePiece> released = new HashSet<>();
    List<Integer> order = new ArrayList<>();
    int rounds = 0;
    while (!r.done()) {
      assertTrue(++rounds < 100, "the phase ends");
      assertTrue(outstanding.size() <= 2, "at most 2 batches in flight over all nodes: " + outstanding.size());
      assertFalse(outstanding.isEmpty(), "a phase not done has a batch in flight");
      Object[] oldest = outstanding.poll();
      int k = (Integer) oldest[0];
      ReleasePieces b = (ReleasePieces) oldest[1];
      order.add(k);
      assertTrue(b.pieces().size() <= 2);
      for (ReleasePiece p : b.pieces()) assertTrue(released.add(p), "released once: " + p);
      assertTrue(r.answered(answer(b, k)));
      outstanding.addAll(sentAnywhere());
    }
    assertEquals(expected, released);
    assertEquals(12, order.size(), "24 areas in batches of 2");
    // Round robin: every node had its first batch before any node had its second.
    assertEquals(Set.of(0, 1, 2, 3), new HashSet<>(order.subList(0, 4)), "first turns: " + order);
  }

  @Test
  void withOneBatchInFlightASpanningAreasStartPieceStillWaitsForItsOtherParts() {
    NodeDirectory dir = nodes(3);
    long s = 0x20_0000;
    Area span = new Area(s, s + 3 * 0x10_0000, "span");
    LazyArea spanning = new LazyArea(span, 0, List.of(
        new Part(0, s, s + 0x10_0000), new Part(1, s + 0x10_0000, s + 0x20_0000), new Part(2, s + 0x20_0000, s + 0x30_0000)));
    Releases r = new Releases(1, Map.of(0, List.of(List.of(single(0, 0x10_0000, 1), spanning))), 1, 1, dir,
        coordinator.getRef(), 0, 0);
    List<ReleasePiece> order = new ArrayList<>();
    java.util.ArrayDeque<Object[]> outstanding = new java.util.ArrayDeque<>(sentAnywhere());
    while (!r.done()) {
      assertEquals(1, outstanding.size(), "exactly one batch in flight");
      Object[] b = outstanding.poll();
      order.addAll(((ReleasePieces) b[1]).pieces());
      assertTrue(r.answered(answer((ReleasePieces) b[1], (Integer) b[0])));
      outstanding.addAll(sentAnywhere());
    }
    assertEquals(4, order.size(), "the single area, two parts, the start piece: " + order);
    assertEquals(new ReleasePiece(s, s, s + 0x10_0000), order.get(3), "the start piece goes last: " + order);
  }
}
