package io.vmap.bench.jmh;

import io.vmap.space.FreeShard;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link FreeShard} at 15,000 and 1,000,000 free blocks: the lowest-fit search alone
 * ({@code findLowest}) and an alloc+free pair ({@code allocLowest} then {@code release}, which
 * leaves the shard as it was). The request is 4 pages, aligned to a page, to 16 pages (64 KiB), or
 * to 128 MiB (above {@link FreeShard#exactAlignLimit()}, 64 MiB with 4 KiB pages).
 *
 * <p>Layouts (blocks in address order, one busy page between neighbours or more, a 1 GiB block
 * last):
 *
 * <ul>
 *   <li>{@code contiguous}: every block is 64 pages, so the lowest block fits (not fragmented);
 *   <li>{@code fragmented}: every block but the last is 2 pages, too small: the fit is the last
 *       block, found by descending with subtree_max_size;
 *   <li>{@code nearmiss}: every block but the last is 4 pages starting 2 pages past a 16-page
 *       boundary: big enough for the size, but with a 64 KiB align none holds an aligned fit.
 *       Before the alignment classes the exact search visited every one of them (O(k log n));
 *       with them, one descent steered by the 64 KiB class skips them all;
 *   <li>{@code nearmissAboveLimit}: every block but the last is 4 pages at an odd multiple of
 *       64 MiB (from address 2^32, not the vmalloc range: a million of them span 2^47 bytes). The
 *       highest class (64 MiB) sees a fit in each; with a 128 MiB align none has one: the
 *       documented O(k log n) case above the exact limit, each near miss costing one descent.
 *       With smaller aligns every block fits at its start.
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class FreeShardBench {

  static final long PAGE = 4096;
  static final long BASE = 0xffffc90000000000L;

  @Param({"15000", "1000000"})
  int blocks;

  @Param({"contiguous", "fragmented", "nearmiss", "nearmissAboveLimit"})
  String layout;

  @Param({"4096", "65536", "134217728"})
  long align;

  FreeShard shard;
  final long size = 4 * PAGE;
  long lo;
  long hi;

  @Setup
  public void setup() {
    long[] starts = new long[blocks];
    long[] ends = new long[blocks];
    long stride;
    long offset;
    long length;
    long base = BASE;
    switch (layout) {
      case "contiguous" -> {
        stride = 65;
        offset = 0;
        length = 64;
      }
      case "fragmented" -> {
        stride = 16;
        offset = 2;
        length = 2;
      }
      case "nearmiss" -> {
        stride = 16;
        offset = 2;
        length = 4;
      }
      case "nearmissAboveLimit" -> {
        stride = 2 * (64L << 20) / PAGE; // 128 MiB
        offset = (64L << 20) / PAGE; // 64 MiB: odd multiples of 64 MiB
        length = 4;
        base = 1L << 32;
      }
      default -> throw new IllegalArgumentException(layout);
    }
    lo = base;
    for (int i = 0; i < blocks - 1; i++) {
      starts[i] = base + (i * stride + offset) * PAGE;
      ends[i] = starts[i] + length * PAGE;
    }
    long top = base + ((long) blocks * stride + 16) * PAGE;
    starts[blocks - 1] = top;
    ends[blocks - 1] = top + (1L << 30);
    hi = ends[blocks - 1];
    shard = FreeShard.ofBlocks(starts, ends, blocks);
    shard.checkInvariants();
    long a = shard.findLowest(size, align, lo, hi);
    if (a == FreeShard.NO_FIT) throw new IllegalStateException("no fit in " + layout);
  }

  @Benchmark
  public long lowestFit() {
    return shard.findLowest(size, align, lo, hi);
  }

  @Benchmark
  public long allocFreePair() {
    long a = shard.allocLowest(size, align, lo, hi);
    shard.release(a, a + size);
    return a;
  }
}
