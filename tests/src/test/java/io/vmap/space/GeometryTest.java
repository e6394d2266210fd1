package io.vmap.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GeometryTest {

  private static final long TOP = 0xfffffffffffff000L;

  private static BigInteger u(long v) {
    return new BigInteger(Long.toUnsignedString(v));
  }

  @Test
  void nodeOfIsUnsignedZoneModuloNodes() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int nodes : new int[] {1, 2, 3, 5, 7, 16, 4096}) {
      for (long zone : new long[] {0x1000, 1L << 25, 1L << 40}) {
        Geometry g = new Geometry(0, TOP, 0x1000, zone, 1);
        Geometry h = nodes == 1 ? g : new Geometry(TOP - zone * 1000, TOP, 0x1000, zone, nodes);
        for (int i = 0; i < 2000; i++) {
          long addr = i < 4 ? new long[] {0, -1L, 1L << 63, (1L << 63) - 1}[i] : rnd.nextLong();
          int expected = u(addr).divide(u(zone)).mod(BigInteger.valueOf(nodes)).intValueExact();
          assertEquals(expected, h.nodeOf(addr), () -> Unsigned.hex(addr) + " " + h);
          assertEquals(u(addr).divide(u(zone)).longValue(), h.zoneOf(addr));
          assertEquals(0, g.nodeOf(addr));
        }
      }
    }
  }

  @Test
  void defaultGeometry() {
    Geometry g = Geometry.defaults();
    assertEquals(0xffffc90000000000L, g.vstart());
    assertEquals(0xffffe90000000000L, g.vend());
    assertEquals(32L << 40, g.spaceBytes());
    assertEquals(1L << 20, g.zoneCount());
    // 0xffffc90000000000 / 32 MiB = 0x7fffe4800000, which is 0 mod 16.
    assertEquals(0, g.nodeOf(g.vstart()));
    assertEquals(1, g.nodeOf(g.vstart() + g.zone()));
    assertEquals(15, g.nodeOf(g.vend() - 1));
    assertEquals(40960, g.defaultLazyMaxPages()); // fls(16) = 5, 5 * 32 MiB / 4 KiB
  }

  @Test
  void lazyMaxPagesFollowsFls() {
    assertEquals(8192, new Geometry(0, 1L << 40, 4096, 1L << 25, 1).defaultLazyMaxPages());
    assertEquals(16384, new Geometry(0, 1L << 40, 4096, 1L << 25, 2).defaultLazyMaxPages());
    assertEquals(16384, new Geometry(0, 1L << 40, 4096, 1L << 25, 3).defaultLazyMaxPages());
    assertEquals(24576, new Geometry(0, 1L << 40, 4096, 1L << 25, 7).defaultLazyMaxPages());
    assertEquals(5 * 512, new Geometry(0, 1L << 40, 65536, 1L << 25, 16).defaultLazyMaxPages());
  }

  @Test
  void lazyMaxPagesIsAtMostHalfTheSpace() {
    // 64 MiB, 4 nodes: fls(4) = 3, 3 * 32 MiB = 96 MiB is more than the space; half its 16384 pages.
    Geometry small = new Geometry(0x100000000L, 0x104000000L, 4096, 1L << 20, 4);
    assertEquals(24576, small.kernelLazyMaxPages());
    assertEquals(8192, small.defaultLazyMaxPages());
    // One node, 8192 pages by the kernel's rule: from a space of twice that on, that rule alone.
    assertEquals(4096, new Geometry(0, 32L << 20, 4096, 1L << 20, 1).defaultLazyMaxPages());
    assertEquals(8192, new Geometry(0, 64L << 20, 4096, 1L << 20, 1).defaultLazyMaxPages());
    assertEquals(8192, new Geometry(0, 128L << 20, 4096, 1L << 20, 1).defaultLazyMaxPages());
    // One page: 0, every free purges at once.
    assertEquals(0, new Geometry(0, 4096, 4096, 4096, 1).defaultLazyMaxPages());
    // The top of the 64-bit space (unsigned size): the kernel's figure, far below half.
    assertEquals(8192, new Geometry(0x8000000000000000L, 0xfffffffffffff000L, 4096, 1L << 25, 1).defaultLazyMaxPages());
  }

  static Stream<Arguments> spaces() {
    List<Arguments> out = new ArrayList<>();
    for (int nodes = 1; nodes <= 7; nodes++) {
      out.add(Arguments.of(0L, 0x40000L, 0x1000L, 0x4000L, nodes)); // zone aligned, from 0
      out.add(Arguments.of(0x3000L, 0x3d000L, 0x1000L, 0x4000L, nodes)); // unaligned both ends
      out.add(Arguments.of(0x5000L, 0x7000L, 0x1000L, 0x4000L, nodes)); // inside one zone
      out.add(Arguments.of(0x3000L, 0x5000L, 0x1000L, 0x4000L, nodes)); // two partial zones
      out.add(Arguments.of(TOP - 0x40000L, TOP, 0x1000L, 0x4000L, nodes)); // last zone cut short
      out.add(Arguments.of(TOP - 0x3f000L, TOP, 0x1000L, 0x2000L, nodes)); // zone ending at 2^64
      out.add(Arguments.of(0x7fffffffff000000L, 0x8000000001000000L, 0x1000L, 0x100000L, nodes));
      out.add(Arguments.of(Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VSTART + (1L << 30), 0x1000L,
          1L << 25, nodes));
    }
    out.add(Arguments.of(0xfffffffffffffff0L - 0x1000, 0xfffffffffffffff0L, 16L, 64L, 5));
    out.add(Arguments.of(Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VEND, 0x1000L, 1L << 25, 16));
    return out.stream();
  }

  /** The nodes' ranges tile the space exactly once, and each range lies in zones of its node. */
  @ParameterizedTest(name = "{0}..{1} page {2} zone {3} nodes {4}")
  @MethodSource("spaces")
  void ownedRangesCoverTheSpaceExactlyOnce(long vstart, long vend, long page, long zone, int nodes) {
    Geometry g = new Geometry(vstart, vend, page, zone, nodes);
    List<long[]> all = new ArrayList<>();
    for (int node = 0; node < nodes; node++) {
      int n = node;
      long[] prevEnd = {0};
      boolean[] first = {true};
      g.forEachOwnedRange(node, (s, e) -> {
        // Messages are built only on failure: the default space has a million ranges.
        assertTrue(Unsigned.lt(s, e), "empty range");
        assertTrue(g.contains(s, e), "outside the space");
        assertEquals(n, g.nodeOf(s), () -> "start of " + Unsigned.hex(s));
        assertEquals(n, g.nodeOf(e - 1), () -> "end of " + Unsigned.hex(e));
        if (nodes > 1) {
          assertEquals(g.zoneOf(s), g.zoneOf(e - 1), "a range of many nodes spans one zone");
        }
        if (!first[0]) {
          assertTrue(Unsigned.lt(prevEnd[0], s), "ranges of one node are ordered and apart");
        }
        first[0] = false;
        prevEnd[0] = e;
        all.add(new long[] {s, e});
      });
    }
    all.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
    long at = vstart;
    for (long[] r : all) {
      if (r[0] != at) assertEquals(Unsigned.hex(at), Unsigned.hex(r[0]), "gap or overlap");
      at = r[1];
    }
    assertEquals(Unsigned.hex(vend), Unsigned.hex(at));
    assertEquals(nodes == 1 ? 1 : g.zoneCount(), all.size());
    // Every page's owner agrees with the range it falls in (small spaces only).
    if (g.spaceBytes() / page <= 4096) {
      for (long[] r : all) {
        for (long a = r[0]; Unsigned.lt(a, r[1]); a += page) {
          assertEquals(g.nodeOf(r[0]), g.nodeOf(a));
        }
      }
    }
  }

  /** The run form gives the same ranges, in at most three calls, and ownedBytes their sum. */
  @ParameterizedTest(name = "{0}..{1} page {2} zone {3} nodes {4}")
  @MethodSource("spaces")
  void ownedRunsAreTheOwnedRangesCompactly(long vstart, long vend, long page, long zone, int nodes) {
    Geometry g = new Geometry(vstart, vend, page, zone, nodes);
    long total = 0;
    for (int node = 0; node < nodes; node++) {
      List<long[]> ranges = new ArrayList<>();
      g.forEachOwnedRange(node, (s, e) -> ranges.add(new long[] {s, e}));
      List<long[]> expanded = new ArrayList<>();
      int[] calls = {0};
      g.forEachOwnedRun(node, (s, w, p, k) -> {
        calls[0]++;
        assertTrue(k >= 1 && (k == 1) == (p == 0), "count " + k + " stride " + p);
        if (k > 1) {
          assertEquals(zone, w, "a run's width is the zone");
          assertEquals(nodes * zone, p, "a run's stride is nodes zones");
          assertEquals(0, s % zone, "a run starts at a zone start");
        }
        for (long j = 0; j < k; j++) expanded.add(new long[] {s + j * p, s + j * p + w});
      });
      assertTrue(calls[0] <= 3, "calls " + calls[0]);
      assertEquals(ranges.size(), expanded.size());
      long bytes = 0;
      for (int i = 0; i < ranges.size(); i++) {
        assertEquals(Unsigned.hex(ranges.get(i)[0]), Unsigned.hex(expanded.get(i)[0]));
        assertEquals(Unsigned.hex(ranges.get(i)[1]), Unsigned.hex(expanded.get(i)[1]));
        bytes += ranges.get(i)[1] - ranges.get(i)[0];
      }
      assertEquals(bytes, g.ownedBytes(node));
      total += bytes;
    }
    assertEquals(g.spaceBytes(), total);
  }

  /** x86-64's vmalloc range with 5-level paging, 12.5 PiB, in the default 32 MiB zones. */
  @Test
  void theFiveLevelSpaceFitsUnderTheZoneCap() {
    Geometry g = new Geometry(0xffa0000000000000L, 0xffd2000000000000L, 4096, 32L << 20, 16);
    assertEquals(12800L << 40, g.spaceBytes());
    assertEquals(419_430_400L, g.zoneCount());
    for (int node : new int[] {0, 7, 15}) {
      List<long[]> runs = new ArrayList<>();
      g.forEachOwnedRun(node, (s, w, p, k) -> runs.add(new long[] {s, w, p, k}));
      assertEquals(1, runs.size());
      assertEquals(0xffa0000000000000L + node * (32L << 20), runs.get(0)[0]);
      assertEquals(26_214_400L, runs.get(0)[3]);
      assertEquals(g.spaceBytes() / 16, g.ownedBytes(node));
    }
    // The cap itself: 2^31 zones pass, one more does not.
    new Geometry(0, (1L << 31) * 4096, 4096, 4096, 2);
    expectBad("2147483649 zones", () -> new Geometry(0, ((1L << 31) + 1) * 4096, 4096, 4096, 2));
    assertThrows(IllegalArgumentException.class, () -> g.forEachOwnedRun(16, (s, w, p, k) -> { }));
    expectBad("node -1", () -> g.ownedBytes(-1));
  }

  @Test
  void zoneBoundsNearTheTop() {
    Geometry g = new Geometry(TOP - 0x3000, TOP, 0x1000, 0x2000, 2);
    long last = g.lastZone();
    assertEquals(u(TOP - 1).divide(u(0x2000)).longValue(), last);
    assertEquals(TOP - 0x1000, g.zoneLo(last));
    assertEquals(TOP, g.zoneHi(last)); // the raw zone end is 2^64
    assertEquals(TOP - 0x3000, g.zoneLo(g.firstZone()));
    assertEquals(TOP - 0x1000, g.zoneHi(g.firstZone()));
    assertEquals(2, g.zoneCount());
  }

  @Test
  void validationNamesTheBadValue() {
    expectBad("page 3", () -> new Geometry(0, 1L << 30, 3, 1L << 25, 1));
    expectBad("page 0", () -> new Geometry(0, 1L << 30, 0, 1L << 25, 1));
    expectBad("zone 12288", () -> new Geometry(0, 1L << 30, 4096, 12288, 1));
    expectBad("zone 2048", () -> new Geometry(0, 1L << 30, 4096, 2048, 1));
    expectBad("nodes 0", () -> new Geometry(0, 1L << 30, 4096, 1L << 25, 0));
    expectBad("nodes 4097", () -> new Geometry(0, 1L << 30, 4096, 1L << 25, 4097));
    expectBad("0x0000000040000000",
        () -> new Geometry(1L << 30, 1L << 30, 4096, 1L << 25, 1));
    expectBad("0xffffe90000000000",
        () -> new Geometry(Geometry.DEFAULT_VEND, Geometry.DEFAULT_VSTART, 4096, 1L << 25, 1));
    expectBad("0x0000000000000800", () -> new Geometry(0x800, 1L << 30, 4096, 1L << 25, 1));
    expectBad("0x0000000040000800", () -> new Geometry(0, (1L << 30) + 0x800, 4096, 1L << 25, 1));
    expectBad("zones", () -> new Geometry(0, TOP, 4096, 4096, 2));
  }

  private static void expectBad(String named, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(named), () -> "'" + e.getMessage() + "' should name " + named);
  }

  @Test
  void pageArithmetic() {
    Geometry g = Geometry.defaults();
    assertEquals(0x1000, g.pageRoundUp(1));
    assertEquals(0x1000, g.pageRoundUp(0x1000));
    assertEquals(0, g.pageRoundUp(0));
    assertEquals(Unsigned.OVERFLOW, g.pageRoundUp(-0xfffL));
    assertEquals(3, g.pagesOf(0x3000));
  }
}
