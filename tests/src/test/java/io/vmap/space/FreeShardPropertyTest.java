package io.vmap.space;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random operations on a {@link FreeShard} against a brute-force model: a bitmap of units
 * over a small space, whose lowest fit tries every aligned address. After each operation the two
 * must agree on the result and on every block, and the shard's invariants must hold.
 *
 * <p>The space is {@code units} units of {@code unit} bytes from {@code base}. Sizes and block
 * bounds are whole units and alignments at least one unit, so every carve stays on unit
 * boundaries; {@code lo} may be any byte. A unit of one byte covers arbitrarily misaligned blocks.
 *
 * <p>Alignments run from one unit to 2^63. The shard answers aligns up to
 * {@link FreeShard#exactAlignLimit()} with its class deficits and larger ones with its near-miss
 * walk; the spaces cover both: "past the classes" is long enough (in 1-byte units, so a granule of
 * one byte) for aligns above the limit to land inside it, and its blocks are mostly short, so
 * near misses abound. After every operation the class maxima at the root are compared with the
 * model's too.
 *
 * <p>{@link #runsAgreeWithBruteForce} starts from the shard of one node of a small {@link
 * Geometry} (one run of zones, edge zones cut by the space's bounds) and also releases space the
 * shard never held (other nodes' zones, in a run's gaps), so runs are cut, expanded, merged and
 * rejoined.
 */
class FreeShardPropertyTest {

  private static final int OPS = 5000;
  private static final long[] SEEDS = {1, 0x5eed, 0xdeadbeefL};

  static Stream<Arguments> spaces() {
    List<Arguments> out = new ArrayList<>();
    Object[][] spaces = {
      {"low bytes", 0L, 1L, 600},
      {"low pages", 0x10000L, 0x1000L, 1024},
      {"vmalloc range", Geometry.DEFAULT_VSTART, 0x1000L, 1024},
      {"ending at 0xfffffffffffff000", 0xfffffffffffff000L - 1024 * 0x1000L, 0x1000L, 1024},
      {"ending at 2^64 - 1", -1L - 700, 1L, 700},
      {"around 2^63", (1L << 63) - 256 * 0x10L, 0x10L, 512},
      {"past the classes", 0x100000L, 1L, 40000},
    };
    for (Object[] s : spaces) {
      for (long seed : SEEDS) out.add(Arguments.of(s[0], s[1], s[2], s[3], seed));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} seed {4}")
  @MethodSource("spaces")
  void agreesWithBruteForce(String name, long base, long unit, int units, long seed) {
    Run run = new Run(base, unit, units, seed, null, 0);
    try {
      run.go();
    } catch (Throwable t) {
      throw new AssertionError(
          "space '" + name + "' seed " + seed + " op " + run.op + " (" + run.what.get() + "): " + t,
          t);
    }
  }

  static Stream<Arguments> geometries() {
    List<Arguments> out = new ArrayList<>();
    Object[][] geometries = {
      // name, vstart, vend, page, zone, nodes, node
      {"4 nodes, zone-aligned", 0x100000L, 0x100000L + 256 * 0x1000L, 0x1000L, 0x4000L, 4, 1},
      {"3 nodes, both edges cut", 0x103000L, 0x103000L + 301 * 0x1000L, 0x1000L, 0x4000L, 3, 0},
      {"5 nodes, node owning the cut last zone", 0x10000L, 0x10000L + 250 * 0x1000L, 0x1000L,
          0x8000L, 5, 3},
      {"2 nodes, ending at 0xfffffffffffff000", 0xfffffffffffff000L - 300 * 0x1000L,
          0xfffffffffffff000L, 0x1000L, 0x4000L, 2, 1},
      {"7 nodes, around 2^63", (1L << 63) - 150 * 0x1000L, (1L << 63) + 150 * 0x1000L, 0x1000L,
          0x2000L, 7, 6},
      {"16 nodes, 1-byte pages", 0x400L, 0x400L + 2048, 1L, 8L, 16, 5},
      // Granule 1 byte: aligns above the exact limit (2^14) land inside; node 0 owns the zones
      // at multiples of 2^14 (zone index 0 mod 256), half of them odd multiples: near misses.
      {"4 nodes, zones of 64 bytes past the classes", 0x10000L - 0x100L, 0x10000L + 0x10000L,
          1L, 64L, 4, 0},
    };
    for (Object[] g : geometries) {
      for (long seed : SEEDS) out.add(Arguments.of(g[0], g[1], g[2], g[3], g[4], g[5], g[6], seed));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} seed {7}")
  @MethodSource("geometries")
  void runsAgreeWithBruteForce(String name, long vstart, long vend, long page, long zone,
      int nodes, int node, long seed) {
    Geometry g = new Geometry(vstart, vend, page, zone, nodes);
    int units = (int) ((vend - vstart) / page);
    Run run = new Run(vstart, page, units, seed, g, node);
    try {
      run.go();
    } catch (Throwable t) {
      throw new AssertionError(
          "geometry '" + name + "' seed " + seed + " op " + run.op + " (" + run.what.get() + "): "
              + t, t);
    }
  }

  /**
   * A large sparse space (2^40 bytes and more, or the top of the address space) that a bitmap
   * cannot model: a few thousand blocks, many placed at odd multiples of powers of two from a page
   * to 2^44 (the bait for near misses at every class and above the exact limit), against a sorted
   * list and {@link FreeShardTest#linearLowest}, through allocations and releases.
   */
  @ParameterizedTest(name = "base {0} seed {1}")
  @MethodSource("sparse")
  void sparseBlocksAgreeWithLinearScan(long base, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    long page = 0x1000;
    List<long[]> model = new ArrayList<>();
    long at = base;
    for (int i = 0; i < 3000; i++) {
      int kind = rnd.nextInt(10);
      long next;
      if (kind < 4) {
        int r = 13 + rnd.nextInt(32); // an odd multiple of 2^(r-1): aligned to 2^(r-1), not 2^r
        long a = 1L << r;
        next = Unsigned.alignUp(at + page, a);
        if (next == Unsigned.OVERFLOW) break;
        next += a >>> 1;
      } else {
        next = at + page * (1 + rnd.nextInt(64));
      }
      long len = page * (kind == 9 ? 1 + rnd.nextInt(4096) : 1 + rnd.nextInt(8));
      long end = next + len;
      if (Unsigned.lt(next, at) || Unsigned.lt(end, next) || Unsigned.lt(0xfffffffffffff000L, end)) {
        break;
      }
      model.add(new long[] {next, end});
      at = end;
    }
    long[] s0 = new long[model.size()];
    long[] e0 = new long[model.size()];
    for (int i = 0; i < model.size(); i++) {
      s0[i] = model.get(i)[0];
      e0[i] = model.get(i)[1];
    }
    FreeShard f = FreeShard.ofBlocks(s0, e0, model.size());
    List<long[]> carved = new ArrayList<>();
    long lowest = model.get(0)[0];
    long highest = model.get(model.size() - 1)[1];
    for (int op = 0; op < 3000; op++) {
      long size = page * (rnd.nextInt(8) == 0 ? 1 + rnd.nextInt(64) : 1 + rnd.nextInt(4));
      long align = 1L << (12 + rnd.nextInt(rnd.nextBoolean() ? 20 : 52));
      long lo = rnd.nextInt(5) == 0 ? 0 : lowest + below(rnd, highest - lowest);
      long hi = rnd.nextInt(3) == 0 ? -1L : lo + below(rnd, -1L - lo);
      long want = FreeShardTest.linearLowest(model, size, align, lo, hi);
      int o = op;
      boolean alloc = rnd.nextBoolean();
      long got = alloc ? f.allocLowest(size, align, lo, hi) : f.findLowest(size, align, lo, hi);
      if (want != got) {
        assertEquals(Unsigned.hex(want), Unsigned.hex(got), () -> "op " + o + " size "
            + Unsigned.hex(size) + " align " + Unsigned.hex(align) + " lo " + Unsigned.hex(lo)
            + " hi " + Unsigned.hex(hi));
      }
      if (alloc && got != FreeShard.NO_FIT) {
        carve(model, got, got + size);
        carved.add(new long[] {got, got + size});
      }
      if (!carved.isEmpty() && rnd.nextInt(3) == 0) {
        long[] c = carved.remove(rnd.nextInt(carved.size()));
        f.release(c[0], c[1]);
        free(model, c[0], c[1]);
      }
      if (op % 100 == 0) {
        f.checkInvariants();
        StringBuilder have = new StringBuilder();
        f.forEach((s, e) -> have.append(Unsigned.hex(s)).append('-').append(Unsigned.hex(e)).append(' '));
        StringBuilder expect = new StringBuilder();
        for (long[] b : model) {
          expect.append(Unsigned.hex(b[0])).append('-').append(Unsigned.hex(b[1])).append(' ');
        }
        assertEquals(expect.toString(), have.toString());
        assertEquals(bytesOf(model), f.freeBytes());
      }
    }
    f.checkInvariants();
  }

  static Stream<Arguments> sparse() {
    List<Arguments> out = new ArrayList<>();
    for (long base : new long[] {0x1000L, Geometry.DEFAULT_VSTART, 0xffff000000000000L}) {
      for (long seed : SEEDS) out.add(Arguments.of(base, seed));
    }
    return out.stream();
  }

  /** A random value in [0, bound), bound unsigned and nonzero. */
  private static long below(SplittableRandom rnd, long bound) {
    if (bound > 0) return rnd.nextLong(bound);
    for (;;) {
      long x = rnd.nextLong();
      if (Unsigned.lt(x, bound)) return x;
    }
  }

  private static long bytesOf(List<long[]> model) {
    long b = 0;
    for (long[] r : model) b += r[1] - r[0];
    return b;
  }

  /** Removes [s, e), which lies inside one block of the sorted model. */
  private static void carve(List<long[]> model, long s, long e) {
    for (int i = 0; i < model.size(); i++) {
      long[] b = model.get(i);
      if (Unsigned.le(b[0], s) && Unsigned.le(e, b[1])) {
        model.remove(i);
        if (Unsigned.lt(e, b[1])) model.add(i, new long[] {e, b[1]});
        if (Unsigned.lt(b[0], s)) model.add(i, new long[] {b[0], s});
        return;
      }
    }
    throw new AssertionError("model: " + Unsigned.hex(s) + " is not free");
  }

  /** Adds [s, e) to the sorted model, merging with touching neighbours. */
  private static void free(List<long[]> model, long s, long e) {
    int i = 0;
    while (i < model.size() && Unsigned.lt(model.get(i)[0], s)) i++;
    long ns = s;
    long ne = e;
    if (i > 0 && model.get(i - 1)[1] == s) {
      ns = model.get(i - 1)[0];
      model.remove(--i);
    }
    if (i < model.size() && model.get(i)[0] == e) {
      ne = model.get(i)[1];
      model.remove(i);
    }
    model.add(i, new long[] {ns, ne});
  }

  /** One seeded run: a shard, its model, and the pieces carved out that may be released. */
  private static final class Run {
    final long base;
    final long unit;
    final int units;
    final long spaceEnd;
    final SplittableRandom rnd;
    final boolean[] free;
    /** runLen[i]: free units from unit i on (0 if unit i is busy). */
    final int[] runLen;
    final List<long[]> runs = new ArrayList<>();
    final List<long[]> pieces = new ArrayList<>();
    /** The geometry whose node's shard this is, or null for a shard built by releases. */
    final Geometry geometry;
    final int node;
    FreeShard shard;
    int op;
    /** The operation under way, formatted only if it fails. */
    Supplier<String> what = () -> "setup";

    Run(long base, long unit, int units, long seed, Geometry geometry, int node) {
      this.base = base;
      this.unit = unit;
      this.units = units;
      this.spaceEnd = base + units * unit;
      this.rnd = new SplittableRandom(seed);
      this.free = new boolean[units];
      this.runLen = new int[units + 1];
      this.geometry = geometry;
      this.node = node;
    }

    void go() {
      if (geometry != null) {
        goRuns();
        return;
      }
      shard = new FreeShard();
      // Start with random blocks released in random order, exercising every kind of merge.
      List<long[]> initial = new ArrayList<>();
      for (int u = 0; u < units; ) {
        int len = 1 + rnd.nextInt(Math.max(1, units / 16));
        len = Math.min(len, units - u);
        if (rnd.nextInt(3) != 0) initial.add(new long[] {u, u + len});
        else pieces.add(new long[] {addr(u), addr(u + len)});
        u += len;
      }
      while (!initial.isEmpty()) {
        long[] r = initial.remove(rnd.nextInt(initial.size()));
        release(addr((int) r[0]), addr((int) r[1]));
      }
      compare();
      for (op = 0; op < OPS; op++) {
        int k = rnd.nextInt(100);
        if (k < 35) {
          allocLowest();
        } else if (k < 45) {
          allocExact();
        } else if (k < 80) {
          releasePiece();
        } else if (k < 85) {
          releaseTwice();
        } else {
          query();
        }
      }
    }

    /** From a node's initial shard: mostly runs; releases also fill other nodes' zones. */
    void goRuns() {
      shard = FreeShard.of(geometry, node);
      geometry.forEachOwnedRange(node, (s, e) -> {
        for (int u = unitOf(s); u < unitOf(e); u++) free[u] = true;
      });
      mark(base, base, true); // recompute the runs only
      assertTrue(shard.entryCount() <= 3, () -> "initial entries " + shard.entryCount());
      compare();
      for (op = 0; op < OPS; op++) {
        int k = rnd.nextInt(100);
        if (k < 35) {
          allocLowest();
        } else if (k < 45) {
          allocExact();
        } else if (k < 70) {
          releasePiece();
        } else if (k < 78) {
          releaseBusy();
        } else if (k < 83) {
          releaseTwice();
        } else if (k < 98) {
          query();
        } else {
          snapshotRoundTrip();
        }
      }
    }

    // --- operations -------------------------------------------------------------------------------

    /**
     * Releases part of a busy stretch that was never carved here (another node's zone, a run's
     * gap), or a carved piece's neighbourhood: anything not free.
     */
    void releaseBusy() {
      int u = rnd.nextInt(units);
      if (free[u]) return;
      int e = u;
      int max = 1 + rnd.nextInt(Math.max(1, units / 8));
      while (e < units && !free[e] && e - u < max) e++;
      long s = addr(u);
      long end = addr(e);
      // Drop pieces overlapping what is released now: they are free again.
      List<long[]> keep = new ArrayList<>();
      for (long[] p : pieces) {
        if (Unsigned.le(end, p[0]) || Unsigned.le(p[1], s)) {
          keep.add(p);
        } else {
          if (Unsigned.lt(p[0], s)) keep.add(new long[] {p[0], s});
          if (Unsigned.lt(end, p[1])) keep.add(new long[] {end, p[1]});
        }
      }
      pieces.clear();
      pieces.addAll(keep);
      what = () -> "release busy " + Unsigned.hex(s) + "-" + Unsigned.hex(end);
      release(s, end);
      compare();
    }

    /** forEachRun then ofRuns gives the same shard, and forEachRunIn cuts runs to [lo, hi). */
    void snapshotRoundTrip() {
      List<long[]> entries = new ArrayList<>();
      shard.forEachRun((s, w, p, k) -> entries.add(new long[] {s, w, p, k}));
      assertEquals(shard.entryCount(), entries.size(), "forEachRun entries");
      int n = entries.size();
      long[][] cols = new long[4][n];
      for (int i = 0; i < n; i++) {
        for (int c = 0; c < 4; c++) cols[c][i] = entries.get(i)[c];
      }
      FreeShard copy = FreeShard.ofRuns(geometry, cols[0], cols[1], cols[2], cols[3], n);
      copy.checkInvariants();
      assertEquals(blocks(), blocksOf(copy), "ofRuns(forEachRun)");
      assertEquals(shard.entryCount(), copy.entryCount(), "entries of the copy");
      // The blocks one by one, folded back into runs where whole zones are a stride apart.
      int b = shard.blockCount();
      long[] bs = new long[b];
      long[] be = new long[b];
      int[] at = {0};
      shard.forEach((s, e) -> {
        bs[at[0]] = s;
        be[at[0]++] = e;
      });
      FreeShard folded = FreeShard.ofBlocks(geometry, bs, be, b);
      folded.checkInvariants();
      assertEquals(blocks(), blocksOf(folded), "ofBlocks(geometry, forEach)");
      assertTrue(folded.entryCount() <= shard.entryCount(),
          () -> "folded " + folded.entryCount() + " entries, live " + shard.entryCount());
      long lo = bound();
      long hi = bound();
      List<Long> want = new ArrayList<>();
      shard.forEachIn(lo, hi, (s, e) -> {
        want.add(s);
        want.add(e);
      });
      List<Long> have = new ArrayList<>();
      shard.forEachRunIn(lo, hi, (s, w, p, k) -> {
        assertTrue(k >= 1 && (k == 1) == (p == 0), "count " + k + " stride " + p);
        for (long j = 0; j < k; j++) {
          have.add(s + j * p);
          have.add(s + j * p + w);
        }
      });
      assertEquals(want, have, () -> "forEachRunIn " + hex(lo) + " " + hex(hi));
      shard = copy; // continue on the copy: it must behave the same
    }

    void allocLowest() {
      long size = size();
      long align = align();
      long lo = bound();
      long hi = rnd.nextInt(4) == 0 ? -1L : bound();
      what = () -> "alloc size " + Unsigned.hex(size) + " align " + Unsigned.hex(align) + " lo "
          + Unsigned.hex(lo) + " hi " + Unsigned.hex(hi);
      long expected = lowestFit(size, align, lo, hi);
      // A free run of at least size + align - 1 inside [lo, hi) always satisfies the request.
      long slack = Unsigned.addOrOverflow(size, align - 1);
      if (slack != Unsigned.OVERFLOW) {
        for (long[] r : runs) {
          long s = Unsigned.max(r[0], lo);
          long e = Unsigned.min(r[1], hi);
          if (Unsigned.lt(s, e) && Unsigned.le(slack, e - s)) {
            assertNotEquals(FreeShard.NO_FIT, expected, "the model missed a guaranteed fit");
          }
        }
      }
      assertAddress(expected, shard.findLowest(size, align, lo, hi), "findLowest");
      compare(); // findLowest changes nothing
      long got = shard.allocLowest(size, align, lo, hi);
      assertAddress(expected, got, "allocLowest");
      if (got != FreeShard.NO_FIT) {
        mark(got, got + size, false);
        pieces.add(new long[] {got, got + size});
      }
      compare();
    }

    void allocExact() {
      int u = rnd.nextInt(units);
      int len = 1 + rnd.nextInt(Math.max(1, units / 8));
      long s = addr(u);
      long e = rnd.nextInt(10) == 0 && u + len > units
          ? beyondEnd(u + len)
          : addr(Math.min(u + len, units));
      what = () -> "allocExact " + Unsigned.hex(s) + "-" + Unsigned.hex(e);
      boolean expected = allFree(s, e);
      assertEquals(expected, shard.isFree(s, e), "isFree");
      assertEquals(expected, shard.allocExact(s, e), "allocExact");
      if (expected) {
        mark(s, e, false);
        pieces.add(new long[] {s, e});
      }
      compare();
    }

    /** Releases a carved piece whole, or a random part of it keeping the rest carved. */
    void releasePiece() {
      if (pieces.isEmpty()) return;
      long[] p = pieces.remove(rnd.nextInt(pieces.size()));
      long n = (p[1] - p[0]) / unit;
      long s = p[0];
      long e = p[1];
      if (n > 1 && rnd.nextBoolean()) {
        long a = rnd.nextLong(n);
        long b = a + 1 + rnd.nextLong(n - a);
        s = p[0] + a * unit;
        e = p[0] + b * unit;
        if (s != p[0]) pieces.add(new long[] {p[0], s});
        if (e != p[1]) pieces.add(new long[] {e, p[1]});
      }
      long rs = s;
      long re = e;
      what = () -> "release " + Unsigned.hex(rs) + "-" + Unsigned.hex(re);
      release(rs, re);
      compare();
    }

    /** Releasing anything that overlaps free space must be refused and change nothing. */
    void releaseTwice() {
      if (runs.isEmpty()) return;
      long[] r = runs.get(rnd.nextInt(runs.size()));
      int ru = unitOf(r[0]);
      int rn = (int) ((r[1] - r[0]) / unit);
      int u = Math.max(0, ru - rnd.nextInt(4));
      int end = Math.min(units, ru + 1 + rnd.nextInt(rn + 4));
      if (end <= ru) end = ru + 1;
      long s = addr(u);
      long e = addr(end);
      what = () -> "double release " + Unsigned.hex(s) + "-" + Unsigned.hex(e);
      assertThrows(IllegalStateException.class, () -> shard.release(s, e));
      compare(); // the model did not change, so neither may the shard
    }

    void query() {
      long addr = bound();
      what = () -> "query " + Unsigned.hex(addr);
      long[] expected = null;
      for (long[] r : runs) {
        if (Unsigned.le(r[0], addr) && Unsigned.lt(addr, r[1])) expected = r;
      }
      long[] got = shard.blockContaining(addr);
      if (expected == null) {
        assertNull(got, () -> "blockContaining gave " + hex(got[0]) + "-" + hex(got[1]));
      } else {
        assertArrayEquals(expected, got, "blockContaining");
      }
      long lo = bound();
      long hi = rnd.nextInt(4) == 0 ? -1L : bound();
      List<Long> want = new ArrayList<>();
      for (long[] r : runs) {
        if (Unsigned.lt(lo, hi) && Unsigned.lt(lo, r[1]) && Unsigned.lt(r[0], hi)) {
          want.add(r[0]);
          want.add(r[1]);
        }
      }
      List<Long> have = new ArrayList<>();
      shard.forEachIn(lo, hi, (s, e) -> {
        have.add(s);
        have.add(e);
      });
      assertEquals(want, have, () -> "forEachIn " + hex(lo) + " " + hex(hi));
    }

    // --- random parameters ------------------------------------------------------------------------

    long size() {
      int k = rnd.nextInt(100);
      if (k < 3) {
        long[] huge = {-1L, 1L << 63, -unit, units * unit + unit, (long) units * unit * 2};
        return huge[rnd.nextInt(huge.length)];
      }
      int max = k < 80 ? Math.max(1, units / 16) : units;
      return (1 + rnd.nextInt(max)) * unit;
    }

    long align() {
      int k = rnd.nextInt(100);
      if (k < 2) return 1L << 63;
      if (k < 4) return 1L << 62;
      if (k < 15) {
        // Around the exact limit: the top classes and the near-miss walk above them.
        int limit = Long.numberOfTrailingZeros(shard.exactAlignLimit());
        return 1L << Math.min(63, limit - 2 + rnd.nextInt(5));
      }
      int lowest = Long.numberOfTrailingZeros(unit);
      int highest = 64 - Long.numberOfLeadingZeros(units * unit) + 1;
      int shift = lowest + (k < 50 ? 0 : rnd.nextInt(Math.min(62, highest) - lowest + 1));
      return 1L << shift;
    }

    /** An address near the space, any byte: mostly inside, sometimes around or far outside. */
    long bound() {
      int k = rnd.nextInt(100);
      if (k < 3) return 0;
      if (k < 5) return -1L;
      long lowest = Unsigned.lt(base, unit) ? 0 : base - unit;
      long highest = Unsigned.lt(-1L - unit, spaceEnd) ? -1L : spaceEnd + unit;
      long a = lowest + rnd.nextLong(highest - lowest + 1);
      if (k < 60) a -= Long.remainderUnsigned(a - base, unit); // whole units from base
      return a;
    }

    // --- model ------------------------------------------------------------------------------------

    long addr(int u) {
      return base + u * unit;
    }

    int unitOf(long a) {
      return (int) ((a - base) / unit);
    }

    /** Unit {@code u}'s address past the space, cut at 2^64 - 1 where it would wrap. */
    long beyondEnd(int u) {
      long a = base + u * unit;
      return Unsigned.lt(a, base) ? -1L : a;
    }

    boolean allFree(long s, long e) {
      if (Unsigned.lt(s, base) || Unsigned.lt(spaceEnd, e) || Unsigned.lt(spaceEnd, base)) {
        return false;
      }
      int us = unitOf(s);
      long n = (e - s) / unit;
      return runLen[us] >= n;
    }

    /** Tries every aligned address from max(lo, base) while an area could still end in space. */
    long lowestFit(long size, long align, long lo, long hi) {
      long end = Unsigned.min(hi, spaceEnd);
      long a = Unsigned.alignUp(Unsigned.max(lo, base), align);
      for (; a != Unsigned.OVERFLOW && Unsigned.lt(a, end); ) {
        long e = a + size;
        if (Unsigned.lt(a, e) && Unsigned.le(e, end)) {
          if ((size % unit) == 0 && allFree(a, e)) return a;
        } else {
          return FreeShard.NO_FIT; // later addresses end later still
        }
        a = Unsigned.addOrOverflow(a, align);
      }
      return FreeShard.NO_FIT;
    }

    void release(long s, long e) {
      shard.release(s, e);
      mark(s, e, true);
    }

    void mark(long s, long e, boolean value) {
      int us = unitOf(s);
      int ue = unitOf(e);
      for (int u = us; u < ue; u++) {
        if (free[u] == value) throw new AssertionError("model: unit " + u + " already " + value);
        free[u] = value;
      }
      runs.clear();
      runLen[units] = 0;
      for (int u = units - 1; u >= 0; u--) runLen[u] = free[u] ? runLen[u + 1] + 1 : 0;
      for (int u = 0; u < units; ) {
        if (!free[u]) {
          u++;
          continue;
        }
        runs.add(new long[] {addr(u), addr(u + runLen[u])});
        u += runLen[u];
      }
    }

    /** The shard agrees with the model on every block and every cached figure. */
    void compare() {
      shard.checkInvariants();
      compareClasses();
      long bytes = 0;
      long largest = 0;
      for (long[] r : runs) {
        bytes += r[1] - r[0];
        largest = Unsigned.max(largest, r[1] - r[0]);
      }
      // Compared as numbers; formatted only when they differ.
      long[] have = new long[2 * shard.blockCount() + 2];
      int[] n = {0};
      shard.forEach((s, e) -> {
        if (n[0] + 2 <= have.length) {
          have[n[0]++] = s;
          have[n[0]++] = e;
        }
      });
      boolean same = n[0] == 2 * runs.size() && n[0] == 2 * shard.blockCount();
      for (int i = 0; same && i < runs.size(); i++) {
        same = have[2 * i] == runs.get(i)[0] && have[2 * i + 1] == runs.get(i)[1];
      }
      if (!same) assertEquals(modelBlocks(), blocks(), "blocks");
      assertEquals(bytes, shard.freeBytes(), "freeBytes");
      assertEquals(runs.size(), shard.blockCount(), "blockCount");
      assertEquals(largest, shard.largestBlock(), "largestBlock");
    }

    /**
     * For every class, the largest {@code end - alignUp(start, 2^(g + c))} over the model's
     * blocks, clipped at 0 (a run stores 0 where none of its members has an aligned address, a
     * block its negative length: both mean "fits nothing"), against the shard's root.
     */
    void compareClasses() {
      int g = shard.granuleShift();
      for (int c = 1; c <= FreeShard.CLASSES && g + c <= 63; c++) {
        long align = 1L << (g + c);
        BigInteger best = BigInteger.ZERO;
        for (long[] r : runs) {
          long a = Unsigned.alignUp(r[0], align);
          if (a == Unsigned.OVERFLOW) continue;
          BigInteger f = u(r[1]).subtract(u(a));
          if (f.compareTo(best) > 0) best = f;
        }
        BigInteger have = u(shard.largestBlock()).subtract(u(shard.classDeficit(c)));
        if (have.signum() < 0) have = BigInteger.ZERO;
        if (!best.equals(have)) {
          assertEquals(best.toString(16), have.toString(16), "largest fit aligned to " + hex(align));
        }
      }
    }

    static BigInteger u(long v) {
      return new BigInteger(Long.toUnsignedString(v));
    }

    String blocksOf(FreeShard f) {
      StringBuilder have = new StringBuilder();
      f.forEach((s, e) -> have.append(hex(s)).append('-').append(hex(e)).append(' '));
      return have.toString();
    }

    String modelBlocks() {
      StringBuilder want = new StringBuilder();
      for (long[] r : runs) want.append(hex(r[0])).append('-').append(hex(r[1])).append(' ');
      return want.toString();
    }

    String blocks() {
      StringBuilder have = new StringBuilder();
      shard.forEach((s, e) -> have.append(hex(s)).append('-').append(hex(e)).append(' '));
      return have.toString();
    }

    static void assertAddress(long expected, long actual, String what) {
      if (expected != actual) assertEquals(hex(expected), hex(actual), what);
    }

    static String hex(long v) {
      return Unsigned.hex(v);
    }
  }
}
