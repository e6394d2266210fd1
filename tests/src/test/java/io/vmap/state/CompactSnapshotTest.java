package io.vmap.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node's snapshot keeps its free space as entries (a run of untouched zones is one): on the 12.5
 * PiB five-level space with 16 nodes (26,214,400 zones a node) it stays a handful of entries and
 * restores the same free space; snapshots stored before, with every free block listed, still restore.
 */
class CompactSnapshotTest {

  /** cluster-config/five-level.conf: x86-64's 5-level vmalloc range, 32 MiB zones, 16 nodes. */
  static final Geometry FIVE_LEVEL = new Geometry(0xffa0000000000000L, 0xffd2000000000000L, 4096, 32L << 20, 16);
  static final Geometry SMALL = new Geometry(0x100000, 0x100000 + 64 * 0x10000L, 4096, 0x10000, 4);
  static final NodeState.Memory MEMORY = new NodeState.Memory(256, 16, 1024, 1024);

  private static AllocSpec pages(Geometry g, long n) {
    return AllocSpec.of(g, n * 4096L, 4096, null, null, 0, "t", Policy.NORMAL);
  }

  /** Areas in three zones of the node (one spanning a whole zone), one of them lazily freed. */
  private static NodeState used(Geometry g, int node) {
    NodeState s = new NodeState(node, g, MEMORY);
    List<Area> areas = new ArrayList<>();
    for (int i = 0; i < 5; i++) areas.add(s.allocate(s.findFit(pages(g, 1 + i)), new RequestKey(1, i), "tenant-" + (i % 2)));
    areas.add(s.allocate(s.findFit(pages(g, g.zone() / 4096)), new RequestKey(1, 5), Principal.DEFAULT_TENANT));
    areas.add(s.allocate(s.findFit(pages(g, 3)), new RequestKey(1, 6), Principal.DEFAULT_TENANT));
    s.apply(new NodeEvent.AreaFreed(areas.get(1).start(), new RequestKey(1, 7)));
    s.checkInvariants();
    return s;
  }

  private static void assertSameState(NodeState want, NodeState got) {
    assertEquals(want.freeBytes(), got.freeBytes());
    assertEquals(want.freeBlocks(), got.freeBlocks());
    assertEquals(want.freeRuns(), got.freeRuns());
    assertEquals(new ArrayList<>(want.busyAreas()), new ArrayList<>(got.busyAreas()));
    assertEquals(want.lazy().unpurged(), got.lazy().unpurged());
    assertEquals(want.ownership().owners(), got.ownership().owners());
    assertEquals(want.ownership().usages(), got.ownership().usages());
    got.checkInvariants();
    // The next allocation lands where it would have.
    assertEquals(want.findFit(pages(want.geometry(), 2)), got.findFit(pages(got.geometry(), 2)));
  }

  @Test
  void aFiveLevelNodeSnapshotIsAFewEntriesAndRestoresTheSameFreeSpace() {
    NodeState s = used(FIVE_LEVEL, 3);
    CompactSnapshot c = assertInstanceOf(CompactSnapshot.class, OwnedSnapshot.of(s));
    assertEquals(0, c.state().freeStarts().length, "no free block is listed one by one");
    // Before free runs the snapshot listed 26,214,400 blocks here (400 MiB of arrays).
    assertTrue(s.freeBlocks() > 26_000_000, "about one block per zone of the node: " + s.freeBlocks());
    assertEquals(s.freeBlocks(), c.free().blocks());
    assertTrue(c.free().size() <= 8, "entries: " + c.free());
    assertEquals(s.freeBytes(), c.free().bytes());
    assertEquals(5, c.ownedStarts().size(), "the tenants' areas, the lazily freed one too: " + c.ownedStarts());

    NodeState back = OwnedSnapshot.restore(c, FIVE_LEVEL, MEMORY);
    assertSameState(s, back);
    // The copy a durable node serves from is as compact.
    assertSameState(s, s.copy());
  }

  @Test
  void snapshotsStoredBeforeFreeRunsStillRestoreAndFoldTheirZonesBackIntoRuns() {
    NodeState s = used(SMALL, 1);
    CompactSnapshot c = (CompactSnapshot) OwnedSnapshot.of(s);
    // What an older vmap stored: every free block listed, alone or with the owners.
    List<long[]> blocks = new ArrayList<>();
    FreeRuns f = c.free();
    for (int i = 0; i < f.size(); i++) f.forEachMember(i, 0, -1L, Long.MAX_VALUE, (a, e) -> blocks.add(new long[] {a, e}));
    long[] fs = new long[blocks.size()];
    long[] fe = new long[blocks.size()];
    for (int i = 0; i < fs.length; i++) {
      fs[i] = blocks.get(i)[0];
      fe[i] = blocks.get(i)[1];
    }
    assertTrue(fs.length > f.size(), "the old format lists more blocks than there are entries");
    NodeSnapshot old = withBlocks(c.state(), fs, fe);

    NodeState fromOwned = OwnedSnapshot.restore(new OwnedSnapshot(old, c.ownedStarts(), c.owners()), SMALL, MEMORY);
    assertSameState(s, fromOwned);
    NodeState fromPlain = OwnedSnapshot.restore(old, SMALL, MEMORY);
    assertEquals(s.freeRuns(), fromPlain.freeRuns());
    assertEquals(s.freeBytes(), fromPlain.freeBytes());
    fromPlain.checkInvariants();
  }

  @Test
  void aCompactSnapshotListingFreeBlocksTooIsRefused() {
    NodeState s = used(SMALL, 2);
    CompactSnapshot c = (CompactSnapshot) OwnedSnapshot.of(s);
    CompactSnapshot bad = new CompactSnapshot(withBlocks(c.state(), new long[] {0x100000}, new long[] {0x101000}),
        c.free(), c.ownedStarts(), c.owners());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OwnedSnapshot.restore(bad, SMALL, MEMORY));
    assertTrue(e.getMessage().contains("free space given twice"), e.getMessage());
  }

  static NodeSnapshot withBlocks(NodeSnapshot n, long[] fs, long[] fe) {
    return new NodeSnapshot(n.node(), n.spliceEpoch(), fs, fe, n.busy(), n.spanStarts(), n.spanParts(), n.held(),
        n.reservations(), n.lazy(), n.purging(), n.decisionIds(), n.decisions(), n.clientKeys(), n.clientAnswers(),
        n.attemptKeys(), n.attemptAnswers(), n.abandonedKeys(), n.abandoned(), n.releaseEpoch(), n.releasedInEpoch());
  }
}
