package io.vmap.runner;

import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;
import io.vmap.cli.Cli;
import java.io.PrintWriter;

import io.vmap.protocol.PurgeProtocol;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmap demo}: starts the embedded allocator, runs a mixed workload from several client
 * threads, prints progress every second, then the per-node table, the accounting check and the
 * figures (ops/s, latency percentiles). Exit 1 if the accounting check fails or any request failed.
 */
@Command(
    name = "demo",
    header = "Runs a mixed workload on the embedded allocator and checks its accounting.",
    description = {
      "Starts the allocator (cluster-config/embedded.conf unless --config) and runs",
      "allocations of 4 KiB..1 MiB (some aligned, some tagged), frees of random live",
      "areas and finds from several client threads. Prints progress every second, then",
      "every node's table, the check free + busy + lazy + reserved == space, and",
      "throughput and latency. Exit status 1 if the check fails or a request failed."
    })
final class DemoCommand extends CliCommand {

  @Option(names = "--nodes", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "vmap nodes (default: the configuration's, 16).")
  Long nodes;

  @Option(names = "--ops", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "Operations in all (default ${DEFAULT-VALUE}).", defaultValue = "200000")
  long ops;

  @Option(names = "--threads", paramLabel = "T", converter = Numbers.UnsignedConverter.class,
      description = "Client threads (default ${DEFAULT-VALUE}).", defaultValue = "4")
  long threads;

  @Option(names = "--in-flight", paramLabel = "K", converter = Numbers.UnsignedConverter.class,
      description = "Requests in flight per client thread (default ${DEFAULT-VALUE}).", defaultValue = "16")
  long inFlight;

  @Option(names = "--seed", paramLabel = "S", description = "Random seed (default: from the clock).")
  Long seed;

  @Option(names = "--config", paramLabel = "FILE",
      description = "HOCON file over reference.conf (default: cluster-config/embedded.conf).")
  Path config;

