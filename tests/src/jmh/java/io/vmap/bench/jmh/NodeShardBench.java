package io.vmap.bench.jmh;

import io.vmap.space.FreeShard;
import io.vmap.space.Geometry;
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
 * The free shard a vmap node starts with: in the default geometry (32 TiB, 32 MiB zones) and in
 * x86-64's 5-level vmalloc range (12.5 PiB, same zones). With 16 nodes, node 1 owns every 16th
 * zone: 65,536 zones (26,214,400 in 12.5 PiB), stored as one run; with 1 node the space is one
 * block.
 *
 * <ul>
 *   <li>{@code lowestFitWholeSpace}: one lowest-fit search of one page over the whole space, for
 *       aligns up to the zone size (every zone has a fit) and above it (no zone of node 1 holds an
 *       address aligned to 2 zones or more: NO_FIT). Before runs, the second case visited all
 *       65,536 zone blocks (6.4 ms); a run answers it by arithmetic;
 *   <li>{@code allocFree}: the same request allocated and released: cutting the zone out of the
 *       run, carving the page, merging it back and rejoining the run;
 *   <li>{@code startShard}: {@code FreeShard.of}, a node's start (O(zones) before runs).
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class NodeShardBench {

  @Param({"16", "1"})
  int nodes;

  @Param({"32TiB", "12.5PiB"})
  String space;

  @Param({"4096", "33554432", "67108864", "1073741824"})
  long align;

  FreeShard shard;
  Geometry g;

  @Setup
  public void setup() {
    boolean la57 = space.equals("12.5PiB");
    g = new Geometry(la57 ? 0xffa0000000000000L : Geometry.DEFAULT_VSTART,
        la57 ? 0xffd2000000000000L : Geometry.DEFAULT_VEND, Geometry.DEFAULT_PAGE,
        Geometry.DEFAULT_ZONE, nodes);
    shard = FreeShard.of(g, nodes > 1 ? 1 : 0);
  }

  @Benchmark
  public long lowestFitWholeSpace() {
    return shard.findLowest(g.page(), align, g.vstart(), g.vend());
  }

  @Benchmark
  public long allocFree() {
    long a = shard.allocLowest(g.page(), align, g.vstart(), g.vend());
    if (a != FreeShard.NO_FIT) shard.release(a, a + g.page());
    return a;
  }

  @Benchmark
  public FreeShard startShard() {
    return FreeShard.of(g, nodes > 1 ? 1 : 0);
  }
}
