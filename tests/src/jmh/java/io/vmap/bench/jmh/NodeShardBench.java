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
 * The free shard a vmap node starts with in the default geometry (32 TiB, 32 MiB zones): with 16
 * nodes, node 1 owns every 16th zone, 65,536 separate blocks; with 1 node the space is one block.
 * One lowest-fit search of one page over the whole space, for aligns up to the zone size (every
 * zone has a fit) and above it (no zone of node 1 holds an address aligned to 2 zones or more, so
 * the search visits all 65,536 blocks and answers NO_FIT). The second case is what the embedded
 * allocator pays on every node it walks when an alignment larger than a zone cannot be met at
 * home (align_shift_alloc_test, aligns of 64 MiB and up).
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

  @Param({"4096", "33554432", "67108864", "1073741824"})
  long align;

  FreeShard shard;
  Geometry g;

  @Setup
  public void setup() {
    g = new Geometry(Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VEND, Geometry.DEFAULT_PAGE,
        Geometry.DEFAULT_ZONE, nodes);
    shard = FreeShard.of(g, nodes > 1 ? 1 : 0);
  }

  @Benchmark
  public long lowestFitWholeSpace() {
    return shard.findLowest(g.page(), align, g.vstart(), g.vend());
  }
}
