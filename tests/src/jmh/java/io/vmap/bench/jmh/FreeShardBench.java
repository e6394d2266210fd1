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
 * leaves the shard as it was). The request is 4 pages, aligned to a page or to 16 pages (64 KiB).
 *
 * <p>Layouts (blocks in address order, one busy page between neighbours, a 1 GiB block last):
 *
 * <ul>
 *   <li>{@code contiguous}: every block is 64 pages, so the lowest block fits (not fragmented);
 *   <li>{@code fragmented}: every block but the last is 2 pages, too small: the fit is the last
 *       block, found by descending with subtree_max_size;
 *   <li>{@code nearmiss}: every block but the last is 4 pages starting 2 pages past a 16-page
 *       boundary: big enough for the size, but with a 64 KiB align none holds an aligned fit, so
 *       the exact lowest-fit search visits every one of them (the O(k log n) case of
 *       FreeShard.findLowest; the kernel's size + align - 1 search would not, and would also
 *       not find a lower fit).
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

  @Param({"contiguous", "fragmented", "nearmiss"})
  String layout;

  @Param({"4096", "65536"})
  long align;

  FreeShard shard;
  final long size = 4 * PAGE;
  final long lo = BASE;
  long hi;

  @Setup
  public void setup() {
    long[] starts = new long[blocks];
    long[] ends = new long[blocks];
    long stride;
    long offset;
    long length;
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
      default -> throw new IllegalArgumentException(layout);
    }
    for (int i = 0; i < blocks - 1; i++) {
      starts[i] = BASE + (i * stride + offset) * PAGE;
      ends[i] = starts[i] + length * PAGE;
    }
    long top = BASE + ((long) blocks * stride + 16) * PAGE;
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
