package io.vmap.runner;

import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;
import io.vmap.cli.Cli;
import java.io.PrintWriter;

import io.vmap.protocol.PurgeProtocol;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import io.vmap.chaos.Chaos;
import io.vmap.chaos.ChaosSettings;
import io.vmap.chaos.ChaosWorkload;
import io.vmap.chaos.Checker;
import io.vmap.chaos.History;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmap chaos}: the embedded allocator under the chaos interceptor, a mixed recorded
 * workload, then the offline checker. The last line is {@code violations: N}; exit status 0 only
 * when N is 0.
 */
@Command(
    name = "chaos",
    header = "Runs a mixed workload under message faults, then checks the history and the end state.",
    description = {
      "Starts the embedded allocator (a small space that is reused all the time, short",
      "timeouts) with its nodes and purge coordinator behind the chaos interceptor, which",
      "drops, duplicates, delays and reorders their protocol messages. Concurrent clients",
      "allocate, free and look up areas (retrying with the same request id after a timeout),",
      "two flush subscribers record their acks. Then faults stop, timed-out operations are",
      "retried, every area is freed and purged, and the checker verifies the history (no",
      "overlap, bounds, reuse only after a complete flush, one owner per node, ...), that no",
      "space leaked, and every node's books. Prints the counts and, last, 'violations: N'.",
      "Exit status 0 only when N is 0; 2 for bad options."
    })
final class ChaosCommand extends CliCommand {

  @Option(names = "--ops", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "Operations (default ${DEFAULT-VALUE}).", defaultValue = "20000")
  long ops;

  @Option(names = "--seed", paramLabel = "S", description = "Seed of the faults and the workload (default: from the clock).")
  Long seed;

  @Option(names = "--drop", paramLabel = "P", description = "Probability of dropping a message (default ${DEFAULT-VALUE}).",
      defaultValue = "0.02")
  double drop;

  @Option(names = "--dup", paramLabel = "P", description = "Probability of duplicating a message (default ${DEFAULT-VALUE}).",
      defaultValue = "0.02")
  double dup;

  @Option(names = "--delay", paramLabel = "P", description = "Probability of delaying a message (default ${DEFAULT-VALUE}).",
      defaultValue = "0.05")
  double delay;

  @Option(names = "--max-delay", paramLabel = "MS", converter = Numbers.UnsignedConverter.class,
      description = "Bound of a delay and of a reorder hold, ms (default ${DEFAULT-VALUE}).", defaultValue = "20")
  long maxDelayMs;

  @Option(names = "--reorder", paramLabel = "P", description = "Probability of reordering a message (default ${DEFAULT-VALUE}).",
      defaultValue = "0.02")
  double reorder;

  @Option(names = "--nodes", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "vmap nodes (default ${DEFAULT-VALUE}); the space is 32 zones of 64 KiB per node.", defaultValue = "4")
  long nodes;

  @Option(names = "--clients", paramLabel = "C", converter = Numbers.UnsignedConverter.class,
      description = "Concurrent clients (default ${DEFAULT-VALUE}).", defaultValue = "64")
  long clients;

  @Option(names = "--config", paramLabel = "FILE",
      description = "HOCON file over the chaos defaults (vmap.* timeouts, space, ...; vmap.chaos.per-message).")
  Path config;

  @Option(names = "--history", paramLabel = "FILE", description = "Also write the recorded history to FILE, one line per record.")
  Path historyFile;

