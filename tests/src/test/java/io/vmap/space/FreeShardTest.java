package io.vmap.space;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Unit cases for {@link FreeShard}: each clip shape, each merge, bounds, alignment, overflow. */
class FreeShardTest {

  private static final long NO_FIT = FreeShard.NO_FIT;
  private static final long PAGE = 0x1000;
  private static final long TOP = 0xfffffffffffff000L;

  /** A shard holding the given blocks, released in the given order. */
  private static FreeShard shard(long... bounds) {
    FreeShard f = new FreeShard();
    for (int i = 0; i < bounds.length; i += 2) f.release(bounds[i], bounds[i + 1]);
    f.checkInvariants();
    return f;
  }

  /** The blocks as {@code start-end} hex pairs, for readable comparisons. */
  private static String dump(FreeShard f) {
    StringBuilder sb = new StringBuilder();
    f.forEach((s, e) -> sb.append(sb.length() == 0 ? "" : " ")
        .append(Long.toHexString(s)).append('-').append(Long.toHexString(e)));
    return sb.toString();
  }

  private static void assertShard(FreeShard f, String blocks) {
    f.checkInvariants();
    assertEquals(blocks, dump(f));
    long[] bytes = {0};
    long[] largest = {0};
    int[] n = {0};
    f.forEach((s, e) -> {
      bytes[0] += e - s;
      if (Long.compareUnsigned(e - s, largest[0]) > 0) largest[0] = e - s;
      n[0]++;
    });
    assertEquals(bytes[0], f.freeBytes(), "freeBytes");
    assertEquals(largest[0], f.largestBlock(), "largestBlock");
    assertEquals(n[0], f.blockCount(), "blockCount");
  }

  // --- va_clip shapes, through allocExact and through allocLowest ---------------------------------

  @Test
  void exactFullFitRemovesTheBlock() {
    FreeShard f = shard(0x1000, 0x3000, 0x5000, 0x9000, 0xb000, 0xc000);
    assertTrue(f.allocExact(0x5000, 0x9000));
    assertShard(f, "1000-3000 b000-c000");
  }

  @Test
  void exactLeftEdgeShrinksFromTheLeft() {
    FreeShard f = shard(0x1000, 0x3000, 0x5000, 0x9000, 0xb000, 0xc000);
    assertTrue(f.allocExact(0x5000, 0x6000));
    assertShard(f, "1000-3000 6000-9000 b000-c000");
  }

  @Test
  void exactRightEdgeShrinksFromTheRight() {
    FreeShard f = shard(0x1000, 0x3000, 0x5000, 0x9000, 0xb000, 0xc000);
    assertTrue(f.allocExact(0x7000, 0x9000));
    assertShard(f, "1000-3000 5000-7000 b000-c000");
  }

  @Test
  void exactMiddleSplitsTheBlock() {
    FreeShard f = shard(0x1000, 0x3000, 0x5000, 0x9000, 0xb000, 0xc000);
    assertTrue(f.allocExact(0x6000, 0x7000));
    assertShard(f, "1000-3000 5000-6000 7000-9000 b000-c000");
  }

  @Test
  void lowestFullFit() {
    FreeShard f = shard(0x1000, 0x2000, 0x4000, 0x6000);
    assertEquals(0x4000, f.allocLowest(0x2000, PAGE, 0, -1L));
    assertShard(f, "1000-2000");
    assertEquals(0x1000, f.allocLowest(0x1000, PAGE, 0, -1L));
    assertShard(f, "");
    assertEquals(0, f.largestBlock());
    assertEquals(NO_FIT, f.allocLowest(0x1000, PAGE, 0, -1L));
  }

  @Test
  void lowestLeftEdge() {
    FreeShard f = shard(0x1000, 0x2000, 0x4000, 0x8000);
    assertEquals(0x4000, f.allocLowest(0x2000, PAGE, 0, -1L));
    assertShard(f, "1000-2000 6000-8000");
  }

