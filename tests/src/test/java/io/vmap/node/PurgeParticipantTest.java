package io.vmap.node;

import static io.vmap.node.NodeFixture.B;
import static io.vmap.node.NodeFixture.G;
import static io.vmap.node.NodeFixture.PAGE;
import static io.vmap.node.NodeFixture.ZONE;
import static io.vmap.node.NodeFixture.drain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestInbox;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.PurgeProtocol.ReleasePieces;
import io.vmap.protocol.PurgeProtocol.SpliceLazy;
import io.vmap.space.Area;
import io.vmap.state.LazyArea;
import io.vmap.state.ReleasePiece;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node's part in purge epochs ({@link PurgeParticipant}), without an actor system: the splice
 * hands the lazy list over once per epoch, and a release frees only what that epoch flushed, so a
 * late or repeated message never frees space a newer area took meanwhile.
 */
class PurgeParticipantTest {

  private final NodeFixture n = new NodeFixture(0);
  private final PurgeParticipant purge = newParticipant(n);
  private final TestInbox<PurgeProtocol.Command> replies = TestInbox.create("coordinator-replies");

  private static PurgeParticipant newParticipant(NodeFixture n) {
    Placements placements = new Placements(n.context);
    return new PurgeParticipant(n.context, new SpanParticipant(n.context, placements));
  }

  private PurgeProtocol.Spliced splice(long epoch) {
    purge.onSplice(new SpliceLazy(epoch, replies.getRef()));
    List<PurgeProtocol.Command> got = drain(replies);
    assertEquals(1, got.size(), got::toString);
    return (PurgeProtocol.Spliced) got.get(0);
  }

  private PurgeProtocol.Released release(long epoch, long batch, List<Area> areas) {
    List<ReleasePiece> pieces = areas.stream().map(a -> new ReleasePiece(a.start(), a.start(), a.end())).toList();
    return release(epoch, batch, pieces, areas);
  }

  private PurgeProtocol.Released release(long epoch, long batch, List<ReleasePiece> pieces, List<Area> areas) {
    purge.onRelease(new ReleasePieces(epoch, pieces, replies.getRef(), batch, areas));
    List<PurgeProtocol.Command> got = drain(replies);
    assertEquals(1, got.size(), got::toString);
    PurgeProtocol.Released r = (PurgeProtocol.Released) got.get(0);
    assertEquals(epoch, r.epoch());
    assertEquals(0, r.node());
    assertEquals(batch, r.batch(), "the answer echoes the batch");
    return r;
  }

  private static List<Area> areas(List<LazyArea> l) {
    return l.stream().map(LazyArea::area).toList();
  }

  @Test
  void aRepeatedSpliceAnswersWhatTheFirstHandedOverAndTakesNoLaterFree() {
    Area a = n.allocated(B, 2 * PAGE);
    Area b = n.allocated(B + 2 * PAGE, PAGE);
    n.freed(a.start());

    PurgeProtocol.Spliced first = splice(1);
    assertEquals(1, first.epoch());
    assertEquals(List.of(a), areas(first.areas()));
    assertEquals(1, n.state.lazy().spliceEpoch());

    // b is freed after the splice: it belongs to the next epoch, also when the splice is repeated
    // (a coordinator's resend, a duplicate) while epoch 1 may be flushing already.
    n.freed(b.start());
    PurgeProtocol.Spliced again = splice(1);
    assertEquals(first, again);
    assertEquals(1, n.state.lazy().spliceEpoch());
    assertEquals(b, n.state.lazy().lazyAt(b.start()).area(), "b is still on the lazy list, not spliced");
    assertEquals(List.of(a), areas(n.state.lazy().purging()));

    // An older epoch's splice is a repeat too.
    assertEquals(List.of(a), areas(splice(0).areas()));

    // Epoch 2 takes b, and hands a over again, since epoch 1 never released it.
    PurgeProtocol.Spliced second = splice(2);
    assertEquals(List.of(b, a), areas(second.areas()));
    assertNull(n.state.lazy().lazyAt(b.start()));
    assertEquals(List.of(a, b), areas(n.state.lazy().purging()));
  }

  @Test
  void aReleaseOfAnOlderEpochThanTheLastSpliceIsIgnored() {
    Area a = n.allocated(B, 2 * PAGE);
    n.freed(a.start());
    splice(1);
    PurgeProtocol.Released r1 = release(1, 10, List.of(a));
    assertEquals(1, r1.areas());
    assertEquals(a.size(), r1.bytes());
    long free = n.state.freeBytes();

    // The space is reused at the same address, freed, and spliced by epoch 2.
    Area a2 = n.allocated(B, PAGE);
    n.freed(a2.start());
    splice(2);
    // A late copy of epoch 1's batch names the same address: it must not release a2, which epoch 2
    // has not flushed yet.
    PurgeProtocol.Released stale = release(1, 10, List.of(new ReleasePiece(B, B, B + 2 * PAGE)), List.of());
    assertEquals(0, stale.areas());
    assertEquals(0, stale.bytes());
    assertEquals(free - PAGE, n.state.freeBytes());
    assertEquals(List.of(a2), areas(n.state.lazy().purging()));

    assertEquals(1, release(2, 11, List.of(a2)).areas());
    assertEquals(free, n.state.freeBytes());
  }

