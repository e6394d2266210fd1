package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.chaos.NodeBooks;
import io.vmap.http.api.NodesJson;
import io.vmap.http.api.SpaceAreaJson;
import io.vmap.http.api.SpaceAreasJson;
import io.vmap.http.api.SpaceJson;
import io.vmap.http.ui.SpaceModel;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The views of the operator page and vmap top, computed from books written by hand ({@link SpaceBooks}). */
class SpaceModelTest {

  static final Instant T = Instant.parse("2026-11-27T12:00:00Z");
  static final long K = 1024;

  final SpaceModel model = new SpaceModel(SpaceBooks.GEOMETRY, SpaceBooks.books(), T);

  @Test
  void aSmallSpaceHasOneCellPerZoneMarkedWithItsOwner() {
    SpaceJson s = model.cells(SpaceBooks.GEOMETRY.vstart(), SpaceBooks.GEOMETRY.vend(), SpaceModel.DEFAULT_CELLS);
    assertEquals(16, s.cells());
    assertEquals(1, s.zonesPerCell());
    SpaceJson.Cells c = s.columns();
    for (int i = 0; i < 16; i++) {
      assertEquals(i % 2, c.node().get(i), "owner of zone " + i);
      assertEquals(SpaceBooks.BASE + i * SpaceBooks.ZONE, c.start().get(i));
      assertEquals(c.bytes()[i], c.busy()[i] + c.lazy()[i] + c.reserved()[i] + c.free()[i], "cell " + i + " adds up");
    }
    assertArrayEquals(longs(64 * K, 32 * K, 32 * K, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), c.busy());
    assertArrayEquals(longs(0, 0, 0, 16 * K, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), c.lazy());
    assertArrayEquals(longs(0, 0, 0, 0, 8 * K, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), c.reserved());
    assertEquals(0, c.free()[0]);
    assertEquals(new SpaceJson.Totals(1024 * K, 128 * K, 16 * K, 8 * K, 872 * K), s.totals());
  }

  @Test
  void theSpanningAreaIsListedWithTheNodesOfTheZonesItCrosses() {
    SpaceJson s = model.cells(SpaceBooks.GEOMETRY.vstart(), SpaceBooks.GEOMETRY.vend(), 64);
    assertEquals(1, s.spanning().size());
    SpaceAreaJson b = s.spanning().get(0);
    assertEquals(SpaceBooks.B.start(), b.start());
    assertEquals(SpaceBooks.B.end(), b.end());
    assertEquals("busy", b.state());
    assertEquals(1, b.node());
    assertTrue(b.spans());
    assertEquals(List.of(1, 0), b.nodes());
  }

  @Test
  void fewerCellsThanZonesAggregateEquallyManyZones() {
    SpaceJson s = model.cells(SpaceBooks.GEOMETRY.vstart(), SpaceBooks.GEOMETRY.vend(), 4);
    assertEquals(4, s.cells());
    assertEquals(4, s.zonesPerCell());
    assertEquals(Arrays.asList(null, null, null, null), s.columns().node(), "a cell of several zones has several owners");
    assertArrayEquals(longs(128 * K, 0, 0, 0), s.columns().busy());
    assertArrayEquals(longs(256 * K, 256 * K, 256 * K, 256 * K), s.columns().bytes());
    // 5 cells asked for 16 zones: 4 zones a cell, the last one short.
    SpaceJson five = model.cells(SpaceBooks.GEOMETRY.vstart(), SpaceBooks.GEOMETRY.vend(), 5);
    assertEquals(4, five.cells());
    SpaceJson three = model.cells(SpaceBooks.GEOMETRY.vstart(), SpaceBooks.GEOMETRY.vend(), 3);
    assertEquals(3, three.cells());
    assertEquals(6, three.zonesPerCell());
    assertArrayEquals(longs(384 * K, 384 * K, 256 * K), three.columns().bytes());
  }

  @Test
  void aRangeIsWidenedToWholeZones() {
    SpaceJson s = model.cells(0x118000L, 0x121000L, 100);
    assertEquals(0x110000L, s.from());
    assertEquals(0x130000L, s.to());
    assertEquals(2, s.cells());
    assertEquals(0x11, s.firstZone());
    assertEquals(List.of(1, 0), s.columns().node());
  }

