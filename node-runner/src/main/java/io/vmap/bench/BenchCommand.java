package io.vmap.bench;

import io.vmap.cli.Cli;
import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;
import io.vmap.http.api.Api;
import io.vmap.space.Unsigned;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/**
 * {@code vmap bench}: the kernel's lib/test_vmalloc.c against the actor allocator and two
 * single-lock baselines, plus the purge-latency benchmark. Results go to stdout; progress and
 * diagnostics to stderr. Exit status: 0, 1 when a case failed unexpectedly (every case but
 * align_shift_alloc_test, which is supposed to fail) or hit an error, 2 for bad options or a
 * target that cannot be opened.
 */
@Command(
    name = "bench",
    sortOptions = false,
    description = {
      "Runs lib/test_vmalloc.c's cases (same names, knobs and Summary lines)",
      "against an allocator target, with throughput and latency percentiles.",
      "--compare runs embedded, global-lock and first-fit on the same cases;",
      "--purge-latency measures allocation latency during a big purge.",
      "See BENCHMARKS.md."
    })
public final class BenchCommand extends CliCommand {

  /** Warm-up loops per case unless --compare or --warmup-loops says otherwise. */
  static final int DEFAULT_WARMUP = 1000;
  /**
   * --compare's least warm-up per case: the actor path's JIT takes a few hundred thousand calls to
   * settle (fix_size alone, 2 workers, as many warm-up loops as measured ones: 0.37-0.48M ops/s at
   * 50,000, 1.16M at 200,000, 1.70M at 1,000,000).
   */
  static final int COMPARE_WARMUP = 200_000;

  @Option(names = "--target", paramLabel = "T", defaultValue = "embedded",
      description = "embedded (default: the actor allocator, volatile), embedded-durable (event sourced "
          + "on the H2 journal; -Dvmap.node.max-batch-events=1 turns group commit off), embedded-postgres "
          + "(the same on the PostgreSQL journal of scripts/postgres.sh), global-lock, first-fit, or "
          + "http://host:port (a member's HTTP API; http://host:port/v1/areas/batch coalesces the calls into "
          + "batch requests).")
  String target;

  @Option(names = "--compare", description = "Run embedded, global-lock and first-fit on the same cases and print a "
      + "table; implies --lockstep.")
  boolean compare;

  @Option(names = "--json", description = "Print machine-readable JSON instead of text.")
  boolean json;

  @Option(names = "--nr-threads", paramLabel = "N", defaultValue = "1",
      description = "Workers running the cases concurrently (kernel: nr_threads; clamped to 1..65535). Default ${DEFAULT-VALUE}.")
  int nrThreads;

  @Option(names = "--test-loop-count", paramLabel = "N", defaultValue = "50000",
      description = "Loops per case (kernel: test_loop_count, whose default is 1000000). Default ${DEFAULT-VALUE}.")
  int testLoopCount;

  @Option(names = "--test-repeat-count", paramLabel = "N", defaultValue = "1",
      description = "Repeats of every case (kernel: test_repeat_count). Default ${DEFAULT-VALUE}.")
  int testRepeatCount;

  @Option(names = "--run-test-mask", paramLabel = "MASK", converter = MaskConverter.class,
      description = "Bit i selects the i-th case in the kernel's order: 1 fix_size, 2 full_fit, 4 long_busy_list, "
          + "8 random_size, 16 fix_align, 32 random_size_align, 64 align_shift, (128..1024: kernel-only cases, "
          + "skipped), 2048 find_heavy_test. Decimal or 0x hex. Default: every case that runs here (2175).")
  Long runTestMask;

  @Option(names = "--test", paramLabel = "NAME", split = ",",
      description = "Cases by name instead of a mask (comma separated); purge_latency_test runs the --purge-latency benchmark.")
  List<String> testNames;

  // A String, not a boolean: picocli only takes true/false as a boolean's optional value, and the
  // kernel's parameter is sequential_test_order=1.
  @Option(names = "--sequential-test-order", arity = "0..1", fallbackValue = "1", paramLabel = "1|0",
      description = "Run the cases in the kernel's order instead of shuffled per worker (1/0, true/false).")
  String sequentialTestOrder;

  @Option(names = "--nr-pages", paramLabel = "N", defaultValue = "0",
      description = "Pages per fix_size_alloc_test allocation (kernel: nr_pages; 0 means 1).")
  int nrPages;

