package io.vmap.bench;

import io.vmap.client.VmapSettings;
import io.vmap.space.Geometry;

/**
 * The knobs of one bench run. The first six are the kernel module's parameters (test_vmalloc.c),
 * the rest are ours.
 *
 * @param runTestMask bit i selects the i-th case of {@link VmallocTests#ALL} (kernel order)
 * @param nodes vmap nodes of the embedded target; also "num_online_cpus()" of the workloads
 *     (full_fit's junk_length) and of the default purge threshold, for every target
 * @param lazyMaxPages purge threshold in pages for every target; null = fls(nodes) * 32 MiB / page
 * @param window outstanding requests per worker thread on asynchronous targets
 * @param warmupLoops loops of an unreported pass of every selected case before measuring (0: none)
 * @param lockstep every worker runs the cases in one order and starts each case with the others
 *     (a barrier per case), so a case's figure is measured with all workers in that case; false is
 *     the kernel's way, each worker on its own through its own shuffled order
 */
public record BenchConfig(
    int nrThreads,
    int testLoopCount,
    int testRepeatCount,
    long runTestMask,
    boolean sequentialTestOrder,
    int nrPages,
    int nodes,
    Long lazyMaxPages,
    int releaseBatch,
    int window,
    long seed,
    EmbeddedTarget.RequestIds requestIds,
    int findsPerAlloc,
    int warmupLoops,
    boolean progress,
    boolean lockstep) {

  /** Defaults of {@code vmap bench}. */
  public static BenchConfig defaults() {
    return new BenchConfig(1, 50000, 1, VmallocTests.implementedMask(), false, 0, Geometry.DEFAULT_NODES,
        null, 256, 32, 0x5eedL, EmbeddedTarget.RequestIds.SESSION, 16, 1000, false, false);
  }

  /** The kernel's clamps: nr_threads to 1..65535, loop and repeat counts to at least 1. */
  public BenchConfig normalized() {
    return new BenchConfig(Math.max(1, Math.min(nrThreads, 65535)), Math.max(1, testLoopCount),
        Math.max(1, testRepeatCount), runTestMask, sequentialTestOrder, nrPages, nodes, lazyMaxPages,
        releaseBatch, Math.max(1, window), seed, requestIds, findsPerAlloc, Math.max(0, warmupLoops), progress, lockstep);
  }

  public BenchConfig withLoops(int loops) {
    return new BenchConfig(nrThreads, loops, testRepeatCount, runTestMask, sequentialTestOrder, nrPages, nodes,
        lazyMaxPages, releaseBatch, window, seed, requestIds, findsPerAlloc, warmupLoops, progress, lockstep);
  }

  public BenchConfig withMask(long mask) {
    return new BenchConfig(nrThreads, testLoopCount, testRepeatCount, mask, sequentialTestOrder, nrPages, nodes,
        lazyMaxPages, releaseBatch, window, seed, requestIds, findsPerAlloc, warmupLoops, progress, lockstep);
  }

  public BenchConfig withNodes(int n) {
    return new BenchConfig(nrThreads, testLoopCount, testRepeatCount, runTestMask, sequentialTestOrder, nrPages, n,
        lazyMaxPages, releaseBatch, window, seed, requestIds, findsPerAlloc, warmupLoops, progress, lockstep);
  }

  public BenchConfig withWarmup(int loops) {
    return new BenchConfig(nrThreads, testLoopCount, testRepeatCount, runTestMask, sequentialTestOrder, nrPages, nodes,
        lazyMaxPages, releaseBatch, window, seed, requestIds, findsPerAlloc, loops, progress, lockstep);
  }

  /**
   * The space every target manages, with {@code nodes} nodes: the configuration's space, page and
   * zone (reference.conf: DESIGN.md's defaults; {@code -Dvmap.space.start=... -Dvmap.space.end=...}
   * measures another space, e.g. the 12.5 PiB of cluster-config/five-level.conf).
   */
  public Geometry geometry() {
    Geometry c = Configured.SPACE;
    return new Geometry(c.vstart(), c.vend(), c.page(), c.zone(), nodes);
  }

  /** The configuration, read once, when a geometry is first asked for. */
  private static final class Configured {
    static final Geometry SPACE = VmapSettings.defaults().geometry();
  }

  public long thresholdPages() {
    return lazyMaxPages != null ? lazyMaxPages : geometry().defaultLazyMaxPages();
  }

  /** Settings of the embedded target. */
  public VmapSettings vmapSettings() {
    return VmapSettings.defaults().withGeometry(geometry(), thresholdPages()).withReleaseBatch(releaseBatch);
  }

  /** The workload parameters of the cases. */
  Ops.Workload workload(int loops) {
    Geometry g = geometry();
    // junk_length is the kernel's figure, whatever the threshold.
    return new Ops.Workload(g.page(), loops, nrPages, (int) g.kernelLazyMaxPages(), findsPerAlloc,
        g.vend() - g.page());
  }
}