  @Test
  void aMillionZonesAggregateIntoCellsAndStillShowABusyZone() {
    Geometry g = Geometry.defaults();
    List<NodeBooks> books = new ArrayList<>();
    for (int k = 0; k < g.nodes(); k++) {
      List<long[]> ranges = new ArrayList<>();
      g.forEachOwnedRange(k, (a, b) -> ranges.add(new long[] {a, b}));
      boolean first = k == 0;
      List<long[]> free = first ? ranges.subList(1, ranges.size()) : ranges; // node 0's first zone is busy
      long[] fs = free.stream().mapToLong(r -> r[0]).toArray();
      long[] fe = free.stream().mapToLong(r -> r[1]).toArray();
      List<Area> busy = first ? List.of(new Area(g.vstart(), g.vstart() + g.zone(), "big")) : List.of();
      books.add(new NodeBooks(k, fs, fe, busy, List.of(), List.of(), List.of(), List.of()));
    }
    SpaceJson s = new SpaceModel(g, books, T).cells(g.vstart(), g.vend(), SpaceModel.DEFAULT_CELLS);
    assertEquals(1L << 20, s.zones());
    assertEquals(SpaceModel.DEFAULT_CELLS, s.cells());
    assertEquals(512, s.zonesPerCell());
    assertEquals(g.zone(), s.columns().busy()[0]);
    assertEquals(512 * g.zone() - g.zone(), s.columns().free()[0]);
    assertEquals(0, s.columns().busy()[1]);
    assertEquals(g.spaceBytes(), s.totals().bytes());
    assertEquals(g.spaceBytes() - g.zone(), s.totals().free());
  }

  @Test
  void theAreasOfARangeComeInAddressOrderWithEveryState() {
    SpaceAreasJson a = model.areas(0x110000L, 0x150000L, 100);
    List<String> seen = a.areas().stream().map(x -> x.state() + "@" + Long.toHexString(x.start())).toList();
    assertEquals(List.of("free@110000", "busy@118000", "free@128000", "lazy@130000", "free@134000", "reserved@140000",
        "free@142000"), seen);
    SpaceAreaJson lazy = a.areas().get(3);
    assertEquals("gone", lazy.tag());
    assertEquals(16 * K, lazy.size());
    assertFalse(lazy.spans());
    assertFalse(a.truncated());
    SpaceAreasJson cut = model.areas(0x110000L, 0x150000L, 2);
    assertEquals(2, cut.areas().size());
    assertTrue(cut.truncated());
  }

  @Test
  void perNodeBytesAreTheBytesOfItsZonesAndAddUp() {
    List<NodesJson.Node> nodes = model.nodes(k -> new NodesJson.Traffic(k, 0, 0, null, null, k));
    NodesJson.Node n0 = nodes.get(0);
    NodesJson.Node n1 = nodes.get(1);
    assertEquals(8, n0.zones());
    assertEquals(512 * K, n0.zoneBytes());
    assertEquals(96 * K, n0.busyBytes(), "A and node 0's part of B");
    assertEquals(1, n0.busy(), "areas in node 0's books");
    assertEquals(8 * K, n0.reservedBytes());
    assertEquals(408 * K, n0.freeBytes());
    assertEquals(7, n0.freeBlocks());
    assertEquals(64 * K, n0.largestFreeBlock());
    assertEquals(1, n0.heldParts());
    assertEquals(32 * K, n1.busyBytes());
    assertEquals(16 * K, n1.lazyBytes());
    assertEquals(1, n1.lazy());
    assertEquals(464 * K, n1.freeBytes());
    for (NodesJson.Node n : nodes) {
      assertEquals(n.zoneBytes(), n.busyBytes() + n.lazyBytes() + n.reservedBytes() + n.freeBytes(), "node " + n.node());
      assertEquals(n.node(), n.traffic().requests(), "the traffic of its own node");
    }
    // Free block sizes by power of two from the page up: node 0 has 32 KiB, 56 KiB and 5 x 64 KiB.
    List<NodesJson.FreeBucket> h = n0.freeHistogram();
    assertEquals(4096, h.get(0).minBytes());
    assertEquals(List.of(4096L, 8192L, 16384L, 32768L, 65536L), h.stream().map(NodesJson.FreeBucket::minBytes).toList());
    assertEquals(List.of(0L, 0L, 0L, 2L, 5L), h.stream().map(NodesJson.FreeBucket::blocks).toList());
    assertEquals(88 * K, h.get(3).bytes());
  }

  @Test
  void badRangesAndCountsAreErrorsNamingTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.cells(0x300000L, 0x400000L, 10));
    assertTrue(e.getMessage().contains("0x0000000000300000"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> model.cells(0x150000L, 0x140000L, 10));
    assertTrue(e.getMessage().startsWith("range: "), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> model.cells(0x100000L, 0x200000L, 0));
    assertEquals("cells: 0 is not in 1.." + SpaceModel.MAX_CELLS, e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> model.areas(0x100000L, 0x200000L, SpaceModel.MAX_AREAS + 1));
    assertTrue(e.getMessage().startsWith("limit: "), e.getMessage());
    assertNull(model.cells(0x100000L, 0x200000L, 4).columns().node().get(0));
  }

  static long[] longs(long... v) {
    return v;
  }
}