  @Override
  protected int run() throws Exception {
    if (ops == 0) throw new UsageException("ops 0 is not in 1.." + Long.MAX_VALUE);
    if (ops < 0) throw new UsageException("ops " + Long.toUnsignedString(ops) + " is not in 1.." + Long.MAX_VALUE);
    int nThreads = Numbers.intIn("threads", threads, 1, 1024);
    int perThread = Numbers.intIn("in-flight", inFlight, 1, 65536);
    long theSeed = seed != null ? seed : System.nanoTime();

    RunnerConfig rc = RunnerConfig.load(config);
    Config c = rc.config();
    if (nodes != null) {
      c = c.withValue("vmap.space.nodes",
          ConfigValueFactory.fromAnyRef(Numbers.intIn("nodes", nodes, 1, Geometry.MAX_NODES)));
    }
    VmapSettings settings = new RunnerConfig(c, rc.source()).settings(); // bad values: exit 2 before starting
    Geometry g = settings.geometry();
    PrintWriter o = out();
    o.printf("vmap demo: %d nodes, space %s:%s (%s), zone %s, page %d, purge over %d lazy pages%n",
        g.nodes(), Unsigned.hex(g.vstart()), Unsigned.hex(g.vend()), Numbers.bytes(g.spaceBytes()),
        Numbers.bytes(g.zone()), g.page(), settings.lazyMaxPages());
    o.printf("config %s; %d ops from %d client threads, %d in flight each, seed %d%n",
        rc.source(), ops, nThreads, perThread, theSeed);

    try (Vmap vmap = io.vmap.chaos.Chaos.startVmap(c)) {
      VmapClient client = vmap.client();
      DemoWorkload w = new DemoWorkload(client);
      long t0 = System.nanoTime();
      long cpu0 = processCpuNanos();
      ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "vmap-demo-progress");
        t.setDaemon(true);
        return t;
      });
      long[] last = {0, t0};
      ticker.scheduleAtFixedRate(() -> progress(o, client, w, t0, last), 1, 1, TimeUnit.SECONDS);
      try {
        w.run(ops, nThreads, perThread, theSeed);
      } finally {
        ticker.shutdownNow();
        ticker.awaitTermination(5, TimeUnit.SECONDS);
      }
      long elapsed = System.nanoTime() - t0;
      long cpu = processCpuNanos() - cpu0;

      // Quiescent snapshot: every request answered and no purge epoch running.
      client.awaitPurgeIdle().toCompletableFuture().get(60, TimeUnit.SECONDS);
      VmapInfo info = client.info().toCompletableFuture().get(60, TimeUnit.SECONDS);
      boolean accounted = summary(o, info);
      figures(o, w, elapsed, cpu, info);
      o.flush();
      if (!accounted || w.errors.sum() > 0) return Cli.FAILED;
      return 0;
    }
  }

  private static void progress(PrintWriter o, VmapClient client, DemoWorkload w, long t0, long[] last) {
    long now = System.nanoTime();
    long done = w.done.sum();
    double rate = (done - last[0]) / ((now - last[1]) / 1e9);
    last[0] = done;
    last[1] = now;
    // The purge coordinator's status, not client.info(): an inventory of every node each second
    // would sort every node's areas in the nodes' turns, on the CPUs the workload is measured on.
    String purge;
    try {
      PurgeProtocol.Status s = client.purgeStatus().toCompletableFuture().get(900, TimeUnit.MILLISECONDS);
      purge = String.format("lazy pages %7d  purge epochs %4d (%s)", s.lazyPages(), s.epochsRun(), s.phase());
    } catch (Exception e) {
      purge = "(purge status: no answer within 0.9 s)";
    }
    o.printf("%6.1fs  ops %8d  %7.0f ops/s  live %7d  %s%n", (now - t0) / 1e9, done, rate, w.liveCount.sum(), purge);
  }

  /** The per-node table, the totals and the accounting check; whether the space is accounted for. */
  private static boolean summary(PrintWriter o, VmapInfo info) {
    o.println();
    o.printf("%5s %8s %6s %6s %18s %8s %14s%n", "node", "busy", "lazy", "held", "free bytes", "blocks",
        "largest block");
    for (VmapInfo.NodeStats n : info.nodes()) {
      o.printf("%5d %8d %6d %6d %18s %8d %14s%n", n.node(), n.busy(), n.lazy(), n.heldParts(),
          Long.toUnsignedString(n.freeBytes()), n.freeBlocks(), Numbers.bytes(n.largestFreeBlock()));
    }
    long space = info.geometry().spaceBytes();
    o.printf("total: busy=%d (%s) lazy=%d (%s) free=%s reserved=%s space=%s%n",
        info.busy().size(), Long.toUnsignedString(info.busyBytes()),
        info.lazy().size(), Long.toUnsignedString(info.lazyBytes()),
        Long.toUnsignedString(info.freeBytes()), Long.toUnsignedString(info.reservedBytes()),
        Long.toUnsignedString(space));
    long sum = info.freeBytes() + info.busyBytes() + info.lazyBytes() + info.reservedBytes();
    boolean ok = info.accountsForSpace();
    o.printf("accounting: free + busy + lazy + reserved = %s %s space %s: %s%n",
        Long.toUnsignedString(sum), ok ? "==" : "!=", Long.toUnsignedString(space), ok ? "ok" : "MISMATCH");
    PurgeProtocol.Status p = info.purge();
    if (p != null) {
      o.printf("purge: %d epochs, %d areas released, %d lazy pages now (threshold %d)%n",
          p.epochsRun(), p.areasReleased(), p.lazyPages(), p.thresholdPages());
      for (PurgeProtocol.Holder h : p.holders()) {
        o.printf("purge: epoch %d waits for %s since %s%n", h.epoch(), h.subscriber(), h.flushSentAt());
      }
    }
    return ok;
  }

  private static void figures(PrintWriter o, DemoWorkload w, long elapsedNanos, long cpuNanos, VmapInfo info) {
    double secs = elapsedNanos / 1e9;
    long done = w.done.sum();
    o.printf("ops: %d in %.2f s = %.0f ops/s (allocs %d of which %d aligned, %d tagged; frees %d; finds %d, %d hits)%n",
        done, secs, done / secs, w.allocs.sum(), w.aligned.sum(), w.tagged.sum(), w.frees.sum(),
        w.finds.sum(), w.findHits.sum());
    // CPU time per operation: what the run cost this process, whatever else shares the machine
    // (throughput on a loaded machine says more about the neighbours than about the allocator).
    if (cpuNanos > 0 && done > 0) {
      o.printf("cpu: %.2f s of process CPU time = %.1f us per op (%.0f ops per CPU-second)%n",
          cpuNanos / 1e9, cpuNanos / 1e3 / done, done / (cpuNanos / 1e9));
    }
    latency(o, "alloc", w.allocNanos);
    latency(o, "free", w.freeNanos);
    latency(o, "find", w.findNanos);
    o.printf("errors: %d%n", w.errors.sum());
    for (String e : w.firstErrors) o.println("  " + e);
  }

  private static void latency(PrintWriter o, String what, Histogram h) {
    if (h.getTotalCount() == 0) return;
    o.printf("%-6s latency: p50 %s  p99 %s  max %s%n", what, micros(h.getValueAtPercentile(50)),
        micros(h.getValueAtPercentile(99)), micros(h.getMaxValue()));
  }

  private static String micros(long nanos) {
    return nanos >= 10_000_000 ? String.format("%.1f ms", nanos / 1e6) : String.format("%.0f us", nanos / 1e3);
  }

  /** This process's CPU time so far (all threads), or 0 where the JVM cannot tell. */
  static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean sun ? Math.max(0, sun.getProcessCpuTime()) : 0;
  }
}
