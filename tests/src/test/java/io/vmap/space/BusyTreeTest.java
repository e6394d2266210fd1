package io.vmap.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BusyTreeTest {

  private static final long TOP = 0xfffffffffffff000L;

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
    assertEquals(a, t.find(0x1000));
    assertEquals(a, t.find(0x2fff));
    assertEquals(b, t.find(0x3000));
    assertNull(t.find(0x4000));
    assertNull(t.find(0x7fff));
    assertEquals(c, t.find(0x8fff));
    assertNull(t.find(-1L));
    assertEquals(b, t.get(0x3000));
    assertNull(t.get(0x3001));
    assertNull(t.remove(0x2000)); // inside a, not its start
    assertEquals(a, t.remove(0x1000));
    assertNull(t.remove(0x1000));
    assertNull(t.find(0x1000));
    assertEquals(2, t.size());
    assertEquals(0x2000, t.busyBytes());
    assertThrows(UnsupportedOperationException.class, () -> t.areas().clear());
  }

  /**
   * A reader on another thread skips the tag array for an untagged area (the first-page index
   * says so): tagged and untagged areas, by their first page and past it (the tree walk), keep
   * their own tags, also after a slot is reused by an area with the other kind of tag.
   */
  @Test
  void concurrentFindKeepsEachAreasTag() {
    BusyTree t = new BusyTree();
    Area plain = new Area(0x10000, 0x13000, null);
    Area tagged = new Area(0x13000, 0x16000, "t");
    t.insert(plain);
    t.insert(tagged);
    for (long addr : new long[] {0x10000, 0x10fff, 0x12fff}) assertEquals(plain, t.findConcurrent(addr));
    for (long addr : new long[] {0x13000, 0x13fff, 0x15fff}) assertEquals(tagged, t.findConcurrent(addr));
    assertEquals("", t.findConcurrent(0x10000).tag());
    t.remove(0x10000);
    t.remove(0x13000);
    Area nowTagged = new Area(0x10000, 0x11000, "u"); // reuses a freed slot
    Area nowPlain = new Area(0x13000, 0x14000, "");
    t.insert(nowTagged);
    t.insert(nowPlain);
    assertEquals(nowTagged, t.findConcurrent(0x10800));
    assertEquals(nowPlain, t.findConcurrent(0x13800));
    assertNull(t.findConcurrent(0x14000));
  }

  @Test
  void pageMustBeAPowerOfTwo() {
    for (long bad : new long[] {0, -4096, 3000}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BusyTree(bad));
      assertTrue(e.getMessage().contains("page " + bad), e.getMessage());
    }
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
    assertEquals(mid, t.find(0x8000000000000000L));
    assertEquals(mid, t.find(0x7ffffffffffff000L));
    assertEquals(top, t.find(-2L));
    assertNull(t.find(-1L));
    assertEquals(high, t.find(Geometry.DEFAULT_VSTART + 0xfff));
    assertThrows(IllegalStateException.class, () -> t.insert(new Area(TOP - 0x1000, TOP + 1, "x")));
    assertEquals(0x1000L + 0x2000 + 0x1000 + 0xfff, t.busyBytes());
  }

  /**
   * Random inserts, removes and lookups against a list searched by brute force. The first-page
   * index is keyed by the tree's page: areas starting on that page (0x1000), several areas per
   * key (0x4000: starts are multiples of 0x1000), and a key that is the exact start (1).
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 42, 0xfeedL})
  void agreesWithBruteForce(long seed) {
    long[] bases = {0x10000, Geometry.DEFAULT_VSTART, TOP - 4096L * 0x1000};
    for (long page : new long[] {0x1000, 0x4000, 1})
    for (long base : bases) {
      SplittableRandom rnd = new SplittableRandom(seed);
      BusyTree t = new BusyTree(page);
      List<Area> model = new ArrayList<>();
      long span = 4096L * 0x1000;
      for (int op = 0; op < 4000; op++) {
        int at = op;
        Supplier<String> ctx = () -> "seed " + seed + " page " + page + " base " + Unsigned.hex(base) + " op " + at;
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
          assertEquals(expected, t.get(s), ctx);
          assertEquals(expected, t.remove(s), ctx);
          model.remove(expected);
        } else {
          long addr = base + rnd.nextLong(span + 0x1000) - 0x800;
          Area expected = model.stream().filter(x -> x.contains(addr)).findFirst().orElse(null);
          assertEquals(expected, t.find(addr), ctx);
          assertEquals(expected, t.findConcurrent(addr), ctx);
        }
        assertEquals(model, new ArrayList<>(t.areas()), ctx);
        t.checkInvariants();
        assertEquals(model.size(), t.size(), ctx);
        assertEquals(model.stream().mapToLong(Area::size).sum(), t.busyBytes(), ctx);
      }
    }
  }

  /**
   * Readers on other threads while the owner inserts and removes: an area that stays in the tree
   * the whole time is always found exactly, an address no area ever covered never finds one, and
   * a churned address finds either nothing or its own area, never a torn mix of two.
   */
  @Test
  void concurrentReadersSeeOnlyWholeAreasThatWereThere() throws Exception {
    BusyTree t = new BusyTree();
    long base = Geometry.DEFAULT_VSTART;
    int slots = 2000;
    // Even slots hold a stable area for the whole test; odd slots are churned; every area leaves
    // the last page of its slot free, so that page is never covered.
    for (int i = 0; i < slots; i += 2) t.insert(new Area(base + i * 0x4000L, base + i * 0x4000L + 0x3000, "s" + i));
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
    Runnable reader = () -> {
      SplittableRandom rnd = new SplittableRandom(Thread.currentThread().getId());
      try {
        while (!stop.get()) {
          int i = rnd.nextInt(slots);
          long slot = base + i * 0x4000L;
          long addr = slot + rnd.nextLong(0x4000);
          Area a = t.findConcurrent(addr);
          if (addr - slot >= 0x3000) {
            if (a != null) throw new AssertionError("found " + a + " at never-covered " + Unsigned.hex(addr));
          } else if (i % 2 == 0) {
            assertEquals(new Area(slot, slot + 0x3000, "s" + i), a);
          } else if (a != null) {
            assertEquals(slot, a.start(), a::toString);
            assertTrue(a.end() == slot + 0x1000 || a.end() == slot + 0x3000, a::toString);
            assertEquals(a.end() == slot + 0x1000 ? "c" + i : "d" + i, a.tag());
          }
        }
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      }
    };
    Thread[] readers = {new Thread(reader), new Thread(reader)};
    for (Thread r : readers) r.start();
    SplittableRandom rnd = new SplittableRandom(7);
    for (int round = 0; round < 200_000 && failure.get() == null; round++) {
      int i = 1 + 2 * rnd.nextInt(slots / 2);
      long slot = base + i * 0x4000L;
      if (t.get(slot) != null) {
        t.remove(slot);
      } else if (rnd.nextBoolean()) {
        t.insert(new Area(slot, slot + 0x1000, "c" + i));
      } else {
        t.insert(new Area(slot, slot + 0x3000, "d" + i));
      }
    }
    stop.set(true);
    for (Thread r : readers) r.join();
    if (failure.get() != null) throw new AssertionError(failure.get());
  }
}
