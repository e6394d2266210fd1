package io.vmap.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BusyTreeTest {

  private static final long TOP = 0xfffffffffffff000L;

  private static List<Area> list(Iterable<Area> areas) {
    List<Area> out = new ArrayList<>();
    areas.forEach(out::add);
    return out;
  }

  @Test
  void insertFindGetRemove() {
    BusyTree t = new BusyTree();
    Area a = new Area(0x1000, 0x3000, "a");
    Area b = new Area(0x3000, 0x4000, "b");
    Area c = new Area(0x8000, 0x9000, "c");
    t.insert(c);
    t.insert(a);
    t.insert(b);
    assertEquals(3, t.size());
    assertEquals(0x4000, t.busyBytes());
    assertEquals(List.of(a, b, c), new ArrayList<>(t.areas()));
    assertNull(t.find(0xfff));
    assertSame(a, t.find(0x1000));
    assertSame(a, t.find(0x2fff));
    assertSame(b, t.find(0x3000));
    assertNull(t.find(0x4000));
    assertNull(t.find(0x7fff));
    assertSame(c, t.find(0x8fff));
    assertNull(t.find(-1L));
    assertSame(b, t.get(0x3000));
    assertNull(t.get(0x3001));
    assertNull(t.remove(0x2000)); // inside a, not its start
    assertSame(a, t.remove(0x1000));
    assertNull(t.remove(0x1000));
    assertNull(t.find(0x1000));
    assertEquals(2, t.size());
    assertEquals(0x2000, t.busyBytes());
    assertThrows(UnsupportedOperationException.class, () -> t.areas().clear());
  }

  @Test
  void overlapsAreRejectedNamingBothAreas() {
    BusyTree t = new BusyTree();
    Area a = new Area(0x4000, 0x8000, "a");
    t.insert(a);
    Area[] bad = {
      new Area(0x4000, 0x8000, "same"),
      new Area(0x5000, 0x6000, "inside"),
      new Area(0x3000, 0x4001, "left"),
      new Area(0x7fff, 0x9000, "right"),
      new Area(0x0, 0x10000, "around"),
    };
    for (Area x : bad) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.insert(x));
      assertTrue(e.getMessage().contains(x.toString()), e.getMessage());
      assertTrue(e.getMessage().contains(a.toString()), e.getMessage());
      assertEquals(List.of(a), new ArrayList<>(t.areas()));
      assertEquals(0x4000, t.busyBytes());
    }
    t.insert(new Area(0x3000, 0x4000, "touching left"));
    t.insert(new Area(0x8000, 0x9000, "touching right"));
    assertEquals(3, t.size());
  }

  @Test
  void unsignedOrderNear2To64() {
    BusyTree t = new BusyTree();
    Area low = new Area(0x1000, 0x2000, "low");
    Area mid = new Area(0x7ffffffffffff000L, 0x8000000000001000L, "across 2^63");
    Area high = new Area(Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VSTART + 0x1000, "vmalloc");
    Area top = new Area(TOP, -1L, "top");
    t.insert(top);
    t.insert(high);
    t.insert(low);
    t.insert(mid);
    assertEquals(List.of(low, mid, high, top), new ArrayList<>(t.areas()));
    assertSame(mid, t.find(0x8000000000000000L));
    assertSame(mid, t.find(0x7ffffffffffff000L));
    assertSame(top, t.find(-2L));
    assertNull(t.find(-1L));
    assertSame(high, t.find(Geometry.DEFAULT_VSTART + 0xfff));
    assertThrows(IllegalStateException.class, () -> t.insert(new Area(TOP - 0x1000, TOP + 1, "x")));
    assertEquals(List.of(mid, high), list(t.areasStartingIn(0x2000, TOP)));
    assertEquals(List.of(high, top), list(t.areasStartingIn(Geometry.DEFAULT_VSTART, -1L)));
    assertEquals(List.of(), list(t.areasStartingIn(TOP, TOP)));
    assertEquals(List.of(), list(t.areasStartingIn(TOP, 0x1000)));
    assertEquals(List.of(low), list(t.areasStartingIn(0, 0x1001)));
    assertEquals(0x1000L + 0x2000 + 0x1000 + 0xfff, t.busyBytes());
  }

  /** Random inserts, removes and lookups against a list searched by brute force. */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 42, 0xfeedL})
  void agreesWithBruteForce(long seed) {
    long[] bases = {0x10000, Geometry.DEFAULT_VSTART, TOP - 4096L * 0x1000};
    for (long base : bases) {
      SplittableRandom rnd = new SplittableRandom(seed);
      BusyTree t = new BusyTree();
      List<Area> model = new ArrayList<>();
      long span = 4096L * 0x1000;
      for (int op = 0; op < 4000; op++) {
        int at = op;
        Supplier<String> ctx = () -> "seed " + seed + " base " + Unsigned.hex(base) + " op " + at;
        long s = base + rnd.nextLong(4096) * 0x1000;
        long e = Math.min(4096, (s - base) / 0x1000 + 1 + rnd.nextInt(16)) * 0x1000 + base;
        int k = rnd.nextInt(10);
        if (k < 5) {
          Area a = new Area(s, e, "t" + op);
          boolean overlaps = model.stream()
              .anyMatch(x -> Unsigned.lt(x.start(), a.end()) && Unsigned.lt(a.start(), x.end()));
          if (overlaps) {
            assertThrows(IllegalStateException.class, () -> t.insert(a), ctx);
          } else {
            t.insert(a);
            int i = 0;
            while (i < model.size() && Unsigned.lt(model.get(i).start(), a.start())) i++;
            model.add(i, a); // kept in address order
          }
        } else if (k < 8) {
          if (!model.isEmpty() && rnd.nextBoolean()) s = model.get(rnd.nextInt(model.size())).start();
          long start = s;
          Area expected = model.stream().filter(x -> x.start() == start).findFirst().orElse(null);
          assertSame(expected, t.remove(s), ctx);
          model.remove(expected);
        } else {
          long addr = base + rnd.nextLong(span + 0x1000) - 0x800;
          Area expected = model.stream().filter(x -> x.contains(addr)).findFirst().orElse(null);
          assertSame(expected, t.find(addr), ctx);
          long lo = base + rnd.nextLong(span);
          long hi = lo + rnd.nextLong(span / 4);
          List<Area> in = model.stream()
              .filter(x -> Unsigned.le(lo, x.start()) && Unsigned.lt(x.start(), hi))
              .sorted(Comparator.comparing(Area::start, Long::compareUnsigned))
              .toList();
          assertEquals(in, list(t.areasStartingIn(lo, hi)), ctx);
        }
        assertEquals(model, new ArrayList<>(t.areas()), ctx);
        assertEquals(model.size(), t.size(), ctx);
        assertEquals(model.stream().mapToLong(Area::size).sum(), t.busyBytes(), ctx);
      }
    }
  }
}
