package io.vmap.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** Text and JSON forms of bench results. */
final class Report {

  private Report() {}

  /** One target's run. */
  record Run(String target, String describe, List<TestResult> results) {}

  static String us(double v) {
    return String.format(Locale.ROOT, v >= 100 ? "%.0f" : "%.1f", v);
  }

  static String rate(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }

  static void header(PrintWriter out, BenchConfig c, String target, String describe) {
    out.printf("# vmap bench: target %s; nr_threads=%d test_loop_count=%d test_repeat_count=%d run_test_mask=%d "
            + "sequential_test_order=%d nr_pages=%d; nodes=%d window=%d seed=%d warmup-loops=%d lockstep=%d%n",
        target, c.nrThreads(), c.testLoopCount(), c.testRepeatCount(), c.runTestMask(),
        c.sequentialTestOrder() ? 1 : 0, c.nrPages(), c.nodes(), c.window(), c.seed(), c.warmupLoops(),
        c.lockstep() ? 1 : 0);
    out.println("# " + describe);
    out.println(machineLine());
  }

  /**
   * The machine and the JVM a figure comes from: CPUs, load, Java version, collector and heap. The
   * collector matters for the latency maxima (a G1 young pause lands in some runs, ZGC's do not).
   */
  static String machineLine() {
    BenchJson.Machine m = machine();
    return String.format(Locale.ROOT, "# machine: %d CPUs, load average %s (1/5/15 min, at the end of the run); %s, %s, max heap %d MiB",
        m.nproc(), m.loadavg(), m.java(), m.gc(), m.maxHeapBytes() >> 20);
  }

  static void summaries(PrintWriter out, List<TestResult> results) {
    for (TestResult r : results) {
      out.println(r.summaryLine());
      out.println(r.latencyLine());
      for (String e : r.errors()) out.println("  " + r.name() + ": error: " + e);
    }
  }

  /** The --compare table: one row per (test, target), ratio = embedded ops/s / this target's. */
  static void compareTable(PrintWriter out, List<Run> runs) {
    out.println();
    out.printf("%-30s %-12s %12s %10s %10s %10s %16s%n", "test", "target", "ops/s", "p50 usec", "p99 usec",
        "max usec", "embedded/target");
    for (Row row : compareRows(runs)) {
      TestResult r = row.result;
      out.printf("%-30s %-12s %12s %10s %10s %10s %16s%n", r.name(), r.target(), rate(r.opsPerSec()),
          us(r.usec(50)), us(r.usec(99)), us(r.maxUsec()),
          row.ratio == null ? "-" : String.format(Locale.ROOT, "%.2fx", row.ratio));
    }
  }

  record Row(TestResult result, Double ratio) {}

  static List<Row> compareRows(List<Run> runs) {
    List<Row> rows = new ArrayList<>();
    Run embedded = runs.stream().filter(r -> r.target().equals("embedded")).findFirst().orElse(null);
    if (runs.isEmpty()) return rows;
    for (int i = 0; i < runs.get(0).results().size(); i++) {
      TestResult e = embedded == null ? null : embedded.results().get(i);
      for (Run run : runs) {
        TestResult r = run.results().get(i);
        Double ratio = null;
        if (e != null && run != embedded && r.opsPerSec() > 0) ratio = e.opsPerSec() / r.opsPerSec();
        rows.add(new Row(r, ratio));
      }
    }
    return rows;
  }

  // ------------------------------------------------------------------------------------ JSON

  static BenchJson.Config config(BenchConfig c) {
    return new BenchJson.Config(c.nrThreads(), c.testLoopCount(), c.testRepeatCount(), c.runTestMask(),
        c.sequentialTestOrder(), c.nrPages(), c.nodes(), c.thresholdPages(), c.releaseBatch(), c.window(), c.seed(),
        c.requestIds().name().toLowerCase(Locale.ROOT), c.findsPerAlloc(), c.warmupLoops(), c.lockstep());
  }

  static BenchJson.Machine machine() {
    return new BenchJson.Machine(Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"), collectors(),
        System.getProperty("os.name") + " " + System.getProperty("os.arch"), loadAverage());
  }

  /** The JVM's garbage collectors by their management names ("G1 Young Generation, G1 Old Generation"). */
  static String collectors() {
    return java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
        .map(java.lang.management.GarbageCollectorMXBean::getName).collect(java.util.stream.Collectors.joining(", "));
  }

  /** /proc/loadavg's first three fields (the machine's load when the run ended), or "?". */
  static String loadAverage() {
    try {
      String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (java.io.IOException | RuntimeException e) {
      return "?";
    }
  }

  static BenchJson.Latency latency(Histogram h) {
    return new BenchJson.Latency(h.getTotalCount(), TestResult.usec(h, 50), TestResult.usec(h, 99),
        TestResult.usec(h, 99.9), h.getTotalCount() == 0 ? 0.0 : h.getMaxValue() / 1000.0);
  }

  static BenchJson.Result result(TestResult r) {
    return new BenchJson.Result(r.name(), r.id(), r.passed(), r.failed(), r.repeat(), r.loops(), r.avgUsec(), r.ops(),
        Math.round(r.opsPerSec()), latency(r.all()),
        new BenchJson.ByOp(latency(r.alloc()), latency(r.free()), latency(r.find())), r.errors());
  }

  static BenchJson.Cases json(BenchConfig c, List<Run> runs, boolean compare) {
    List<BenchJson.Run> rs = runs.stream()
        .map(run -> new BenchJson.Run(run.target(), run.describe(), run.results().stream().map(Report::result).toList()))
        .toList();
    List<BenchJson.CompareRow> rows = !compare ? null : compareRows(runs).stream()
        .map(row -> new BenchJson.CompareRow(row.result.name(), row.result.target(), Math.round(row.result.opsPerSec()),
            row.result.usec(50), row.result.usec(99), row.result.maxUsec(), row.ratio))
        .toList();
    return new BenchJson.Cases(machine(), config(c), rs, rows);
  }
}
