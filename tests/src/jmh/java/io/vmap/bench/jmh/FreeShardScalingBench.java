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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The claim that {@link FreeShard}'s lowest-fit search is logarithmic in the number of free blocks
 * (DESIGN.md "Allocation: exact placement", like the kernel's {@code find_vmap_lowest_match}),
 * measured rather than asserted: the case of FreeShardTest's "a million blocks" test at 10^3 ..
 * 10^6 blocks. {@code blocks} one-page blocks with a busy page between neighbours, then one
 * two-page block at the very end; each call starts its search at a random address among them.
 *
 * <ul>
 *   <li>{@code onlyFitAtTheEnd}: a two-page request, which fits only in the last block: a linear
 *       scan visits every block (time x1000 from 10^3 to 10^6 blocks); the subtree_max_size
 *       descent visits O(log n) nodes (time about x2, plus cache misses of a bigger tree);
 *   <li>{@code allocFreeOnePage}: a one-page alloc at or above the random address and its free,
 *       which leaves the shard as it was (split and merge of a block on the way).
 * </ul>
 *
 * Read the result as the growth of the time per call with {@code blocks}, not as absolute figures
 * (2 shared cores here). Run: {@code java -jar tests/target/jmh/benchmarks.jar FreeShardScalingBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class FreeShardScalingBench {

  static final long PAGE = 4096;
  static final long BASE = 0xffffc90000000000L;
  /** Random search starts, drawn once: the benchmark loop does not pay for the generator. */
  static final int STARTS = 1 << 16;

  @Param({"1000", "10000", "100000", "1000000"})
  int blocks;

  FreeShard shard;
  long last;
  final long[] los = new long[STARTS];
  int next;

  @Setup
  public void setup() {
    long[] s = new long[blocks + 1];
    long[] e = new long[blocks + 1];
    for (int i = 0; i < blocks; i++) {
      s[i] = BASE + 2L * i * PAGE;
      e[i] = s[i] + PAGE;
    }
    last = BASE + 2L * blocks * PAGE;
    s[blocks] = last;
    e[blocks] = last + 2 * PAGE;
    shard = FreeShard.ofBlocks(s, e, blocks + 1);
    shard.checkInvariants();
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < STARTS; i++) los[i] = BASE + rnd.nextLong(2L * blocks * PAGE);
    if (shard.findLowest(2 * PAGE, PAGE, BASE, -1L) != last) throw new IllegalStateException("layout");
  }

  private long nextLo() {
    long lo = los[next];
    next = (next + 1) & (STARTS - 1);
    return lo;
  }

  @Benchmark
  public long onlyFitAtTheEnd() {
    return shard.findLowest(2 * PAGE, PAGE, nextLo(), -1L);
  }

  @Benchmark
  public long allocFreeOnePage() {
    long a = shard.allocLowest(PAGE, PAGE, nextLo(), -1L);
    shard.release(a, a + PAGE);
    return a;
  }
}