  @Test
  void lowestRightEdgeWhenLoClipsTheBlock() {
    FreeShard f = shard(0x1000, 0x2000, 0x4000, 0x8000);
    assertEquals(0x6000, f.allocLowest(0x2000, PAGE, 0x6000, -1L));
    assertShard(f, "1000-2000 4000-6000");
  }

  @Test
  void lowestMiddleWhenLoIsInsideTheBlock() {
    FreeShard f = shard(0x1000, 0x2000, 0x4000, 0x8000);
    assertEquals(0x5000, f.allocLowest(0x1000, PAGE, 0x4800, -1L));
    assertShard(f, "1000-2000 4000-5000 6000-8000");
  }

  @Test
  void lowestMiddleWhenAlignmentPushesIntoTheBlock() {
    FreeShard f = shard(0x1000, 0x9000);
    assertEquals(0x4000, f.allocLowest(0x1000, 0x4000, 0, -1L));
    assertShard(f, "1000-4000 5000-9000");
  }

  @Test
  void findLowestChangesNothing() {
    FreeShard f = shard(0x1000, 0x2000, 0x4000, 0x8000);
    assertEquals(0x4000, f.findLowest(0x2000, PAGE, 0, -1L));
    assertEquals(0x1000, f.findLowest(0x1000, PAGE, 0, -1L));
    assertShard(f, "1000-2000 4000-8000");
  }

  // --- merge_or_add_vmap_area ---------------------------------------------------------------------

  @Test
  void releaseWithoutNeighboursAddsABlock() {
    FreeShard f = shard(0x1000, 0x2000, 0x8000, 0x9000);
    f.release(0x4000, 0x5000);
    assertShard(f, "1000-2000 4000-5000 8000-9000");
  }

  @Test
  void releaseMergesWithTheLeftNeighbour() {
    FreeShard f = shard(0x1000, 0x2000, 0x8000, 0x9000);
    f.release(0x2000, 0x3000);
    assertShard(f, "1000-3000 8000-9000");
  }

  @Test
  void releaseMergesWithTheRightNeighbour() {
    FreeShard f = shard(0x1000, 0x2000, 0x8000, 0x9000);
    f.release(0x6000, 0x8000);
    assertShard(f, "1000-2000 6000-9000");
  }

  @Test
  void releaseFillingAHoleMergesBothNeighbours() {
    FreeShard f = shard(0x1000, 0x2000, 0x8000, 0x9000, 0xa000, 0xb000);
    f.release(0x2000, 0x8000);
    assertShard(f, "1000-9000 a000-b000");
    f.release(0x9000, 0xa000);
    assertShard(f, "1000-b000");
  }

  @Test
  void releaseInAnyOrderEndsAsOneBlock() {
    FreeShard f = new FreeShard();
    for (long p : new long[] {5, 1, 9, 3, 7, 2, 8, 4, 6, 0}) f.release(p * PAGE, (p + 1) * PAGE);
    assertShard(f, "0-a000");
  }

