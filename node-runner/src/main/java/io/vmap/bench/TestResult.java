package io.vmap.bench;

import java.util.List;
import org.HdrHistogram.Histogram;

/**
 * One case's outcome on one target, summed over the worker threads.
 *
 * @param passed repeats that passed, over all workers (the kernel prints this per worker)
 * @param avgUsec the kernel's avg: wall time of the whole case (setup, loop, teardown) divided by
 *     the repeat count, averaged over workers
 * @param ops requests issued (alloc + free + find), setup and teardown included
 * @param opsPerSec with lockstep, every worker's requests over the wall time from the case's start
 *     to the last worker's end; else the sum over workers of each one's requests / its time in the
 *     case (see {@link BenchRunner})
 * @param all latency of every request, nanoseconds
 * @param errors distinct unexpected errors (exceptions), if any
 */
public record TestResult(
    String target,
    int id,
    String name,
    int passed,
    int failed,
    int repeat,
    int loops,
    long avgUsec,
    long ops,
    double opsPerSec,
    Histogram all,
    Histogram alloc,
    Histogram free,
    Histogram find,
    List<String> errors) {

  /** Every request's latency: the union of the three kinds' histograms. */
  static Histogram all(Histogram alloc, Histogram free, Histogram find) {
    Histogram all = new Histogram(3);
    all.add(alloc);
    all.add(free);
    all.add(find);
    return all;
  }

  /** The kernel's line, byte for byte. */
  public String summaryLine() {
    return String.format("Summary: %s passed: %d failed: %d repeat: %d loops: %d avg: %d usec",
        name, passed, failed, repeat, loops, avgUsec);
  }

  /** Percentile {@code q} (0..100) of all requests, microseconds. */
  public double usec(double q) {
    return usec(all, q);
  }

  public double maxUsec() {
    return all.getTotalCount() == 0 ? 0 : all.getMaxValue() / 1000.0;
  }

  static double usec(Histogram h, double q) {
    return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(q) / 1000.0;
  }

  /** The line after the summary: throughput and latency percentiles. */
  public String latencyLine() {
    return String.format(
        "  %s: %s ops/s, latency usec p50: %s p99: %s p99.9: %s max: %s (%d ops: alloc %d free %d find %d)",
        name, Report.rate(opsPerSec), Report.us(usec(50)), Report.us(usec(99)), Report.us(usec(99.9)),
        Report.us(maxUsec()), ops, alloc.getTotalCount(), free.getTotalCount(), find.getTotalCount());
  }

  /** The align_shift case is "supposed to be failed" (kernel comment): its failures are expected. */
  public boolean failedUnexpectedly() {
    return failed > 0 && id != 6;
  }
}