  @Option(names = "--nodes", paramLabel = "N", defaultValue = "16",
      description = "Vmap nodes of the embedded target; also the CPU count of the workloads (full_fit's "
          + "junk_length) and of the default purge threshold. Default ${DEFAULT-VALUE}.")
  int nodes;

  @Option(names = "--window", paramLabel = "N", defaultValue = "32",
      description = "Outstanding requests per worker on the embedded target. Default ${DEFAULT-VALUE}.")
  int window;

  @Option(names = "--lazy-max-pages", paramLabel = "N|auto", defaultValue = "auto",
      description = "Purge threshold in pages for every target; auto = fls(nodes) * 32 MiB / page, at most half the space's pages.")
  String lazyMaxPages;

  @Option(names = "--release-batch", paramLabel = "N", defaultValue = "256",
      description = "Pieces per purge release message on the embedded target. Default ${DEFAULT-VALUE}.")
  int releaseBatch;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "24301",
      description = "Seed of the random sizes, alignments, lookups and test order. Default ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--request-ids", paramLabel = "session|keyed", defaultValue = "session",
      description = "How the embedded target's requests are identified: session (the client's default, its"
          + " session and a sequence number) or keyed (a caller-chosen id per request, as HTTP's requestId).")
  String requestIds;

  @Option(names = "--finds-per-alloc", paramLabel = "N", defaultValue = "16",
      description = "Lookups per allocation in find_heavy_test. Default ${DEFAULT-VALUE}.")
  int findsPerAlloc;

  @Option(names = "--warmup-loops", paramLabel = "N",
      description = "Loops of an unreported pass of every selected case first (JIT warm-up); 0 for none. Default "
          + DEFAULT_WARMUP + "; with --compare, the test loop count or " + COMPARE_WARMUP + " if more, so that every target is "
          + "compared warm.")
  Integer warmupLoops;

  @Option(names = "--lockstep", description = "Every worker runs the cases in one order and starts each case "
      + "with the others, so each case is measured with all workers in it (the kernel's way, the default: "
      + "each worker through its own shuffled order, on its own).")
  boolean lockstep;

  @Option(names = "--fork", description = "Run every case of every target in a JVM of its own (as JMH forks), so "
      + "that no case's JIT profile shapes another's; each fork warms up and measures its one case.")
  boolean fork;

  /** Set by {@link Forks} on the JVM it starts: write the one case's result to this file. */
  @Option(names = "--fork-child", hidden = true, paramLabel = "FILE")
  java.nio.file.Path forkChild;

  @Option(names = "--no-progress", description = "No progress lines on stderr.")
  boolean noProgress;

  @Option(names = "--purge-latency", description = "Run the purge-latency benchmark (purge_latency_test) instead of the cases.")
  boolean purgeLatency;

  @Option(names = "--purge-areas", paramLabel = "N", defaultValue = "100000",
      description = "Lazily freed areas purged in --purge-latency. Default ${DEFAULT-VALUE}.")
  int purgeAreas;

  @Option(names = "--purge-threads", paramLabel = "N", defaultValue = "2",
      description = "Allocating threads during --purge-latency. Default ${DEFAULT-VALUE}.")
  int purgeThreads;

  @Option(names = "--purge-rounds", paramLabel = "N", defaultValue = "5",
      description = "Rounds (fill, free, allocate while purging) per row of --purge-latency. Default ${DEFAULT-VALUE}.")
  int purgeRounds;

  @Option(names = "--purge-rate", paramLabel = "N", defaultValue = "5000",
      description = "Allocations per second per allocating thread in --purge-latency (open loop: latency is "
          + "measured from when each allocation was due). Default ${DEFAULT-VALUE}.")
  int purgeRate;

  @Option(names = "--live-areas", paramLabel = "N",
      description = "Instead of the cases: fill the embedded allocator with N one-page areas over every node, then "
          + "print its memory (start cost, bytes per live area) and the rate of --nr-threads threads finding "
          + "random live addresses for --find-seconds.")
  Long liveAreas;

  @Option(names = "--find-seconds", paramLabel = "S", defaultValue = "5",
      description = "How long --live-areas looks areas up (0: memory only). Default ${DEFAULT-VALUE}.")
  double findSeconds;

  /** Parses 1/0/true/false/yes/no. */
  static final class FlagConverter implements ITypeConverter<Boolean> {
    @Override
    public Boolean convert(String v) {
      return switch (v.toLowerCase(Locale.ROOT)) {
        case "1", "true", "yes", "y", "on" -> true;
        case "0", "false", "no", "n", "off" -> false;
        default -> throw new CommandLine.TypeConversionException("'" + v + "' is not 1/0 or true/false");
      };
    }
  }

  /** Decimal or 0x hex. */
  static final class MaskConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String v) {
      try {
        return Unsigned.parse(v);
      } catch (NumberFormatException e) {
        throw new CommandLine.TypeConversionException("'" + v + "' is not a decimal or 0x hex mask");
      }
    }
  }

  private BenchConfig config(long mask) {
    if (nodes < 1 || nodes > io.vmap.space.Geometry.MAX_NODES) throw new UsageException("--nodes " + nodes + " is not in 1.." + io.vmap.space.Geometry.MAX_NODES);
    if (window < 1) throw new UsageException("--window " + window + " < 1");
    if (releaseBatch < 1) throw new UsageException("--release-batch " + releaseBatch + " < 1");
    if (nrPages < 0) throw new UsageException("--nr-pages " + nrPages + " < 0");
    if (findsPerAlloc < 1) throw new UsageException("--finds-per-alloc " + findsPerAlloc + " < 1");
    Long lazy = null;
    if (!lazyMaxPages.equals("auto")) {
      try {
        lazy = Long.parseLong(lazyMaxPages);
      } catch (NumberFormatException e) {
        throw new UsageException("--lazy-max-pages '" + lazyMaxPages + "' is not a number or auto");
      }
      if (lazy < 0) throw new UsageException("--lazy-max-pages " + lazy + " < 0");
    }
    EmbeddedTarget.RequestIds ids = switch (requestIds) {
      case "session" -> EmbeddedTarget.RequestIds.SESSION;
      case "keyed" -> EmbeddedTarget.RequestIds.KEYED;
      default -> throw new UsageException("--request-ids '" + requestIds + "' is not session or keyed");
    };
    int warmup = warmupLoops != null ? warmupLoops : compare ? Math.max(testLoopCount, COMPARE_WARMUP) : DEFAULT_WARMUP;
    boolean sequential;
    try {
      sequential = sequentialTestOrder != null && new FlagConverter().convert(sequentialTestOrder);
    } catch (CommandLine.TypeConversionException e) {
      throw new UsageException("--sequential-test-order: " + e.getMessage());
    }
    return new BenchConfig(nrThreads, testLoopCount, testRepeatCount, mask, sequential, nrPages, nodes,
        lazy, releaseBatch, window, seed, ids, findsPerAlloc, warmup, !noProgress,
        lockstep || compare).normalized();
  }

  @Override
  protected int run() {
    PrintWriter out = out();
    PrintWriter err = err();
    long mask = runTestMask != null ? runTestMask : VmallocTests.implementedMask();
    boolean purge = purgeLatency;
    if (testNames != null && !testNames.isEmpty()) {
      if (runTestMask != null) throw new UsageException("--test and --run-test-mask are alternatives; give one");
      mask = 0;
      for (String n : testNames) {
        if (n.equals("purge_latency_test")) {
          purge = true;
          continue;
        }
        VmallocTests.Case c = VmallocTests.byName(n);
        if (c == null) throw new UsageException("unknown test '" + n + "'");
        if (!c.implemented()) throw new UsageException(n + " exercises a kernel subsystem with no counterpart here");
        mask |= 1L << c.id;
      }
    }
    if (compare && !target.equals("embedded")) {
      throw new UsageException("--compare runs embedded, global-lock and first-fit; drop --target");
    }
    if (!compare) Targets.check(target);
    if (fork && forkChild != null) throw new UsageException("--fork and --fork-child are alternatives");
    BenchConfig cfg = config(mask);
    if (runTestMask != null) {
      List<String> skipped = new ArrayList<>();
      for (VmallocTests.Case c : VmallocTests.ALL) {
        if (!c.implemented() && (mask & (1L << c.id)) != 0) skipped.add(c.name);
      }
      if (!skipped.isEmpty()) err.println(spec.qualifiedName() + ": skipped (kernel subsystems with no counterpart here): " + String.join(", ", skipped));
    }
    if (liveAreas != null) {
      if (liveAreas < 1 || liveAreas > Integer.MAX_VALUE) throw new UsageException("--live-areas " + liveAreas + " is not in 1.." + Integer.MAX_VALUE);
      if (findSeconds < 0) throw new UsageException("--find-seconds " + findSeconds + " < 0");
      LiveAreasBench.Result r = LiveAreasBench.run(cfg.vmapSettings(), liveAreas, cfg.nrThreads(), findSeconds, cfg.seed(), err);
      if (json) out.println(Api.writePretty(r));
      else LiveAreasBench.print(out, cfg.vmapSettings(), r);
      return Cli.OK;
    }
    boolean runCases = (mask & VmallocTests.implementedMask()) != 0;
    if (!runCases && !purge) throw new UsageException("the mask selects no case that runs here");
    int rc = Cli.OK;
    try (BenchRunner.Progress progress = new BenchRunner.Progress(err, cfg.progress(), 5000)) {
      if (runCases && (!purge || testNames != null)) rc = runCases(cfg, out, progress);
      if (purge) runPurge(cfg, out, progress);
    }
    return rc;
  }

  private int runCases(BenchConfig cfg, PrintWriter out, BenchRunner.Progress progress) {
    List<String> names = compare ? Targets.COMPARED : List.of(target);
    List<Report.Run> runs = new ArrayList<>();
    for (String name : names) {
      Report.Run run;
      String stored = null;
      if (fork) {
        run = forked(name, cfg, progress);
      } else {
        progress.current("opening " + name);
        try (BenchTarget t = Targets.open(name, cfg)) {
          run = new Report.Run(name, t.describe(), BenchRunner.run(t, cfg, progress));
          stored = t.storageReport();
        }
        if (forkChild != null) {
          try {
            Forks.write(forkChild, run.describe(), run.results());
          } catch (java.io.IOException e) {
            throw new UncheckedIOException("--fork-child " + forkChild + ": " + e.getMessage(), e);
          }
        }
      }
      runs.add(run);
      if (!json) {
        Report.header(out, cfg, name, run.describe());
        Report.summaries(out, run.results());
        if (stored != null) out.println("# " + stored);
        out.flush();
      }
    }
    if (json) out.println(Api.writePretty(Report.json(cfg, runs, compare)));
    else if (compare) Report.compareTable(out, runs);
    for (Report.Run run : runs) {
      for (TestResult r : run.results()) if (r.failedUnexpectedly() || !r.errors().isEmpty()) return Cli.FAILED;
    }
    return Cli.OK;
  }

  /** {@code name}'s selected cases, each in a JVM of its own ({@link Forks}). */
  private Report.Run forked(String name, BenchConfig cfg, BenchRunner.Progress progress) {
    List<TestResult> results = new ArrayList<>();
    List<Long> pids = new ArrayList<>();
    String describe = name;
    for (VmallocTests.Case k : VmallocTests.ALL) {
      if (!k.implemented() || (cfg.runTestMask() & (1L << k.id)) == 0) continue;
      progress.current(name + " " + k.name + " (fork)");
      Forks.Child c = Forks.run(name, k, cfg);
      describe = c.describe();
      pids.add(c.pid());
      results.add(c.result().toTestResult());
    }
    return new Report.Run(name, describe + "; each case in a JVM of its own (--fork), pids " + pids, results);
  }

  private void runPurge(BenchConfig cfg, PrintWriter out, BenchRunner.Progress progress) {
    if (purgeAreas < 1 || purgeThreads < 1 || purgeRate < 1 || purgeRounds < 1) {
      throw new UsageException("--purge-areas, --purge-threads, --purge-rate and --purge-rounds must be at least 1");
    }
    PurgeLatencyBench.Params p = new PurgeLatencyBench.Params(purgeAreas, purgeThreads, purgeRate, cfg.nodes(),
        purgeRounds, List.of(cfg.releaseBatch(), Integer.MAX_VALUE), true, cfg.requestIds(), 1000, 300);
    List<PurgeLatencyBench.Row> rows = PurgeLatencyBench.run(p, progress);
    if (json) out.println(Api.writePretty(PurgeLatencyBench.json(p, rows)));
    else PurgeLatencyBench.print(out, p, rows);
  }

  /** {@code java -cp ... io.vmap.bench.BenchCommand ARGS} runs {@code vmap bench ARGS} alone. */
  public static void main(String[] args) {
    io.vmap.cli.Cli.main(new BenchCommand(), args);
  }
}
