package io.vmap.runner;

import io.vmap.cli.CliCommand;
import io.vmap.cli.Repository;
import io.vmap.cli.UsageException;
import io.vmap.torture.Torture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vmap torture}: three {@code vmap node} processes on this machine under a recorded HTTP
 * load, through rounds of kill -9, partitions or a rolling restart, then every check. The last
 * line is {@code violations: N}; exit status 0 only when N is 0.
 */
@Command(
    name = "torture",
    header = "Kills, partitions or restarts members of a local 3-member cluster under load, then checks.",
    description = {
      "Starts three 'vmap node' members (one shared H2 journal, or PostgreSQL) and a",
      "cluster member in this JVM that hosts a recording flush subscriber; clients",
      "allocate, free, look up and purge over HTTP (retrying with their request ids).",
      "SCENARIO is one of:",
      "  kill       each round SIGKILLs a member (in turn the one serving the H2 database,",
      "             the oldest, which hosts the purge and shard coordinators, and another)",
      "             and restarts it once the others serve every vmap node;",
      "  partition  each round cuts a member off at its Artery proxy until the split brain",
      "             resolver downs it, then heals and restarts it (Linux: uses /proc);",
      "  rolling    each round stops a member with SIGTERM and restarts it, in turn;",
      "  mixed      the three in one cluster (what CI runs): kill -9 of the H2 server, of",
      "             the oldest, a cut of the oldest, SIGTERM of another, and again.",
      "Then the history (overlap, flush, dedup, bounds, find, free), the node incarnations",
      "(one owner at a time), every acknowledged area's exact bounds, 'vmap check --url' and",
      "a leak check after freeing everything. Prints a line per round, the counts and, last,",
      "'violations: N'. Exit status 0 only when N is 0; 2 for bad options."
    })
final class TortureCommand extends CliCommand {

  @Parameters(index = "0", paramLabel = "SCENARIO", description = "kill, partition, rolling or mixed.")
  String scenario;

  @Option(names = "--rounds", paramLabel = "N", description = "Rounds (default ${DEFAULT-VALUE}).", defaultValue = "10")
  int rounds;

  @Option(names = "--journal", paramLabel = "J",
      description = "h2 (one database file the members share) or postgres (VMAP_PG_*; scripts/postgres.sh start). "
          + "Default ${DEFAULT-VALUE}.", defaultValue = "h2")
  String journal;

  @Option(names = "--seed", paramLabel = "S", description = "Seed of the clients' operations (default: from the clock).")
  Long seed;

  @Option(names = "--clients", paramLabel = "C", description = "HTTP client threads (default ${DEFAULT-VALUE}).",
      defaultValue = "8")
  int clients;

  @Option(names = "--no-resubscribe", negatable = false,
      description = "Do not subscribe the flush subscriber again when the purge coordinator moves "
          + "(shows that its successor forgets it: flush violations).")
  boolean noResubscribe;

  @Option(names = "--dir", paramLabel = "D",
      description = "Where the configuration, logs, data, incarnations and history go (default: a new directory under /tmp).")
  Path dir;

  @Override
  protected int run() throws Exception {
    ChaosRunner.tuneCommonPool();
    if (rounds < 1) throw new UsageException("rounds " + rounds + " < 1");
    if (clients < 1) throw new UsageException("clients " + clients + " < 1");
    Torture.Journal j = switch (journal.toLowerCase(Locale.ROOT)) {
      case "h2" -> Torture.Journal.H2;
      case "postgres", "postgresql" -> Torture.Journal.POSTGRES;
      default -> throw new UsageException("journal '" + journal + "': must be h2 or postgres");
    };
    if (!List.of("kill", "partition", "rolling", "mixed").contains(scenario)) {
      throw new UsageException("scenario '" + scenario + "': must be kill, partition, rolling or mixed");
    }
    long s = seed != null ? seed : System.currentTimeMillis();
    Path repo = Repository.root();
    Path d = dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir"),
        "vmap-torture-" + scenario + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Files.createDirectories(d);
    Torture.Settings settings = new Torture.Settings(j, rounds, s, repo, d, clients, !noResubscribe, err());
    Torture.Report report = switch (scenario) {
      case "kill" -> Torture.killNine(settings);
      case "partition" -> Torture.partition(settings);
      case "rolling" -> Torture.rollingRestart(settings);
      case "mixed" -> Torture.mixed(settings);
      default -> throw new IllegalStateException(scenario);
    };
    report.print(out());
    return report.violations().isEmpty() ? 0 : 1;
  }

}
