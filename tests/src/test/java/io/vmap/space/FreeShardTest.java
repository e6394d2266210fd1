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
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

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
      assertEquals(1, f.entryCount(), "the zones of a node are one run");
      assertEquals(65536L, f.blockCountLong());
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

  // --- runs ---------------------------------------------------------------------------------------

  static final long ZONE = 32L << 20;

  /** Spaces with 32 MiB zones and 16 nodes; each starts and ends at a zone of node 0. */
  static Stream<Arguments> runSpaces() {
    return Stream.of(
        Arguments.of("32 TiB", Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VEND),
        // x86-64's vmalloc range with 5-level paging.
        Arguments.of("12.5 PiB", 0xffa0000000000000L, 0xffd2000000000000L));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runSpaces")
  void aNodeStartsAsOneRun(String name, long vstart, long vend) {
    Geometry g = new Geometry(vstart, vend, PAGE, ZONE, 16);
    long zones = g.zoneCount() / 16;
    FreeShard f = FreeShard.of(g, 5);
    f.checkInvariants();
    assertEquals(1, f.entryCount());
    assertEquals(zones, f.blockCountLong());
    assertEquals(zones, f.blockCount());
    assertEquals(g.spaceBytes() / 16, f.freeBytes());
    assertEquals(ZONE, f.largestBlock());
    assertTrue(f.footprintBytes() < 4096, () -> "footprint " + f.footprintBytes());
    long first = vstart + 5 * ZONE;
    assertEquals(first, f.findLowest(PAGE, PAGE, 0, -1L));
    assertEquals(first, f.findLowest(ZONE, ZONE, 0, -1L));
    // Zone indices of node 5 are 5 mod 16: odd, so never a multiple of two zones.
    assertEquals(NO_FIT, f.findLowest(PAGE, 2 * ZONE, 0, -1L));
    assertEquals(first + 16 * ZONE, f.findLowest(PAGE, PAGE, first + ZONE - PAGE + 1, -1L));
    assertEquals(first + ZONE - PAGE, f.findLowest(PAGE, PAGE, first + ZONE - PAGE, -1L));
    assertEquals(NO_FIT, f.findLowest(ZONE + PAGE, PAGE, 0, -1L));
    long last = vend - 11 * ZONE; // zone index 5 mod 16, 11 zones before the end
    assertEquals(5, g.nodeOf(last));
    assertEquals(last, f.findLowest(PAGE, PAGE, last - 3 * ZONE, -1L));
    assertEquals(NO_FIT, f.findLowest(PAGE, PAGE, last + ZONE, -1L));
    assertEquals(NO_FIT, f.findLowest(PAGE, PAGE, 0, first + PAGE - 1));
    assertTrue(f.isFree(last + PAGE, last + ZONE));
    assertFalse(f.isFree(last + PAGE, last + ZONE + 1));
    assertArrayEquals(new long[] {last, last + ZONE}, f.blockContaining(last + 77));
    assertNull(f.blockContaining(last - 1));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runSpaces")
  void alignsAboveAZoneAcrossARunByArithmetic(String name, long vstart, long vend) {
    Geometry g = new Geometry(vstart, vend, PAGE, ZONE, 16);
    FreeShard node0 = FreeShard.of(g, 0);
    FreeShard node2 = FreeShard.of(g, 2);
    // Node 0 owns zone indices 0 mod 16: every multiple of 512 MiB in the space is its, so the
    // fit of an align of 512 MiB or more is the first multiple of it from lo.
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 0; i < 2000; i++) {
      long align = 1L << (29 + rnd.nextInt(35));
      long lo = rnd.nextInt(4) == 0 ? 0 : vstart + rnd.nextLong(vend - vstart);
      long hi = lo == 0 || rnd.nextInt(3) == 0 ? -1L : lo + rnd.nextLong(vend - lo + ZONE);
      long size = rnd.nextBoolean() ? PAGE : ZONE;
      long a = Unsigned.alignUp(Unsigned.max(lo, vstart), align);
      long want = a != Unsigned.OVERFLOW && Unsigned.lt(a, vend) && Unsigned.le(a + size, hi)
          && Unsigned.lt(a, a + size) ? a : NO_FIT;
      assertEquals(Unsigned.hex(want), Unsigned.hex(node0.findLowest(size, align, lo, hi)),
          () -> "align " + Unsigned.hex(align) + " lo " + Unsigned.hex(lo) + " hi "
              + Unsigned.hex(hi));
    }
    assertEquals(vstart, node0.findLowest(PAGE, 1L << 29, 0, -1L));
    assertEquals(vstart + (1L << 40), node0.findLowest(PAGE, 1L << 40, vstart + 1, -1L));
    assertEquals(NO_FIT, node0.findLowest(PAGE, 1L << 63, 0, -1L));
    // Node 2 owns indices 2 mod 16: multiples of two zones, never of four.
    assertEquals(vstart + 2 * ZONE, node2.findLowest(PAGE, 2 * ZONE, 0, -1L));
    assertEquals(vstart + 18 * ZONE, node2.findLowest(PAGE, 2 * ZONE, vstart + 2 * ZONE + 1, -1L));
    assertEquals(NO_FIT, node2.findLowest(PAGE, 4 * ZONE, 0, -1L));
    // hi cuts the run: the fit must end at or below it.
    assertEquals(NO_FIT,
        node0.findLowest(PAGE, 1L << 40, vstart + 1, vstart + (1L << 40) + PAGE - 1));
    assertEquals(vstart + (1L << 40),
        node0.findLowest(PAGE, 1L << 40, vstart + 1, vstart + (1L << 40) + PAGE));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runSpaces")
  void allocatingInAZoneCutsTheRunAndFreeingItRejoins(String name, long vstart, long vend) {
    Geometry g = new Geometry(vstart, vend, PAGE, ZONE, 16);
    long zones = g.zoneCount() / 16;
    FreeShard f = FreeShard.of(g, 1);
    long zone = vstart + (1000L * 16 + 1) * ZONE; // node 1's 1001st zone
    long a = f.allocLowest(PAGE, PAGE, zone, -1L);
    assertEquals(zone, a);
    f.checkInvariants();
    assertEquals(3, f.entryCount()); // zones before, the cut zone, zones after
    assertEquals(zones, f.blockCountLong());
    assertArrayEquals(new long[] {zone + PAGE, zone + ZONE}, f.blockContaining(zone + PAGE));
    assertTrue(f.allocExact(zone + 5 * PAGE, zone + 6 * PAGE));
    long b = f.allocLowest(2 * PAGE, 2 * PAGE, zone, -1L);
    assertEquals(zone + 2 * PAGE, b);
    f.checkInvariants();
    assertEquals(zones + 2, f.blockCountLong()); // the zone is three blocks now
    f.release(zone + 5 * PAGE, zone + 6 * PAGE);
    f.release(a, a + PAGE);
    assertEquals(4, f.entryCount());
    f.release(b, b + 2 * PAGE);
    f.checkInvariants();
    assertEquals(1, f.entryCount(), "the whole zone is a member again");
    assertEquals(g.spaceBytes() / 16, f.freeBytes());
    // The first and the last member, too.
    long firstZone = vstart + ZONE;
    long lastZone = vend - 15 * ZONE;
    assertTrue(f.allocExact(firstZone, firstZone + ZONE));
    assertTrue(f.allocExact(lastZone + ZONE - PAGE, lastZone + ZONE));
    f.checkInvariants();
    assertEquals(zones - 1, f.blockCountLong());
    assertEquals(firstZone + 16 * ZONE, f.findLowest(PAGE, PAGE, 0, -1L));
    f.release(lastZone + ZONE - PAGE, lastZone + ZONE);
    f.release(firstZone, firstZone + ZONE);
    f.checkInvariants();
    assertEquals(1, f.entryCount());
  }

  /** Every zone of a node touched once, then all freed in random order: one run again. */
  @Test
  void wholeZonesFreedInAnyOrderComeBackAsOneRun() {
    Geometry g = new Geometry(0x100000L, 0x100000L + 4096 * 0x4000L, PAGE, 0x4000L, 4);
    FreeShard f = FreeShard.of(g, 2);
    String before = dump(f);
    assertEquals(1, f.entryCount());
    SplittableRandom rnd = new SplittableRandom(9);
    List<long[]> areas = new ArrayList<>();
    g.forEachOwnedRange(2, (s, e) -> {
      long a = s + PAGE * rnd.nextInt(4);
      areas.add(new long[] {a, a + PAGE});
    });
    java.util.Collections.shuffle(areas, new java.util.Random(9));
    for (long[] a : areas) assertTrue(f.allocExact(a[0], a[1]));
    f.checkInvariants();
    assertTrue(f.entryCount() >= 1024, () -> "entries " + f.entryCount());
    java.util.Collections.shuffle(areas, new java.util.Random(10));
    for (long[] a : areas) f.release(a[0], a[1]);
    f.checkInvariants();
    assertEquals(before, dump(f));
    assertEquals(1, f.entryCount());
  }

  /**
   * A node's blocks listed one by one (NodeState's snapshot today) come back as runs through
   * ofBlocks(Geometry, ...); without the geometry, as blocks.
   */
  @Test
  void ofBlocksForANodeFoldsWholeZonesIntoRuns() {
    Geometry g = new Geometry(Geometry.DEFAULT_VSTART + 0x3000, Geometry.DEFAULT_VEND - 0x5000,
        PAGE, ZONE, 16);
    for (int node : new int[] {0, 7, 15}) {
      FreeShard live = FreeShard.of(g, node);
      assertEquals(node == 0 || node == 15 ? 2 : 1, live.entryCount()); // the cut edge zones
      long base = g.vstart() - 0x3000 + node * ZONE;
      for (long z : new long[] {5, 6, 100, 4000, 4001, 4002}) {
        long a = live.allocLowest(PAGE, PAGE, base + z * 16 * ZONE + 7 * PAGE, -1L);
        assertEquals(base + z * 16 * ZONE + 7 * PAGE, a);
      }
      int n = live.blockCount();
      long[] s = new long[n];
      long[] e = new long[n];
      int[] i = {0};
      live.forEach((bs, be) -> {
        s[i[0]] = bs;
        e[i[0]++] = be;
      });
      FreeShard back = FreeShard.ofBlocks(g, s, e, n);
      back.checkInvariants();
      assertEquals(live.entryCount(), back.entryCount());
      assertEquals(runs(live), runs(back));
      assertEquals(n, back.blockCount());
      assertEquals(n, FreeShard.ofBlocks(s, e, n).entryCount());
    }
  }

  private static List<String> runs(FreeShard f) {
    List<String> out = new ArrayList<>();
    f.forEachRun((s, w, p, k) -> out.add(Long.toHexString(s) + "/" + Long.toHexString(w) + "/"
        + Long.toHexString(p) + "/" + k));
    return out;
  }

  @Test
  void releasesInARunsGapAndTouchingItsMembers() {
    // Members [0x10000, 0x11000), [0x14000, 0x15000), ... 6 of them, stride 0x4000.
    FreeShard f = FreeShard.ofRuns(new long[] {0x10000}, new long[] {0x1000},
        new long[] {0x4000}, new long[] {6}, 1);
    assertShard(f, "10000-11000 14000-15000 18000-19000 1c000-1d000 20000-21000 24000-25000");
    assertEquals(1, f.entryCount());
    f.release(0x16000, 0x17000); // inside the gap after member 1: the run is cut there
    assertShard(f, "10000-11000 14000-15000 16000-17000 18000-19000 1c000-1d000 20000-21000"
        + " 24000-25000");
    f.release(0x19000, 0x1a000); // touching member 2's end: it leaves the run and merges
    assertShard(f, "10000-11000 14000-15000 16000-17000 18000-1a000 1c000-1d000 20000-21000"
        + " 24000-25000");
    f.release(0x1b000, 0x1c000); // touching member 3's start
    assertShard(f, "10000-11000 14000-15000 16000-17000 18000-1a000 1b000-1d000 20000-21000"
        + " 24000-25000");
    f.release(0x21000, 0x24000); // filling the whole gap between members 4 and 5
    assertShard(f, "10000-11000 14000-15000 16000-17000 18000-1a000 1b000-1d000 20000-25000");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> f.release(0x13000, 0x14001));
    assertTrue(e.getMessage().contains("[0x0000000000014000, 0x0000000000015000)"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> f.release(0x10800, 0x10900));
    assertThrows(IllegalStateException.class, () -> f.release(0x11000, 0x14001));
    assertShard(f, "10000-11000 14000-15000 16000-17000 18000-1a000 1b000-1d000 20000-25000");
    // Taking the gap back out leaves members 0 and 1 a run again only if a block rejoins.
    assertTrue(f.allocExact(0x16000, 0x17000));
    f.release(0x16000, 0x17000);
    f.checkInvariants();
  }

  @Test
  void blocksRejoinRunsFromEitherSideAndJoinTwoRuns() {
    FreeShard f = FreeShard.ofRuns(new long[] {0x10000}, new long[] {0x1000},
        new long[] {0x4000}, new long[] {8}, 1);
    assertTrue(f.allocExact(0x18000, 0x19000)); // member 2 of 8
    assertEquals(2, f.entryCount()); // members 0-1 and 3-7
    f.release(0x18000, 0x19000);
    assertEquals(1, f.entryCount()); // joins both
    assertTrue(f.allocExact(0x10000, 0x11000)); // member 0: the rest is one run
    assertEquals(1, f.entryCount());
    f.release(0x10000, 0x11000); // joins the run after it
    assertEquals(1, f.entryCount());
    assertTrue(f.allocExact(0x2c000, 0x2d000)); // member 7
    f.release(0x2c000, 0x2d000); // joins the run before it
    assertEquals(1, f.entryCount());
    assertShard(f, "10000-11000 14000-15000 18000-19000 1c000-1d000 20000-21000 24000-25000"
        + " 28000-29000 2c000-2d000");
    // A block of the width at the next stride joins: the run grows.
    f.release(0x30000, 0x31000);
    assertEquals(1, f.entryCount());
    assertEquals(9, f.blockCount());
    // Not at a member position, or not the width: stays a block.
    f.release(0x35000, 0x36000);
    f.release(0x38000, 0x38800);
    assertEquals(3, f.entryCount());
    f.checkInvariants();
  }

  /** Runs of several shapes, odd strides included: every search matches the expanded blocks. */
  @Test
  void runsAgreeWithTheirExpansion() {
    SplittableRandom rnd = new SplittableRandom(5);
    for (int round = 0; round < 40; round++) {
      List<long[]> entries = new ArrayList<>();
      List<long[]> blocks = new ArrayList<>();
      long at = 1L << (20 + rnd.nextInt(20));
      for (int i = 0; i < 6; i++) {
        long w = PAGE << rnd.nextInt(12);
        long stride = w * (2 + rnd.nextInt(40));
        long k = 2 + rnd.nextInt(200);
        long s = Unsigned.alignUp(at, w) + (rnd.nextBoolean() ? 0 : w * rnd.nextInt(1000));
        if (rnd.nextInt(3) == 0) entries.add(new long[] {s, PAGE * (1 + rnd.nextInt(9)), 0, 1});
        else entries.add(new long[] {s, w, stride, k});
        long[] en = entries.get(entries.size() - 1);
        for (long j = 0; j < en[3]; j++) {
          blocks.add(new long[] {s + j * en[2], s + j * en[2] + en[1]});
        }
        at = blocks.get(blocks.size() - 1)[1] + PAGE;
      }
      long[][] cols = new long[4][entries.size()];
      for (int i = 0; i < entries.size(); i++) {
        for (int c = 0; c < 4; c++) cols[c][i] = entries.get(i)[c];
      }
      FreeShard f = FreeShard.ofRuns(cols[0], cols[1], cols[2], cols[3], entries.size());
      f.checkInvariants();
      assertEquals(blocks.size(), f.blockCount());
      long lowest = blocks.get(0)[0];
      long span = blocks.get(blocks.size() - 1)[1] - lowest;
      for (int q = 0; q < 2000; q++) {
        long size = PAGE << rnd.nextInt(13);
        long align = 1L << (12 + rnd.nextInt(40));
        long lo = lowest - PAGE + rnd.nextLong(span + 2 * PAGE);
        long hi = rnd.nextInt(3) == 0 ? -1L : lo + rnd.nextLong(span + PAGE);
        long want = linearLowest(blocks, size, align, lo, hi);
        long got = f.findLowest(size, align, lo, hi);
        if (want != got) {
          assertEquals(Unsigned.hex(want), Unsigned.hex(got), "round " + round + " size "
              + Unsigned.hex(size) + " align " + Unsigned.hex(align) + " lo " + Unsigned.hex(lo)
              + " hi " + Unsigned.hex(hi));
        }
      }
    }
  }

  @Test
  void ofRunsValidatesEveryEntryAndMergesTouchingOnes() {
    expectBad("count 0", () -> FreeShard.ofRuns(new long[] {0x1000}, new long[] {0x1000},
        new long[] {0}, new long[] {0}, 1));
    expectBad("width is 0", () -> FreeShard.ofRuns(new long[] {0x1000}, new long[] {0},
        new long[] {0}, new long[] {1}, 1));
    expectBad("passes 2^64 - 1", () -> FreeShard.ofRuns(new long[] {TOP}, new long[] {PAGE},
        new long[] {0}, new long[] {1}, 1));
    expectBad("run width 0x0000000000003000 is not a power of two", () -> FreeShard.ofRuns(
        new long[] {0x6000}, new long[] {0x3000}, new long[] {0x6000}, new long[] {2}, 1));
    expectBad("not a multiple of its width", () -> FreeShard.ofRuns(new long[] {0x1000},
        new long[] {0x2000}, new long[] {0x4000}, new long[] {2}, 1));
    expectBad("stride 0x0000000000002000", () -> FreeShard.ofRuns(new long[] {0x2000},
        new long[] {0x2000}, new long[] {0x2000}, new long[] {2}, 1));
    expectBad("stride 0x0000000000005000", () -> FreeShard.ofRuns(new long[] {0x2000},
        new long[] {0x2000}, new long[] {0x5000}, new long[] {2}, 1));
    expectBad("members of stride", () -> FreeShard.ofRuns(new long[] {1L << 62},
        new long[] {0x1000}, new long[] {1L << 62}, new long[] {4}, 1));
    expectBad("entry 1 at 0x0000000000004000 is not above the entry before it, ending at "
            + "0x000000000000a000", () -> FreeShard.ofRuns(new long[] {0x1000, 0x4000},
        new long[] {0x1000, 0x1000}, new long[] {0x4000, 0}, new long[] {3, 1}, 2));
    expectBad("does not fit", () -> FreeShard.ofRuns(new long[] {0x1000}, new long[] {0x1000},
        new long[] {0}, new long[] {1}, 2));
    // Touching: a block ending at a run's first member, a run's last member and a block.
    FreeShard f = FreeShard.ofRuns(new long[] {0x1000, 0x4000, 0x11000},
        new long[] {0x3000, 0x1000, 0x2000}, new long[] {0, 0x4000, 0}, new long[] {1, 4, 1}, 3);
    assertShard(f, "1000-5000 8000-9000 c000-d000 10000-13000");
    assertEquals(3, f.entryCount());
    // Two runs touching end to start: members peel off into one block.
    FreeShard t = FreeShard.ofRuns(new long[] {0x0, 0xd000}, new long[] {0x1000, 0x1000},
        new long[] {0x4000, 0x2000}, new long[] {4, 3}, 2);
    assertShard(t, "0-1000 4000-5000 8000-9000 c000-e000 f000-10000 11000-12000");
    assertEquals(6, t.blockCount());
    // A run of one is a block; stride ignored.
    assertShard(FreeShard.ofRuns(new long[] {0x3000}, new long[] {0x5000}, new long[] {7},
        new long[] {1}, 1), "3000-8000");
  }

  @Test
  void forEachRunGivesEntriesAndForEachRunInCutsRuns() {
    FreeShard f = FreeShard.ofRuns(new long[] {0x1000, 0x10000, 0x40000},
        new long[] {0x2000, 0x1000, 0x3000}, new long[] {0, 0x2000, 0}, new long[] {1, 10, 1}, 3);
    List<String> all = new ArrayList<>();
    f.forEachRun((s, w, p, k) -> all.add(Long.toHexString(s) + "/" + Long.toHexString(w) + "/"
        + Long.toHexString(p) + "/" + k));
    assertEquals(List.of("1000/2000/0/1", "10000/1000/2000/10", "40000/3000/0/1"), all);
    List<String> cut = new ArrayList<>();
    f.forEachRunIn(0x12fff, 0x16001, (s, w, p, k) -> cut.add(Long.toHexString(s) + "/" + k));
    assertEquals(List.of("12000/3"), cut); // members at 0x12000, 0x14000, 0x16000
    cut.clear();
    f.forEachRunIn(0x13000, 0x14000, (s, w, p, k) -> cut.add(Long.toHexString(s) + "/" + k));
    assertEquals(List.of(), cut); // a gap
    cut.clear();
    f.forEachRunIn(0x2000, 0x10001,
        (s, w, p, k) -> cut.add(Long.toHexString(s) + "/" + p + "/" + k));
    assertEquals(List.of("1000/0/1", "10000/0/1"), cut);
    cut.clear();
    f.forEachRunIn(0x22fff, -1L, (s, w, p, k) -> cut.add(Long.toHexString(s) + "/" + k));
    assertEquals(List.of("22000/1", "40000/1"), cut);
    assertEquals(12, f.blockCount());
    assertEquals(3, f.entryCount());
  }

  @Test
  void blockCountSaturatesAtAnInt() {
    FreeShard f = FreeShard.ofRuns(new long[] {0}, new long[] {PAGE}, new long[] {2 * PAGE},
        new long[] {1L << 32}, 1);
    assertEquals(1L << 32, f.blockCountLong());
    assertEquals(Integer.MAX_VALUE, f.blockCount());
    assertEquals(PAGE << 32, f.freeBytes());
    f.checkInvariants();
  }

  private static void expectBad(String named, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(named),
        () -> "'" + e.getMessage() + "' should name " + named);
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
