package io.vmap.space;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Seeded random puts and removes on a {@link FirstPageIndex} against a model: a {@link TreeMap} of
 * area starts (unsigned order) to slot and tag bit. After each operation every probe must agree
 * with the model: the index's floor entry of an address, looking a given number of pages back, is
 * the model's floor entry when that one starts in the address's page or those below it (else
 * none); the area starting exactly at an address is the model's entry for it; every entry keeps
 * the tag bit it was put with.
 *
 * <p>Areas are laid over a small window (so pages hold several areas when the page is bigger than
 * the step, and probe runs collide and wrap around the table), near 0, near the top of the space
 * (unsigned order) and in the kernel's vmalloc range; the table grows from 16 entries and its
 * backward-shift removal is exercised on long runs.
 */
class FirstPageIndexPropertyTest {

  static final int STRIDE = 2; // the test's slot array: start, end
  /** What an entry says outside the index: its slot and tag bit (the hash bits are the index's). */
  static final int KEPT = FirstPageIndex.SLOT | FirstPageIndex.TAGGED;

  @ParameterizedTest(name = "seed {0} page {1} base {2}")
  @CsvSource({
    "1, 4096, 0x10000",
    "2, 4096, 0xffffc90000000000",
    "3, 16384, 0xffffc90000000000",
    "4, 1, 0x10000",
    "5, 16384, 0xffffffffffe00000",
    "6, 4096, 0xffffffffffe00000",
  })
  void agreesWithATreeMap(long seed, long page, String baseHex) {
    long base = Long.parseUnsignedLong(baseHex.substring(2), 16);
    SplittableRandom rnd = new SplittableRandom(seed);
    FirstPageIndex index = new FirstPageIndex(page);
    TreeMap<Long, int[]> model = new TreeMap<>(Long::compareUnsigned); // start -> {slot, tagged}
    long[] sl = new long[STRIDE * 4096];
    ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    for (int s = 1; s < 4096; s++) freeSlots.add(s);
    long step = 0x400; // areas are multiples of a quarter page of 4 KiB: several per 16 KiB page
    int cells = 1500; // the window: 1500 steps from base (stays below 2^64 from the top base)
    for (int op = 0; op < 20_000; op++) {
      int at = op;
      Supplier<String> ctx = () -> "seed " + seed + " page " + page + " base " + baseHex + " op " + at;
      long start = base + rnd.nextInt(cells) * step;
      if (rnd.nextInt(3) > 0 || model.isEmpty()) {
        Map.Entry<Long, int[]> below = model.floorEntry(start);
        Map.Entry<Long, int[]> above = model.higherEntry(start);
        long end = start + (1 + rnd.nextInt(6)) * step;
        boolean fits = (below == null || Unsigned.le(sl[below.getValue()[0] * STRIDE + 1], start))
            && (above == null || Unsigned.le(end, above.getKey()))
            && Unsigned.le(end, base + cells * step);
        if (fits && !freeSlots.isEmpty()) {
          int s = freeSlots.poll();
          boolean tagged = rnd.nextBoolean();
          sl[s * STRIDE] = start;
          sl[s * STRIDE + 1] = end;
          index.put(s, start, tagged, sl, STRIDE);
          model.put(start, new int[] {s, tagged ? 1 : 0});
        }
      } else {
        long victim = rnd.nextBoolean() ? start : model.keySet().stream().skip(rnd.nextInt(model.size())).findFirst().get();
        int[] e = model.remove(victim);
        int expected = e == null ? FirstPageIndex.NIL : e[0];
        assertEquals(expected, index.slotStartingAt(sl, STRIDE, victim), ctx);
        if (e != null) {
          index.remove(e[0], victim, sl, STRIDE);
          freeSlots.add(e[0]);
        }
      }
      assertEquals(model.size(), index.size(), ctx);
      for (int probe = 0; probe < 8; probe++) {
        long addr = base + rnd.nextLong(cells * step + step) - step / 2;
        int back = rnd.nextInt(4);
        assertEquals(expectedEntry(model, page, back, addr), index.floorEntry(sl, STRIDE, addr, back) & KEPT,
            () -> ctx.get() + " addr " + Unsigned.hex(addr) + " back " + back);
        int[] exact = model.get(addr);
        assertEquals(exact == null ? FirstPageIndex.NIL : exact[0], index.slotStartingAt(sl, STRIDE, addr), ctx);
      }
    }
    // Every entry is still found at its start, with its tag bit.
    for (Map.Entry<Long, int[]> e : model.entrySet()) {
      int want = e.getValue()[0] | (e.getValue()[1] == 1 ? FirstPageIndex.TAGGED : 0);
      assertEquals(want, index.floorEntry(sl, STRIDE, e.getKey(), 0) & KEPT, () -> "start " + Unsigned.hex(e.getKey()));
    }
  }

  /**
   * The model's answer: its floor entry of {@code addr} if that starts in {@code addr}'s page or
   * the {@code back} pages below it (not wrapping below address 0), else NIL.
   */
  private static int expectedEntry(TreeMap<Long, int[]> model, long page, int back, long addr) {
    Map.Entry<Long, int[]> f = model.floorEntry(addr);
    if (f == null) return FirstPageIndex.NIL;
    long pagesBelow = Long.divideUnsigned(addr & -page, page) - Long.divideUnsigned(f.getKey() & -page, page);
    if (pagesBelow > back) return FirstPageIndex.NIL;
    return f.getValue()[0] | (f.getValue()[1] == 1 ? FirstPageIndex.TAGGED : 0);
  }
}
