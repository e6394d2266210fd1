package io.vmap.bench.jmh;

import io.vmap.space.Area;
import io.vmap.space.BusyTree;
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
 * {@link BusyTree#find} (the node's {@code find_vmap_area}) at 15,000 and 1,000,000 one-page
 * areas with a free page between neighbours: a hit at a random offset inside a random area, and a
 * miss in a random gap. Probe addresses are precomputed (64 Ki of them, cycled).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class BusyTreeBench {

  static final long PAGE = 4096;
  static final long BASE = 0xffffc90000000000L;
  static final int PROBES = 1 << 16;

  @Param({"15000", "1000000"})
  int areas;

  /**
   * The order the areas go in: {@code sequential} builds a nearly perfect tree (every leaf on the
   * last level or so, so an insert changes the height of every node above it), {@code shuffled}
   * one shaped like a node's after random allocations (most inserts change a few levels).
   */
  @Param({"sequential", "shuffled"})
  String order;

  BusyTree tree;
  long[] hits = new long[PROBES];
  long[] misses = new long[PROBES];
  int i;

  @Setup
  public void setup() {
    tree = new BusyTree();
    SplittableRandom rnd = new SplittableRandom(42);
    int[] keys = new int[areas];
    for (int k = 0; k < areas; k++) keys[k] = k;
    if (order.equals("shuffled")) {
      for (int k = areas - 1; k > 0; k--) {
        int j = rnd.nextInt(k + 1);
        int t = keys[k];
        keys[k] = keys[j];
        keys[j] = t;
      }
    }
    for (int k : keys) {
      long s = BASE + 2L * k * PAGE;
      tree.insert(new Area(s, s + PAGE, ""));
    }
    for (int k = 0; k < PROBES; k++) {
      long area = BASE + 2L * rnd.nextInt(areas) * PAGE;
      hits[k] = area + rnd.nextLong(PAGE);
      misses[k] = area + PAGE + rnd.nextLong(PAGE);
    }
    if (tree.find(hits[0]) == null || tree.find(misses[0]) != null) throw new IllegalStateException("bad probes");
  }

  @Benchmark
  public Area findHit() {
    return tree.find(hits[i++ & (PROBES - 1)]);
  }

  @Benchmark
  public Area findMiss() {
    return tree.find(misses[i++ & (PROBES - 1)]);
  }

  /** The write path: an area into a one-page gap between two areas (its overlap checks and the insert), then out. */
  @Benchmark
  public Area insertRemove() {
    long s = misses[i++ & (PROBES - 1)] & -PAGE;
    tree.insert(new Area(s, s + PAGE, ""));
    return tree.remove(s);
  }
}