  @Test
  void doubleReleaseIsRejectedAndChangesNothing() {
    FreeShard f = shard(0x1000, 0x3000, 0x5000, 0x9000, 0xb000, 0xc000);
    String before = dump(f);
    long[][] bad = {
      {0x5000, 0x9000}, // the same block again
      {0x6000, 0x7000}, // inside a block
      {0x4000, 0x6000}, // overlapping a block's left part
      {0x8000, 0xa000}, // overlapping a block's right part
      {0x3000, 0xb800}, // covering one block and reaching into the next
      {0x0, 0x10000}, // covering everything
      {0x2fff, 0x3000}, // one byte of a block's end
      {0xb000, 0xb001}, // one byte of a block's start
    };
    for (long[] r : bad) {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> f.release(r[0], r[1]));
      assertTrue(e.getMessage().contains(String.format("0x%016x", r[0])), e.getMessage());
      assertTrue(e.getMessage().contains(String.format("0x%016x", r[1])), e.getMessage());
      assertTrue(e.getMessage().matches(".*overlaps free block \\[0x[0-9a-f]{16}, 0x[0-9a-f]{16}\\).*"),
          e.getMessage());
      assertShard(f, before);
      assertEquals(0x7000, f.freeBytes());
    }
  }

  @Test
  void emptyRangesAreArgumentErrors() {
    FreeShard f = shard(0x1000, 0x3000);
    assertThrows(IllegalArgumentException.class, () -> f.release(0x5000, 0x5000));
    assertThrows(IllegalArgumentException.class, () -> f.release(0x6000, 0x5000));
    assertThrows(IllegalArgumentException.class, () -> f.allocExact(0x2000, 0x1000));
    assertThrows(IllegalArgumentException.class, () -> f.isFree(0x2000, 0x2000));
    assertThrows(IllegalArgumentException.class, () -> f.findLowest(0, PAGE, 0, -1L));
    assertThrows(IllegalArgumentException.class, () -> f.allocLowest(PAGE, 0, 0, -1L));
    assertThrows(IllegalArgumentException.class, () -> f.findLowest(PAGE, 0x3000, 0, -1L));
    assertShard(f, "1000-3000");
  }

  // --- allocExact, isFree, blockContaining, forEachIn ----------------------------------------------

  @Test
  void allocExactFailsUnlessInsideOneBlock() {
    FreeShard f = shard(0x1000, 0x3000, 0x4000, 0x6000);
    assertFalse(f.allocExact(0x2000, 0x5000)); // spans the gap
    assertFalse(f.allocExact(0x3000, 0x4000)); // the gap itself
    assertFalse(f.allocExact(0x0, 0x2000)); // starts below the first block
    assertFalse(f.allocExact(0x5000, 0x7000)); // runs past the last block
    assertFalse(f.allocExact(0x7000, 0x8000)); // above everything
    assertShard(f, "1000-3000 4000-6000");
    assertTrue(f.allocExact(0x1000, 0x3000));
    assertFalse(f.allocExact(0x1000, 0x2000)); // already taken
    assertShard(f, "4000-6000");
  }

  @Test
  void isFreeAndBlockContaining() {
    FreeShard f = shard(0x1000, 0x3000, 0x4000, 0x6000);
    assertTrue(f.isFree(0x1000, 0x3000));
    assertTrue(f.isFree(0x2fff, 0x3000));
    assertFalse(f.isFree(0x2fff, 0x3001));
    assertFalse(f.isFree(0x0, 0x1001));
    assertFalse(f.isFree(0x1000, 0x6000));
    assertArrayEquals(new long[] {0x1000, 0x3000}, f.blockContaining(0x1000));
    assertArrayEquals(new long[] {0x1000, 0x3000}, f.blockContaining(0x2fff));
    assertNull(f.blockContaining(0x3000));
    assertNull(f.blockContaining(0xfff));
    assertArrayEquals(new long[] {0x4000, 0x6000}, f.blockContaining(0x5000));
    assertNull(f.blockContaining(0x6000));
    assertNull(f.blockContaining(-1L));
    assertNull(new FreeShard().blockContaining(0));
  }

  @Test
  void forEachInGivesUnclippedIntersectingBlocks() {
    FreeShard f = shard(0x1000, 0x3000, 0x4000, 0x6000, 0x8000, 0x9000, 0xa000, 0xb000);
    assertEquals(List.of("1000-3000", "4000-6000"), in(f, 0x2fff, 0x4001));
    assertEquals(List.of("4000-6000"), in(f, 0x3000, 0x4001));
    assertEquals(List.of(), in(f, 0x3000, 0x4000));
    assertEquals(List.of("4000-6000", "8000-9000", "a000-b000"), in(f, 0x5fff, -1L));
    assertEquals(List.of(), in(f, 0xb000, -1L));
    assertEquals(List.of(), in(f, 0x5000, 0x5000));
    assertEquals(List.of(), in(f, 0x9000, 0x1000));
    assertEquals(List.of("1000-3000", "4000-6000", "8000-9000", "a000-b000"), in(f, 0, -1L));
  }

  private static List<String> in(FreeShard f, long lo, long hi) {
    List<String> out = new ArrayList<>();
    f.forEachIn(lo, hi, (s, e) -> out.add(Long.toHexString(s) + "-" + Long.toHexString(e)));
    return out;
  }

  // --- bounds ---------------------------------------------------------------------------------------

  @Test
  void loAndHiClipBlocks() {
    FreeShard f = shard(0x1000, 0x5000, 0x8000, 0x10000);
    assertEquals(0x3000, f.findLowest(0x2000, PAGE, 0x2800, -1L)); // lo unaligned, rounded up
    assertEquals(0x8000, f.findLowest(0x2000, PAGE, 0x3800, -1L)); // clipped remainder too small
    assertEquals(0x1000, f.findLowest(0x2000, PAGE, 0, 0x3000)); // hi exactly at the end
    assertEquals(NO_FIT, f.findLowest(0x2000, PAGE, 0, 0x2fff));
    assertEquals(0x8000, f.findLowest(0x5000, PAGE, 0, 0xd000));
    assertEquals(NO_FIT, f.findLowest(0x5000, PAGE, 0, 0xcfff));
    assertEquals(NO_FIT, f.findLowest(0x1000, PAGE, 0x9000, 0x9000)); // hi == lo
    assertEquals(NO_FIT, f.findLowest(0x1000, PAGE, 0x9000, 0x2000)); // hi below lo
    assertEquals(0xa000, f.findLowest(0x1000, 0x2000, 0x9001, 0xc000));
    assertEquals(NO_FIT, f.findLowest(0x1000, PAGE, 0x10000, -1L)); // lo at the last end
    assertEquals(0xf000, f.findLowest(0x1000, PAGE, 0xf000, -1L));
    assertShard(f, "1000-5000 8000-10000");
  }

  @Test
  void hiStopsTheWalkEvenWhenLaterBlocksAreLarger() {
    FreeShard f = shard(0x1000, 0x2000, 0x3000, 0x4000, 0x100000, 0x200000);
    assertEquals(NO_FIT, f.findLowest(0x2000, PAGE, 0, 0x100fff));
    assertEquals(0x100000, f.findLowest(0x2000, PAGE, 0, 0x102000));
  }

  // --- alignment above the block alignment ----------------------------------------------------------

  @Test
  void findsTheAlignedFitTheKernelMisses() {
    long size = 0x4000;
    long align = 0x4000;
    // [0x1000, 0x5000): big enough, but aligned it would need 0x4000..0x8000: a near miss.
    // [0xb000, 0x10000): 0x5000 bytes, less than size + align - 1 = 0x7fff, yet 0xc000 fits.
    // [0x100000, 0x200000): what the kernel's size + align - 1 search would pick.
    FreeShard f = shard(0x1000, 0x5000, 0xb000, 0x10000, 0x100000, 0x200000);
    assertEquals(0xc000, f.findLowest(size, align, 0, -1L));
    assertEquals(0xc000, f.allocLowest(size, align, 0, -1L));
    assertShard(f, "1000-5000 b000-c000 100000-200000");
    // A block whose start is aligned fits exactly with no slack at all.
    f.release(0x40000, 0x44000);
    assertEquals(0x40000, f.allocLowest(size, align, 0, -1L));
    assertShard(f, "1000-5000 b000-c000 100000-200000");
  }

  @Test
  void manyNearMissesBeforeTheFit() {
    FreeShard f = new FreeShard();
    // 1000 blocks of two pages, each starting two pages past a 4-page boundary: none holds an
    // aligned pair of pages with align 4 pages.
    for (long i = 0; i < 1000; i++) f.release((8 * i + 2) * PAGE, (8 * i + 4) * PAGE);
    long fit = 4 * 1000 * 2 * PAGE;
    f.release(fit, fit + 2 * PAGE);
    f.checkInvariants();
    assertEquals(fit, f.findLowest(2 * PAGE, 4 * PAGE, 0, -1L));
    assertEquals(2 * PAGE, f.findLowest(2 * PAGE, 2 * PAGE, 0, -1L));
  }

  // --- near 2^64 ------------------------------------------------------------------------------------

  @Test
  void blocksEndingAtTheTopOfTheSpace() {
    FreeShard f = shard(0xffffffffff000000L, 0xffffffffff100000L, 0xfffffffffff00000L, TOP);
    assertEquals(0xffffffffff001000L, f.findLowest(0x100000 - PAGE, PAGE, 0xffffffffff000001L, -1L));
    assertEquals(0xfffffffffff00000L, f.findLowest(0x100000 - PAGE, PAGE, 0xffffffffff001001L, -1L));
    assertEquals(TOP - PAGE, f.findLowest(PAGE, PAGE, TOP - PAGE, -1L));
    assertEquals(NO_FIT, f.findLowest(PAGE, PAGE, TOP, -1L));
    assertEquals(NO_FIT, f.findLowest(2 * PAGE, PAGE, TOP - PAGE, -1L));
    assertEquals(TOP - PAGE, f.allocLowest(PAGE, PAGE, TOP - 0x1800, -1L));
    assertShard(f, "ffffffffff000000-ffffffffff100000 fffffffffff00000-ffffffffffffe000");
    f.release(TOP - PAGE, TOP);
    assertShard(f, "ffffffffff000000-ffffffffff100000 fffffffffff00000-fffffffffffff000");
    assertTrue(f.allocExact(0xffffffffff000000L, 0xffffffffff100000L));
    assertShard(f, "fffffffffff00000-fffffffffffff000");
  }

  @Test
  void aBlockEndingAtTwoToTheSixtyFourMinusOne() {
    FreeShard f = shard(TOP, -1L);
    assertEquals(PAGE - 1, f.largestBlock());
    assertEquals(TOP, f.findLowest(PAGE - 1, 1, 0, -1L));
    assertEquals(NO_FIT, f.findLowest(PAGE, 1, 0, -1L)); // would end at 2^64
    assertEquals(-2L, f.findLowest(1, 1, -2L, -1L));
    assertEquals(NO_FIT, f.findLowest(1, 1, -1L, -1L));
    assertEquals(-2L, f.findLowest(1, 2, -3L, -1L));
    assertEquals(NO_FIT, f.findLowest(1, 4, -3L, -1L)); // alignUp wraps
    assertTrue(f.allocExact(-2L, -1L));
    assertShard(f, "fffffffffffff000-fffffffffffffffe");
    f.release(-2L, -1L);
    assertShard(f, "fffffffffffff000-ffffffffffffffff");
    assertThrows(IllegalStateException.class, () -> f.release(TOP - PAGE, -1L));
  }

  @Test
  void hugeAlignments() {
    FreeShard f = shard(0x8000000000000000L, TOP);
    assertEquals(0x8000000000000000L, f.findLowest(PAGE, 1L << 63, 0, -1L));
    assertEquals(NO_FIT, f.findLowest(PAGE, 1L << 63, 0x8000000000000001L, -1L)); // wraps
    assertEquals(0xc000000000000000L, f.findLowest(PAGE, 1L << 62, 0x8000000000001000L, -1L));
    assertEquals(0x8000000000000000L, f.findLowest(1L << 62, 1L << 62, 0, -1L));
    // From 0xc000000000000000 a 2^62 area would end at 2^64, beyond the block (and the space).
    assertEquals(NO_FIT, f.findLowest(1L << 62, 1L << 62, 0x8000000000000001L, -1L));
    long rest = TOP - 0xc000000000000000L;
    assertEquals(0x8000000000000000L, f.findLowest(rest, 1L << 62, 1, -1L));
    assertEquals(0xc000000000000000L, f.allocLowest(rest, 1L << 62, 0x8000000000000001L, -1L));
    assertShard(f, "8000000000000000-c000000000000000");
  }

  @Test
  void hugeSizesNeverWrap() {
    FreeShard f = shard(PAGE, TOP);
    long all = TOP - PAGE; // 0xffffffffffffe000, the whole block
    assertEquals(all, f.largestBlock());
    assertEquals(all, f.freeBytes());
    assertEquals(NO_FIT, f.findLowest(-1L, PAGE, 0, -1L));
    assertEquals(NO_FIT, f.findLowest(-PAGE, PAGE, 0, -1L));
    assertEquals(NO_FIT, f.findLowest(all + PAGE, PAGE, 0, -1L));
    assertEquals(NO_FIT, f.findLowest(all, PAGE, 2 * PAGE, -1L)); // 0x2000 + all wraps to 0
    assertEquals(NO_FIT, f.findLowest(all, PAGE, 0, TOP - 1));
    assertEquals(NO_FIT, f.findLowest(1L << 63, 1L << 63, 0, -1L)); // 2^63 + 2^63 wraps
    assertEquals(PAGE, f.findLowest(all, PAGE, 0, -1L));
    assertEquals(PAGE, f.allocLowest(all, PAGE, 0, -1L));
    assertShard(f, "");
    assertEquals(0, f.freeBytes());
  }

  /**
   * Blocks of 2^63 bytes and more look negative to signed code; put them at several depths of
   * the tree and compare every search with a linear scan.
   */
  @Test
  void blocksOfTwoToTheSixtyThreeBytesAndMore() {
    for (int hugeAt = 0; hugeAt < 40; hugeAt += 3) {
      List<long[]> blocks = new ArrayList<>();
      long at = PAGE;
      for (int i = 0; i < 40; i++) {
        long size = i == hugeAt ? (1L << 63) + 3 * PAGE : (1 + i % 3) * PAGE;
        blocks.add(new long[] {at, at + size});
        at += size + PAGE;
      }
      FreeShard f = new FreeShard();
      SplittableRandom rnd = new SplittableRandom(hugeAt);
      List<long[]> order = new ArrayList<>(blocks);
      while (!order.isEmpty()) {
        long[] b = order.remove(rnd.nextInt(order.size()));
        f.release(b[0], b[1]);
      }
      f.checkInvariants();
      assertEquals((1L << 63) + 3 * PAGE, f.largestBlock());
      long[] sizes = {PAGE, 2 * PAGE, 3 * PAGE, 4 * PAGE, 1L << 63, (1L << 63) + 3 * PAGE};
      for (long[] from : blocks) {
        for (long lo : new long[] {from[0], from[0] + PAGE, from[1]}) {
          for (long size : sizes) {
            for (long align : new long[] {PAGE, 2 * PAGE, 1L << 62}) {
              assertEquals(Unsigned.hex(linearLowest(blocks, size, align, lo, -1L)),
                  Unsigned.hex(f.findLowest(size, align, lo, -1L)),
                  () -> "size " + Unsigned.hex(size) + " align " + Unsigned.hex(align) + " lo "
                      + Unsigned.hex(lo));
            }
          }
        }
      }
    }
  }

  /** The reference: try every block in order. */
  static long linearLowest(List<long[]> blocks, long size, long align, long lo, long hi) {
    for (long[] b : blocks) {
      long a = Unsigned.alignUp(Unsigned.max(b[0], lo), align);
      if (a == Unsigned.OVERFLOW) continue;
      long e = a + size;
      if (Unsigned.lt(a, e) && Unsigned.le(e, b[1]) && Unsigned.le(e, hi)) return a;
    }
    return NO_FIT;
  }

  // --- bulk construction ---------------------------------------------------------------------------

  @Test
  void ofTheDefaultGeometryHoldsEveryOwnedZone() {
    Geometry g = Geometry.defaults();
    long total = 0;
    for (int node = 0; node < g.nodes(); node++) {
      FreeShard f = FreeShard.of(g, node);
      f.checkInvariants();
      assertEquals(65536, f.blockCount());
      assertEquals(g.spaceBytes() / g.nodes(), f.freeBytes());
      assertEquals(g.zone(), f.largestBlock());
      long first = g.vstart() + node * g.zone();
      assertEquals(first, f.findLowest(g.page(), g.page(), 0, -1L));
      assertEquals(g.nodes() * g.zone() + first,
          f.findLowest(g.page(), g.page(), first + g.zone() - g.page() + 1, -1L));
      int n = node;
      f.forEach((s, e) -> {
        assertEquals(n, g.nodeOf(s));
        assertEquals(n, g.nodeOf(e - 1));
      });
      total += f.freeBytes();
    }
    assertEquals(g.spaceBytes(), total);
  }

  @Test
  void ofOneNodeIsOneBlock() {
    Geometry g = new Geometry(0x10000, TOP, PAGE, 1L << 30, 1);
    FreeShard f = FreeShard.of(g, 0);
    assertShard(f, "10000-fffffffffffff000");
    assertThrows(IllegalArgumentException.class, () -> FreeShard.of(g, 1));
    assertThrows(IllegalArgumentException.class, () -> FreeShard.of(g, -1));
  }

  @Test
  void ofBlocksMergesTouchingAndRejectsDisorder() {
    FreeShard f = FreeShard.ofBlocks(
        new long[] {0x1000, 0x2000, 0x5000, 0x9000}, new long[] {0x2000, 0x3000, 0x6000, 0xa000}, 4);
    assertShard(f, "1000-3000 5000-6000 9000-a000");
    f.release(0x3000, 0x5000);
    assertShard(f, "1000-6000 9000-a000");
    assertShard(FreeShard.ofBlocks(new long[0], new long[0], 0), "");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> FreeShard.ofBlocks(new long[] {0x1000, 0x1800}, new long[] {0x2000, 0x3000}, 2));
    assertTrue(e.getMessage().contains("0x0000000000001800"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> FreeShard.ofBlocks(new long[] {0x2000}, new long[] {0x2000}, 1));
    assertThrows(IllegalArgumentException.class,
        () -> FreeShard.ofBlocks(new long[] {0x2000}, new long[] {0x3000}, 2));
  }

  // --- alignment classes ------------------------------------------------------------------------------

  @Test
  void theExactLimitFollowsTheGranule() {
    FreeShard f = shard(0x10000, 0x20000);
    assertEquals(1L << 26, f.exactAlignLimit()); // 4 KiB granule, 14 classes
    assertEquals(1L << 26, FreeShard.of(Geometry.defaults(), 3).exactAlignLimit());
    Geometry bigPages = new Geometry(0, 1L << 40, 1L << 16, 1L << 30, 4);
    assertEquals(1L << 30, FreeShard.of(bigPages, 0).exactAlignLimit());
    // A bound finer than the granule lowers it; the searches stay exact.
    f.release(0x30001, 0x30003);
    assertEquals(1L << 14, f.exactAlignLimit());
    assertShard(f, "10000-20000 30001-30003");
    assertEquals(0x30002, f.findLowest(1, 2, 0x20000, -1L));
    assertEquals(0x10000, f.findLowest(0x10000, 0x10000, 0, -1L));
    assertEquals(NO_FIT, f.findLowest(0x1000, 0x20000, 0, -1L));
    assertEquals(0x10000, f.allocLowest(0x1000, 0x8000, 0, -1L));
    assertShard(f, "11000-20000 30001-30003");
  }

  /**
   * The nearmiss layout of FreeShardBench, small: every block big enough, none aligned, and the
   * fit above all of them; with each class the search is one descent, and stays exact for every
   * align from a page to 2^63 and every lo.
   */
  @Test
  void nearMissesAtEveryClassAgreeWithALinearScan() {
    List<long[]> blocks = new ArrayList<>();
    for (long i = 0; i < 3000; i++) {
      long s = (16 * i + 2) * PAGE;
      blocks.add(new long[] {s, s + 4 * PAGE});
    }
    // Then blocks at odd multiples of every power of two from 8 KiB to 2^44, the bait above.
    long at = 1L << 30;
    for (int r = 13; r <= 44; r++) {
      long s = Unsigned.alignUp(at, 1L << r) + (1L << r);
      if (Long.numberOfTrailingZeros(s) != r) s += 1L << r;
      blocks.add(new long[] {s, s + 4 * PAGE});
      at = s + 8 * PAGE;
    }
    long top = 1L << 47;
    blocks.add(new long[] {top, top + (1L << 30)});
    long[] s = new long[blocks.size()];
    long[] e = new long[blocks.size()];
    for (int i = 0; i < blocks.size(); i++) {
      s[i] = blocks.get(i)[0];
      e[i] = blocks.get(i)[1];
    }
    FreeShard f = FreeShard.ofBlocks(s, e, blocks.size());
    f.checkInvariants();
    SplittableRandom rnd = new SplittableRandom(11);
    for (int i = 0; i < 20_000; i++) {
      long size = PAGE * (1 + rnd.nextInt(5));
      long align = 1L << (12 + rnd.nextInt(52));
      long lo = rnd.nextInt(4) == 0 ? 0 : rnd.nextLong(top + (1L << 30));
      long want = linearLowest(blocks, size, align, lo, -1L);
      long got = f.findLowest(size, align, lo, -1L);
      if (want != got) {
        assertEquals(Unsigned.hex(want), Unsigned.hex(got), "size " + Unsigned.hex(size)
            + " align " + Unsigned.hex(align) + " lo " + Unsigned.hex(lo));
      }
    }
  }

  // --- a large shard --------------------------------------------------------------------------------

  /**
   * A million one-page blocks with a two-page block at the very end: the only fit for two pages is
   * found from anywhere below it, a one-page request takes the lowest block at or above its start,
   * and merging and splitting half the blocks keeps the tree consistent. How the search time grows
   * with the number of blocks (logarithmically, by the subtree_max_size descent) is measured by the
   * JMH benchmark FreeShardScalingBench on this same layout, not asserted here.
   */
  @Test
  void aMillionBlocksFindTheOnlyFitAtTheEndAndTheLowestOnePageFit() {
    int n = 1_000_000;
    long base = Geometry.DEFAULT_VSTART;
    long[] s = new long[n + 1];
    long[] e = new long[n + 1];
    for (int i = 0; i < n; i++) {
      s[i] = base + 2L * i * PAGE;
      e[i] = s[i] + PAGE;
    }
    long last = base + 2L * n * PAGE;
    s[n] = last;
    e[n] = last + 2 * PAGE;
    FreeShard f = FreeShard.ofBlocks(s, e, n + 1);
    f.checkInvariants();
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < 20_000; i++) {
      long lo = base + rnd.nextLong(2L * n * PAGE);
      assertEquals(last, f.findLowest(2 * PAGE, PAGE, lo, -1L));
      long a = f.allocLowest(PAGE, PAGE, lo, -1L);
      // Blocks start every two pages from base, the last (k = n) too: the first start at or above lo.
      long k = (lo - base + 2 * PAGE - 1) / (2 * PAGE);
      assertEquals(base + 2 * k * PAGE, a, () -> "one page at or above 0x" + Long.toHexString(lo));
      f.release(a, a + PAGE);
    }
    // Merge the upper half of the blocks into one, then split it again.
    for (int i = n / 2; i < n; i++) f.release(e[i], s[i] + 2 * PAGE);
    assertEquals(n / 2 + 1, f.blockCount());
    assertEquals(last + 2 * PAGE - s[n / 2], f.largestBlock());
    for (int i = n / 2; i < n; i++) assertTrue(f.allocExact(e[i], s[i] + 2 * PAGE));
    assertEquals(n + 1, f.blockCount());
    f.checkInvariants();
  }
}