  @Test
  void aPieceIsReleasedOnceInItsEpochAndOnlyIfTheAreaThereIsTheOneNamed() {
    Area a = n.allocated(B, 2 * PAGE);
    Area c = n.allocated(B + ZONE * 2, 3 * PAGE); // node 0's second zone
    n.freed(a.start());
    n.freed(c.start());
    splice(1);
    long free = n.state.freeBytes();

    // A batch that names another area at a's address (same start, other end): skipped.
    Area notA = new Area(a.start(), a.end() + PAGE, "");
    PurgeProtocol.Released wrong =
        release(1, 20, List.of(new ReleasePiece(a.start(), a.start(), notA.end())), List.of(notA));
    assertEquals(0, wrong.areas());
    assertEquals(free, n.state.freeBytes());
    assertEquals(List.of(a, c), areas(n.state.lazy().purging()));

    // The right one is released; the same batch again changes nothing.
    assertEquals(2, release(1, 21, List.of(a, c)).areas());
    assertEquals(free + a.size() + c.size(), n.state.freeBytes());
    PurgeProtocol.Released dup = release(1, 21, List.of(a, c));
    assertEquals(0, dup.areas());
    assertEquals(free + a.size() + c.size(), n.state.freeBytes());
    assertTrue(n.state.lazy().purging().isEmpty());
  }

  @Test
  void anAreaFreedAfterTheSpliceIsNotReleasedByThatEpoch() {
    Area a = n.allocated(B, PAGE);
    Area b = n.allocated(B + PAGE, PAGE);
    n.freed(a.start());
    splice(1);
    n.freed(b.start()); // not flushed by epoch 1
    long free = n.state.freeBytes();
    PurgeProtocol.Released r = release(1, 30, List.of(a, b));
    assertEquals(1, r.areas());
    assertEquals(free + PAGE, n.state.freeBytes());
    assertEquals(b, n.state.lazy().lazyAt(b.start()).area());
    assertNull(n.state.lazy().purgingAt(a.start()));
  }

  @Test
  void aNewCoordinatorIsToldWhatTheLastSpliceLeftUnreleased() {
    Area a = n.allocated(B, 2 * PAGE);
    Area b = n.allocated(B + 2 * PAGE, PAGE);
    n.freed(a.start());
    splice(3);
    n.freed(b.start());
    purge.onReportUnreleased(new PurgeProtocol.ReportUnreleased(replies.getRef()));
    PurgeProtocol.Unreleased u = (PurgeProtocol.Unreleased) drain(replies).get(0);
    assertEquals(0, u.node());
    assertEquals(3, u.spliceEpoch());
    assertEquals(List.of(a), areas(u.purging()));
    assertEquals(G.pagesOf(a.size() + b.size()), u.unpurgedPages());
  }

  @Test
  void theListASpliceHandsOverNeverChangesAfterwards() {
    Area a = n.allocated(B, PAGE);
    Area b = n.allocated(B + PAGE, PAGE);
    Area c = n.allocated(B + 2 * PAGE, PAGE);
    n.freed(b.start());
    n.freed(a.start());

    // The coordinator gets the node's lazy list itself (no copy): in free order, and untouched by
    // what the node does next (a later free, a release of the handed areas).
    PurgeProtocol.Spliced s = splice(1);
    assertEquals(List.of(b, a), areas(s.areas()));
    n.freed(c.start());
    release(1, 7, List.of(b, a));
    assertEquals(List.of(b, a), areas(s.areas()));
    assertEquals(List.of(c), areas(n.state.lazy().unpurged()));
  }

  @Test
  void aSpliceAlsoHandsOverWhatAnEarlierEpochLeftUnreleased() {
    Area a = n.allocated(B, PAGE);
    Area b = n.allocated(B + PAGE, PAGE);
    n.freed(a.start());
    splice(1);
    // Epoch 1's release never arrives (lost); the next splice flushes and releases a again.
    n.freed(b.start());
    PurgeProtocol.Spliced s = splice(2);
    assertEquals(List.of(b, a), areas(s.areas()));
    assertEquals(2, release(2, 1, List.of(a, b)).areas());
    assertTrue(n.state.lazy().unpurged().isEmpty());
  }

  @Test
  void anAreaReleasedBeforeItsSpliceIsNotHandedOverAgain() {
    Area a = n.allocated(B, PAGE);
    Area b = n.allocated(B + PAGE, PAGE);
    n.freed(a.start());
    n.freed(b.start());
    // A successor coordinator re-drives an epoch whose splice this node never stored: a is released
    // from the lazy list directly.
    assertEquals(1, release(1, 1, List.of(a)).areas());
    PurgeProtocol.Spliced s = splice(2);
    assertEquals(List.of(b), areas(s.areas()));
  }
}
