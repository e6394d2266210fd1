package io.vmap.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
            + "sequential_test_order=%d nr_pages=%d; nodes=%d window=%d seed=%d warmup-loops=%d%n",
        target, c.nrThreads(), c.testLoopCount(), c.testRepeatCount(), c.runTestMask(),
        c.sequentialTestOrder() ? 1 : 0, c.nrPages(), c.nodes(), c.window(), c.seed(), c.warmupLoops());
    out.println("# " + describe);
    out.printf("# machine: %d CPUs, load average %s (1/5/15 min, at the end of the run)%n",
        Runtime.getRuntime().availableProcessors(), loadAverage());
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

  static Map<String, Object> config(BenchConfig c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("nr_threads", c.nrThreads());
    m.put("test_loop_count", c.testLoopCount());
    m.put("test_repeat_count", c.testRepeatCount());
    m.put("run_test_mask", c.runTestMask());
    m.put("sequential_test_order", c.sequentialTestOrder());
    m.put("nr_pages", c.nrPages());
    m.put("nodes", c.nodes());
    m.put("lazy_max_pages", c.thresholdPages());
    m.put("release_batch", c.releaseBatch());
    m.put("window", c.window());
    m.put("seed", c.seed());
    m.put("request_ids", c.requestIds().name().toLowerCase(Locale.ROOT));
    m.put("finds_per_alloc", c.findsPerAlloc());
    m.put("warmup_loops", c.warmupLoops());
    return m;
  }

  static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("nproc", Runtime.getRuntime().availableProcessors());
    m.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
    m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    m.put("loadavg", loadAverage());
    return m;
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

  static Map<String, Object> latency(Histogram h) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", h.getTotalCount());
    m.put("p50_usec", TestResult.usec(h, 50));
    m.put("p99_usec", TestResult.usec(h, 99));
    m.put("p999_usec", TestResult.usec(h, 99.9));
    m.put("max_usec", h.getTotalCount() == 0 ? 0.0 : h.getMaxValue() / 1000.0);
    return m;
  }

  static Map<String, Object> result(TestResult r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("test", r.name());
    m.put("id", r.id());
    m.put("passed", r.passed());
    m.put("failed", r.failed());
    m.put("repeat", r.repeat());
    m.put("loops", r.loops());
    m.put("avg_usec", r.avgUsec());
    m.put("ops", r.ops());
    m.put("ops_per_sec", Math.round(r.opsPerSec()));
    m.put("latency", latency(r.all()));
    Map<String, Object> by = new LinkedHashMap<>();
    by.put("alloc", latency(r.alloc()));
    by.put("free", latency(r.free()));
    by.put("find", latency(r.find()));
    m.put("by_op", by);
    m.put("errors", r.errors());
    return m;
  }

  static Map<String, Object> json(BenchConfig c, List<Run> runs, boolean compare) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("machine", machine());
    root.put("config", config(c));
    List<Object> rs = new ArrayList<>();
    for (Run run : runs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("target", run.target());
      m.put("describe", run.describe());
      List<Object> results = new ArrayList<>();
      for (TestResult r : run.results()) results.add(result(r));
      m.put("results", results);
      rs.add(m);
    }
    root.put("runs", rs);
    if (compare) {
      List<Object> rows = new ArrayList<>();
      for (Row row : compareRows(runs)) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("test", row.result.name());
        m.put("target", row.result.target());
        m.put("ops_per_sec", Math.round(row.result.opsPerSec()));
        m.put("p50_usec", row.result.usec(50));
        m.put("p99_usec", row.result.usec(99));
        m.put("max_usec", row.result.maxUsec());
        m.put("embedded_ratio", row.ratio);
        rows.add(m);
      }
      root.put("compare", rows);
    }
    return root;
  }
}
