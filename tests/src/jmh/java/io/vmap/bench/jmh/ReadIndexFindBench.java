package io.vmap.bench.jmh;

import io.vmap.space.Area;
import io.vmap.space.BusyTree;
import io.vmap.space.Geometry;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * The read index's lookup alone ({@link BusyTree#findConcurrent}, what a {@code find} in the
 * node's JVM costs below the client) at {@code vmap bench --live-areas 1000000}'s shape: 16 nodes'
 * trees of 62,500 areas each, laid out as the nodes allocate them (lowest fit in each node's
 * 32 MiB zones of the x86-64 vmalloc range), with a free page after every {@code pages}-page area
 * so misses have somewhere to land.
 *
 * <p>Probes are precomputed for every area in a random order and walked sequentially (one per
 * invocation, a million before any repeats), so each lookup meets a cold table and slot as in the
 * CLI bench, and the probe array itself streams from memory without a miss of its own:
 *
 * <ul>
 *   <li>{@code start}: an area's exact start (what {@code free} and the kernel's
 *       {@code find_vmap_area} callers pass);
 *   <li>{@code firstPage}: a random address in an area's first page (the CLI bench's lookup);
 *   <li>{@code interior}: a random address anywhere in the area (past its first page the
 *       first-page index misses and the tree is walked);
 *   <li>{@code miss}: an address in the free page after an area (the index misses, the tree walk
 *       finds nothing).
 * </ul>
 *
 * <p>On a shared machine the wall-clock score counts the time other processes held the CPU, so
 * the benchmark also reports the finding thread's CPU time ({@code cpuNanos}) and its lookups
 * ({@code lookups}) over the measurement iterations: their ratio is the CPU cost of a lookup.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class ReadIndexFindBench {

  static final long PAGE = 4096;
  static final int NODES = 16;
  static final int AREAS = 1_000_000;

  @Param({"1", "4"})
  int pages;

  @Param({"start", "firstPage", "interior", "miss"})
  String probe;

  BusyTree[] trees;
  long[] probes;
  int[] nodeOfProbe;
  int i;

  @Setup(Level.Trial)
  public void setup() {
    Geometry g = Geometry.defaults();
    trees = new BusyTree[NODES];
    for (int n = 0; n < NODES; n++) trees[n] = new BusyTree(PAGE);
    long[] starts = new long[AREAS];
    int[] nodeOf = new int[AREAS];
    long zone = g.zone();
    long stride = (pages + 1) * PAGE;
    long perZone = zone / stride;
    // Node n's k-th area: zone number n + NODES * (k / perZone) counted from vstart's zone, as
    // lowest fit fills a node's zones in address order.
    long firstZone = Long.divideUnsigned(g.vstart(), zone);
    for (int a = 0; a < AREAS; a++) {
      int n = a % NODES;
      long k = a / NODES;
      long z = firstZone + n + NODES * (k / perZone);
      long s = z * zone + (k % perZone) * stride;
      trees[g.nodeOf(s)].insert(new Area(s, s + pages * PAGE, ""));
      starts[a] = s;
      nodeOf[a] = g.nodeOf(s);
    }
    SplittableRandom rnd = new SplittableRandom(42);
    probes = new long[AREAS];
    nodeOfProbe = new int[AREAS];
    for (int a = 0; a < AREAS; a++) {
      int j = rnd.nextInt(a + 1); // inside-out shuffle
      probes[a] = probes[j];
      nodeOfProbe[a] = nodeOfProbe[j];
      long s = starts[a];
      probes[j] = switch (probe) {
        case "start" -> s;
        case "firstPage" -> s + rnd.nextLong(PAGE);
        case "interior" -> s + rnd.nextLong(pages * PAGE);
        case "miss" -> s + pages * PAGE + rnd.nextLong(PAGE);
        default -> throw new IllegalArgumentException("probe " + probe);
      };
      nodeOfProbe[j] = nodeOf[a];
    }
    for (int a = 0; a < 1000; a++) {
      Area found = trees[nodeOfProbe[a]].findConcurrent(probes[a]);
      if ((found == null) != probe.equals("miss")) throw new IllegalStateException("probe " + probe + " " + a + ": " + found);
    }
  }

  @Benchmark
  public Area find(ThreadCpuTime cpu) {
    int k = i;
    i = k + 1 == AREAS ? 0 : k + 1;
    cpu.ops++;
    return trees[nodeOfProbe[k]].findConcurrent(probes[k]);
  }
}
