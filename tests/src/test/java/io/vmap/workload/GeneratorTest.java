package io.vmap.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The workload generator draws what its options say, reproducibly, and frees only held areas, once. */
class GeneratorTest {

  /** 4 nodes of 64 KiB zones over 8 MiB (ChaosWorkload's space). */
  static final Geometry G = new Geometry(0x100000000L, 0x100000000L + 128 * 0x10000L, 4096, 0x10000, 4);

  static final Generator.Options DEMO_LIKE =
      Generator.Options.of(new Generator.Mix(0.05, 0.15, 0.40), List.of(new Generator.Band(1, 1, 256)))
          .withFindInside(0.5)
          .withAligns(0.1, 13, 20)
          .withTags(0.25, List.of("a", "b"));

  /** Draws n ops, "allocating" each Alloc at a fresh address so frees have something to take. */
  static List<Op> draw(Generator g, long seed, int n, LiveAreas live) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Op> ops = new ArrayList<>();
    long next = G.vstart();
    for (int i = 0; i < n; i++) {
      Op op = g.next(rnd, live);
      ops.add(op);
      if (op instanceof Op.Alloc a) {
        live.add(new LiveAreas.Held(new Area(next, next + a.size(), ""), "r" + i));
        next += a.size();
      } else if (op instanceof Op.Free f) {
        live.released(f.area());
      }
    }
    return ops;
  }

  @Test
  void theSameSeedDrawsTheSameOperations() {
    Generator g = new Generator(G, DEMO_LIKE);
    assertEquals(draw(g, 42, 5000, new LiveAreas()), draw(g, 42, 5000, new LiveAreas()));
    assertTrue(!draw(g, 42, 100, new LiveAreas()).equals(draw(g, 43, 100, new LiveAreas())));
  }

  @Test
  void theMixAndTheAllocationShapesAreWhatTheOptionsSay() {
    List<Op> ops = draw(new Generator(G, DEMO_LIKE), 7, 20_000, new LiveAreas());
    int purges = 0, finds = 0, inside = 0, frees = 0, allocs = 0, aligned = 0, tagged = 0;
    for (Op op : ops) {
      if (op instanceof Op.Purge) purges++;
      if (op instanceof Op.Find f) {
        finds++;
        if (f.inside() != null) {
          inside++;
          assertTrue(f.inside().contains(f.addr()), f.toString());
        } else {
          assertTrue(G.contains(f.addr()), f.toString());
        }
      }
      if (op instanceof Op.Free) frees++;
      if (op instanceof Op.Alloc a) {
        allocs++;
        assertTrue(a.size() >= 4096 && a.size() <= 256 * 4096 && a.size() % 4096 == 0, a.toString());
        if (a.align() != 0) {
          aligned++;
          assertTrue(Long.bitCount(a.align()) == 1 && a.align() >= 1 << 13 && a.align() <= 1 << 20, a.toString());
        }
        if (a.tag() != null) {
          tagged++;
          assertTrue(a.tag().equals("a") || a.tag().equals("b"), a.toString());
        }
        assertNull(a.vstart());
        assertNull(a.home());
        assertTrue(!a.failFast());
      }
    }
    // 20,000 draws of a fixed seed: each fraction within a few standard deviations.
    assertNear(0.05, purges, ops.size());
    assertNear(0.15, finds, ops.size());
    assertNear(0.40, frees, ops.size());
    assertNear(0.40, allocs, ops.size());
    assertNear(0.5, inside, finds);
    assertNear(0.1, aligned, allocs);
    assertNear(0.25, tagged, allocs);
  }

  static void assertNear(double expected, int count, int of) {
    double f = (double) count / of;
    assertTrue(Math.abs(f - expected) < 0.02 + 4 * Math.sqrt(expected * (1 - expected) / of),
        count + " of " + of + " = " + f + ", expected about " + expected);
  }

  @Test
  void freesTakeHeldAreasAndNeverTheSameTwice() {
    LiveAreas live = new LiveAreas();
    List<Op> ops = draw(new Generator(G, DEMO_LIKE), 11, 20_000, live);
    Set<Area> allocated = new HashSet<>();
    Set<Area> freed = new HashSet<>();
    long next = G.vstart();
    for (Op op : ops) {
      if (op instanceof Op.Alloc a) {
        allocated.add(new Area(next, next + a.size(), ""));
        next += a.size();
      } else if (op instanceof Op.Free f) {
        assertTrue(allocated.contains(f.area()), "freed an area never allocated: " + f);
        assertTrue(freed.add(f.area()), "freed twice: " + f);
      }
    }
    assertEquals(allocated.size() - freed.size(), live.size());
  }

  @Test
  void windowsHomesAndFailFastStayInTheSpace() {
    Generator g = new Generator(G, io.vmap.chaos.ChaosWorkload.mix(G, 0.6));
    List<Op> ops = draw(g, 3, 20_000, new LiveAreas());
    int windows = 0, homes = 0, failFast = 0, spanning = 0, allocs = 0;
    for (Op op : ops) {
      if (!(op instanceof Op.Alloc a)) continue;
      allocs++;
      if (a.size() > G.zone()) spanning++;
      if (a.vstart() != null) {
        windows++;
        assertNotNull(a.vend());
        assertTrue(G.contains(a.vstart(), a.vend()), a.toString());
        assertTrue(a.vend() - a.vstart() <= 3 * G.zone() && a.size() <= a.vend() - a.vstart(), a.toString());
      }
      if (a.home() != null) {
        homes++;
        assertTrue(a.home() >= 0 && a.home() < G.nodes(), a.toString());
      }
      if (a.failFast()) failFast++;
    }
    assertNear(0.15, windows, allocs);
    assertNear(0.5, homes, allocs);
    assertNear(0.05, failFast, allocs);
    assertTrue(spanning > 0, "some allocations are larger than a zone");
  }

  @Test
  void aboveTheFillLimitAClientFreesInsteadOfAllocating() {
    // Allocations only, unless more than 1% of the space is held.
    Generator g = new Generator(G, Generator.Options.of(new Generator.Mix(0, 0, 0), List.of(new Generator.Band(1, 16, 16)))
        .withFill(0.01));
    LiveAreas live = new LiveAreas();
    List<Op> ops = draw(g, 5, 1000, live);
    long limit = (long) (0.01 * G.spaceBytes());
    assertTrue(ops.stream().anyMatch(o -> o instanceof Op.Free), "the fill limit made clients free");
    assertTrue(live.bytes() <= limit + 16 * 4096, live.bytes() + " bytes held");
  }

  @Test
  void badOptionsAreRefusedNamingTheValue() {
    assertThrows(IllegalArgumentException.class, () -> new Generator.Mix(0.5, 0.5, 0.5));
    assertThrows(IllegalArgumentException.class, () -> new Generator.Band(1, 0, 4));
    assertThrows(IllegalArgumentException.class, () -> new Generator.Band(1, 8, 4));
    assertThrows(IllegalArgumentException.class,
        () -> Generator.Options.of(new Generator.Mix(0, 0, 0), List.of()));
    assertThrows(IllegalArgumentException.class,
        () -> DEMO_LIKE.withAligns(0.5, 20, 13));
    assertThrows(IllegalArgumentException.class,
        () -> DEMO_LIKE.withTags(0.5, List.of()));
  }
}
