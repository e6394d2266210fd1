package io.vmap.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node state with something in every book (busy, spanning parts, held parts, reservations,
 * decisions, lazy and purging areas, the release epoch's pieces, every kind of remembered answer)
 * comes back the same from its snapshot ({@link NodeSnapshots}) and from replaying its events: the
 * books that {@link SpanBook} and {@link LazyBook} keep apart from {@link NodeState} included.
 */
class NodeSnapshotsTest {

  /** Two nodes, 64 KiB zones: node 0 owns the zones at 0x100000, 0x120000, 0x140000, ... */
  static final Geometry G = new Geometry(0x100000, 0x200000, 4096, 0x10000, 2);
  static final NodeState.Memory MEMORY = new NodeState.Memory(256, 16, 1024, 1024);
  static final long PAGE = 4096;

  /** Node 0's own area spanning into node 1's zone at 0x110000. */
  static final Area SPANNING = new Area(0x10F000, 0x111000, "");
  static final List<Part> SPANNING_PARTS = List.of(new Part(0, 0x10F000, 0x110000), new Part(1, 0x110000, 0x111000));
  static final ReservationId COMMITTED = new ReservationId(key(10), 0, SPANNING, 1);
  /** Node 1's area reaching into node 0's zone at 0x120000: committed, so held here. */
  static final Area HELD = new Area(0x11F000, 0x121000, "");
  static final ReservationId HELD_ID = new ReservationId(key(11), 1, HELD, 2);
  /** Node 1's area reaching into node 0's zone at 0x140000: still reserved here. */
  static final Area PENDING = new Area(0x13F000, 0x141000, "");
  static final ReservationId PENDING_ID = new ReservationId(key(12), 1, PENDING, 3);
  /** Node 0's own reservation, cancelled. */
  static final Area CANCELLED = new Area(0x14F000, 0x151000, "");
  static final ReservationId CANCELLED_ID = new ReservationId(key(13), 0, CANCELLED, 4);
  /** An id node 0 never saw, resolved aborted. */
  static final ReservationId RESOLVED_ID = new ReservationId(key(14), 0, new Area(0x16F000, 0x171000, ""), 5);
  /** A piece of another node's area released in epoch 1 (not held here): remembered all the same. */
  static final ReleasePiece FOREIGN_PIECE = new ReleasePiece(0x17F000, 0x180000, 0x181000);
  static final AttemptId ATTEMPT = new AttemptId(key(30), 0, 1, 0);

  private static RequestKey key(int i) {
    return new RequestKey(1, i);
  }

  private static AllocSpec pages(int n) {
    return AllocSpec.of(G, n * PAGE, PAGE, null, null, 0, "", Policy.NORMAL);
  }

  private record Built(NodeState state, List<NodeEvent> log, Area released, Area lazy, Area abandoned) {}

  /** Node 0 with something in every book, every event recorded. */
  private static Built build() {
    List<NodeEvent> log = new ArrayList<>();
    NodeState s = new NodeState(0, G, MEMORY);
    s.onApplied(log::add);
    Area a = s.allocate(s.findFit(pages(1)), key(1), Principal.DEFAULT_TENANT);
    s.apply(new NodeEvent.AreaFreed(a.start(), key(2)));
    s.apply(new NodeEvent.LazySpliced(1));
    Area b = s.allocate(s.findFit(pages(2)), key(3), "tenant-b");
    s.apply(new NodeEvent.AreaFreed(b.start(), key(4)));
    // A neighbour attempt placed here, then freed because its home did not keep it.
    Area t = s.findFit(pages(1));
    s.apply(new NodeEvent.AreaAllocated(t, ATTEMPT));
    s.apply(new NodeEvent.AreaFreed(t.start(), ATTEMPT));

    s.apply(new NodeEvent.SpanReserved(new Reservation(COMMITTED, 0, List.of(SPANNING_PARTS.get(0)), SPANNING_PARTS)));
    s.commit(COMMITTED, "tenant-s");
    List<Part> heldParts = List.of(new Part(1, 0x11F000, 0x120000), new Part(0, 0x120000, 0x121000));
    s.apply(new NodeEvent.SpanReserved(new Reservation(HELD_ID, 1, List.of(heldParts.get(1)), heldParts)));
    s.apply(new NodeEvent.SpanPartCommitted(HELD_ID));
    List<Part> pendingParts = List.of(new Part(1, 0x13F000, 0x140000), new Part(0, 0x140000, 0x141000));
    s.apply(new NodeEvent.SpanReserved(new Reservation(PENDING_ID, 1, List.of(pendingParts.get(1)), pendingParts)));
    List<Part> cancelledParts = List.of(new Part(0, 0x14F000, 0x150000), new Part(1, 0x150000, 0x151000));
    s.apply(new NodeEvent.SpanReserved(new Reservation(CANCELLED_ID, 0, List.of(cancelledParts.get(0)), cancelledParts)));
    s.apply(new NodeEvent.SpanCancelled(CANCELLED_ID));
    s.apply(new NodeEvent.SpanResolved(RESOLVED_ID));

    s.apply(new NodeEvent.Refused(key(20), false, ErrorCode.ENOSPC, "no room"));
    s.apply(new NodeEvent.Placed(key(21), new Area(0x110000, 0x111000, "")));
    s.apply(new NodeEvent.PiecesReleased(1, List.of(new ReleasePiece(a.start(), a.start(), a.end()), FOREIGN_PIECE)));
    s.checkInvariants();
    return new Built(s, log, a, b, t);
  }

  /** Every component of two snapshots equal (arrays by content). */
  private static void assertSameSnapshot(NodeSnapshot want, NodeSnapshot got) throws Exception {
    for (RecordComponent c : NodeSnapshot.class.getRecordComponents()) {
      Object w = c.getAccessor().invoke(want);
      Object g = c.getAccessor().invoke(got);
      if (w instanceof long[] wa) assertArrayEquals(wa, (long[]) g, c.getName());
      else assertEquals(w, g, c.getName());
    }
  }

  /** What the built state answers, asked of {@code s}. */
  private static void assertBooks(Built b, NodeState s) {
    s.checkInvariants();
    SpanBook spans = s.spans();
    assertEquals(SPANNING, s.busyAt(SPANNING.start()));
    assertEquals(SPANNING_PARTS, spans.spanningParts().get(SPANNING.start()));
    assertEquals("tenant-s", s.ownership().ownerOf(SPANNING.start()));
    assertEquals(HELD, spans.heldAt(0x120000).area());
    assertNotNull(spans.reservation(PENDING_ID));
    assertEquals(1, spans.reservationCount());
    assertEquals(PAGE, spans.reservedBytes());
    assertEquals(Decision.COMMITTED, spans.decision(COMMITTED));
    assertEquals(Decision.PENDING, spans.decision(PENDING_ID));
    assertEquals(Decision.ABORTED, spans.decision(CANCELLED_ID));
    assertEquals(Decision.ABORTED, spans.decision(RESOLVED_ID));
    assertNull(spans.decision(HELD_ID), "a part owner decides nothing");
    assertEquals(1, spans.startOwnerCovering(0x140800));
    assertEquals(1, spans.startOwnerCovering(0x120800));
    assertEquals(-1, spans.startOwnerCovering(b.released().start()));
    assertSame(ReadIndex.UNSURE, s.find(0x140800), "a foreign piece makes a miss unsure");

    LazyBook lazy = s.lazy();
    assertEquals(1, lazy.spliceEpoch());
    assertNull(lazy.unreleasedAt(b.released().start()), "released in epoch 1");
    assertEquals(b.lazy(), lazy.lazyAt(b.lazy().start()).area());
    assertEquals(b.abandoned(), lazy.lazyAt(b.abandoned().start()).area());
    assertEquals(List.of(), lazy.purging());
    assertEquals(2, lazy.lazyCount());
    assertTrue(lazy.releasedInEpoch(1, FOREIGN_PIECE));
    assertEquals("tenant-b", s.ownership().ownerOf(b.lazy().start()));

    assertEquals(new Answer.Failed(ErrorCode.ENOSPC, "no room"), s.answer(key(20), false));
    assertEquals(new Answer.Done(new Area(0x110000, 0x111000, "")), s.answer(key(21), false));
    assertEquals(new Answer.Done(b.abandoned()), s.answer(ATTEMPT, false));
    assertEquals(new Answer.Done(b.abandoned()), s.answer(ATTEMPT, true));
    assertEquals(new Answer.Done(b.lazy()), s.answer(key(4), true));
  }

  @Test
  void theBuiltStateHasSomethingInEveryBook() {
    Built b = build();
    assertBooks(b, b.state());
  }

  @Test
  void aRestoredSnapshotIsTheSameState() throws Exception {
    Built b = build();
    NodeSnapshot snap = b.state().snapshot();
    NodeState back = OwnedSnapshot.restore(OwnedSnapshot.of(b.state()), G, MEMORY);
    assertSameSnapshot(snap, back.snapshot());
    assertEquals(b.state().freeRuns(), back.freeRuns(), "the free space, kept as entries beside the snapshot");
    assertBooks(b, back);
  }

  @Test
  void replayingTheEventsGivesTheSameState() throws Exception {
    Built b = build();
    NodeState replayed = new NodeState(0, G, MEMORY);
    for (NodeEvent e : b.log()) replayed.replay(e);
    assertSameSnapshot(b.state().snapshot(), replayed.snapshot());
    assertEquals(b.state().freeRuns(), replayed.freeRuns());
    assertBooks(b, replayed);
  }

  @Test
  void aCopyIsIndependent() throws Exception {
    Built b = build();
    NodeState copy = b.state().copy();
    copy.apply(new NodeEvent.SpanCancelled(PENDING_ID));
    copy.apply(new NodeEvent.LazySpliced(2));
    assertNull(copy.spans().reservation(PENDING_ID));
    assertEquals(2, copy.lazy().purgingCount());
    copy.checkInvariants();
    assertBooks(b, b.state());
  }
}
