package io.vmap.bench.jmh;

import io.vmap.space.FreeShard;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link FreeShard} operations at random places, so each one walks a path the previous did not
 * warm, as a busy node's do ({@link FreeShardBench} repeats one path, so it measures instructions
 * rather than cache misses). The shard: {@code blocks} blocks of 8 pages every 16 pages, the last
 * one 1 GiB. {@code randomFindLowest}: the lowest 4 pages aligned to 8 KiB at or above a random
 * block's start (one descent to that block); {@code randomAllocFree}: the same carved out and
 * released again (the shard ends as it began). Besides the wall-clock average, each reports the
 * benchmark thread's CPU time ({@code cpuNanos}) and operations ({@code ops}) over the measurement
 * iterations: their ratio is the CPU per operation, which the neighbours of a shared machine
 * disturb less than the wall clock.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class FreeShardRandomBench {

  static final long PAGE = 4096;
  static final long BASE = 0xffffc90000000000L;
  /** Random block indices, cycled through: a power of two. */
  static final int PROBES = 1 << 20;

  @Param({"150000", "1000000"})
  int blocks;

  FreeShard shard;
  long[] probes;
  long hi;
  int i;

  @Setup
  public void setup() {
    long[] starts = new long[blocks];
    long[] ends = new long[blocks];
    for (int b = 0; b < blocks - 1; b++) {
      starts[b] = BASE + (b * 16L + 2) * PAGE;
      ends[b] = starts[b] + 8 * PAGE;
    }
    starts[blocks - 1] = BASE + ((long) blocks * 16 + 16) * PAGE;
    ends[blocks - 1] = starts[blocks - 1] + (1L << 30);
    hi = ends[blocks - 1];
    shard = FreeShard.ofBlocks(starts, ends, blocks);
    SplittableRandom r = new SplittableRandom(42);
    probes = new long[PROBES];
    for (int k = 0; k < PROBES; k++) probes[k] = starts[r.nextInt(blocks)];
  }

  @TearDown
  public void check() {
    shard.checkInvariants();
  }

  private long nextProbe() {
    int k = i;
    i = (k + 1) & (PROBES - 1);
    return probes[k];
  }

  @Benchmark
  public long randomFindLowest(ThreadCpuTime cpu) {
    cpu.ops++;
    return shard.findLowest(4 * PAGE, 2 * PAGE, nextProbe(), hi);
  }

  @Benchmark
  public long randomAllocFree(ThreadCpuTime cpu) {
    cpu.ops++;
    long a = shard.allocLowest(4 * PAGE, 2 * PAGE, nextProbe(), hi);
    shard.release(a, a + 4 * PAGE);
    return a;
  }
}