  @Override
  protected int run() throws Exception {
    ChaosRunner.tuneCommonPool();
    if (ops == 0 || ops < 0) throw new UsageException("ops " + Long.toUnsignedString(ops) + " is not in 1.." + Long.MAX_VALUE);
    int n = Numbers.intIn("nodes", nodes, 1, 64);
    int c = Numbers.intIn("clients", clients, 1, 4096);
    for (Object[] p : new Object[][] {{"drop", drop}, {"dup", dup}, {"delay", delay}, {"reorder", reorder}}) {
      double v = (Double) p[1];
      if (!(v >= 0 && v <= 1)) throw new UsageException(p[0] + " " + v + " is not a probability in 0..1");
    }
    long theSeed = seed != null ? seed : System.nanoTime();
    Config cfg = load(n);
    VmapSettings settings;
    ChaosSettings fromConfig;
    try {
      settings = VmapSettings.from(cfg);
      fromConfig = ChaosSettings.fromConfig(cfg); // per-message, messages, exclude, actors
    } catch (ConfigException | IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    ChaosSettings cs = fromConfig.seed(theSeed)
        .faults(new ChaosSettings.Faults(drop, dup, delay, reorder))
        .maxDelay(Duration.ofMillis(maxDelayMs));
    Geometry g = settings.geometry();
    PrintWriter o = out();
    o.printf("vmap chaos: seed %d%n", theSeed);
    o.printf("allocator: %d nodes, space %s:%s (%s), zone %s, page %d, purge over %d lazy pages%n", g.nodes(),
        Unsigned.hex(g.vstart()), Unsigned.hex(g.vend()), Numbers.bytes(g.spaceBytes()), Numbers.bytes(g.zone()), g.page(),
        settings.lazyMaxPages());
    o.printf("timeouts: node %d ms, client %d ms (then retries: %d), lease %d ms%n", settings.node().askTimeout().toMillis(),
        settings.clientTimeout().toMillis(), cfg.getInt("vmap.client.retries"), settings.node().lease().toMillis());
    o.printf("faults: drop %s, duplicate %s, delay %s, reorder %s, max delay %d ms, on %s%s%n", drop, dup, delay, reorder,
        maxDelayMs, cs.messages(), cs.perMessage().isEmpty() ? "" : " (per message: " + cs.perMessage() + ")");
    o.flush();

    History history = new History(g);
    Chaos chaos = Chaos.create(cs);
    ChaosWorkload.Result r;
    try (Vmap vmap = Vmap.start(cfg, chaos.wrapping(history, settings.isDurable()))) {
      r = ChaosWorkload.run(vmap, chaos, history, ChaosWorkload.Options.defaults(ops, theSeed).withClients(c));
    }
    if (historyFile != null) {
      try (PrintStream h = new PrintStream(Files.newOutputStream(historyFile), false, "UTF-8")) {
        history.print(h);
      }
    }
    report(o, r, c);
    return r.violations().isEmpty() ? 0 : Cli.FAILED;
  }

  private Config load(int n) {
    Config base = ChaosWorkload.config(n);
    if (config == null) return ConfigFactory.load(base);
    if (!Files.isRegularFile(config)) throw new UsageException("cannot read config file '" + config + "'");
    try {
      Config file = ConfigFactory.parseFile(config.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
      return ConfigFactory.load(file.withFallback(base));
    } catch (ConfigException e) {
      throw new UsageException(e.getMessage());
    }
  }

  private static void report(PrintWriter o, ChaosWorkload.Result r, int clients) {
    Checker.Summary s = r.summary();
    o.printf("ops: %d in %.1f s from %d clients; recorded, with the drain's retries and frees:%n", r.ops(),
        r.elapsed().toNanos() / 1e9, clients);
    for (History.Kind k : History.Kind.values()) {
      o.printf("  %-6s %6d: %6d ok, %5d failed, %4d timed out%n", k.name().toLowerCase(), s.invoked().getOrDefault(k, 0L),
          s.ok().getOrDefault(k, 0L), s.failed().getOrDefault(k, 0L), s.timedOut().getOrDefault(k, 0L));
    }
    o.printf("errors: %s%n", s.errors());
    o.printf("retries: %d (after a timeout, same request id); timed-out allocations found later: %d; unresolved: %d%n",
        r.retries(), s.foundLater(), s.unresolvedTimeouts());
    o.printf("faults injected: %s%n", r.faults());
    r.faults().byClass().entrySet().stream()
        .sorted((a, b) -> Long.compare(sum(b.getValue()), sum(a.getValue())))
        .limit(8)
        .forEach(e -> o.printf("  %-34s dropped %5d  duplicated %5d  delayed %5d  reordered %5d%n", e.getKey(),
            e.getValue()[0], e.getValue()[1], e.getValue()[2], e.getValue()[3]));
    PurgeProtocol.Status p = r.purge();
    if (p != null) {
      o.printf("purge: %d epochs, %d areas released, %d flush acks recorded%n", p.epochsRun(), p.areasReleased(),
          s.flushAcks());
    }
    o.printf("node incarnations: %d%n", r.incarnations());
    List<Checker.Violation> v = r.violations();
    Map<String, Long> byRule = new java.util.TreeMap<>();
    for (Checker.Violation x : v) byRule.merge(x.rule(), 1L, Long::sum);
    o.printf("checked: bounds, dedup, overlap, flush, free, find, owner (history); leak (end state); fsck (books)%s%n",
        byRule.isEmpty() ? "" : " -> " + byRule);
    v.stream().limit(20).forEach(x -> o.println("  " + x));
    if (v.size() > 20) o.printf("  ... and %d more%n", v.size() - 20);
    o.printf("violations: %d%n", v.size());
    o.flush();
  }

  private static long sum(long[] a) {
    long s = 0;
    for (long x : a) s += x;
    return s;
  }
}
