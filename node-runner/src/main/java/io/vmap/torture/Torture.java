package io.vmap.torture;

import io.vmap.chaos.Checker;
import io.vmap.chaos.History;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Map;
import java.util.List;
import java.util.Locale;

/**
 * The torture scenarios of a vmap cluster of real processes on one machine (three {@code vmap
 * node} members, an {@link Observer} in this JVM hosting the flush subscriber, {@link HttpLoad}
 * clients over HTTP), each run for a number of rounds and then checked:
 *
 * <ul>
 *   <li>{@link #killNine}: each round SIGKILLs one member (in turn the one serving the H2 database,
 *       the oldest, which hosts the purge coordinator and the shard coordinator, and another), waits
 *       until the others have downed it and serve every vmap node, restarts it;
 *   <li>{@link #partition}: each round cuts one member off from the others at its Artery proxy
 *       (HTTP stays up), waits until the split brain resolver has downed it (it exits) and the
 *       others serve every vmap node, heals and restarts it;
 *   <li>{@link #rollingRestart}: each round stops one member with SIGTERM (coordinated shutdown,
 *       shards handed off) and restarts it, the members in turn.
 * </ul>
 *
 * <p>The checks ({@link TortureRun#finish}): the history checker's rules (bounds, dedup, overlap, flush
 * against the subscriber's recorded acks, free, find); {@code owner} over the incarnations every
 * member recorded ({@link IncarnationLog}); every acknowledged, unfreed area is found with its exact
 * bounds ({@value #LOST}); the books ({@link Checker#fsck(VmapInfo)} and {@code vmap check --url},
 * once quiet); and, after every area is freed and purged, nothing leaked ({@link Checker#leaks}).
 */
public final class Torture {

  /** Rule name of an acknowledged, unfreed area that is not found with its exact bounds. */
  public static final String LOST = "lost";

  /** Rule name of {@code vmap check --url} failing. */
  public static final String CHECK = "check";

  /** Rule name of the cluster misbehaving as a cluster (a cut-off member that never downs itself). */
  public static final String CLUSTER = "cluster";

  public enum Journal { H2, POSTGRES }

  /**
   * @param repo the repository root (its {@code cluster-config/})
   * @param dir where the cluster's files go (configuration, logs, data, incarnations, history)
   * @param clients HTTP client threads
   * @param resubscribe whether the flush subscriber renews its subscription all the time (without,
   *     the purge coordinator's successor forgets it: README "Torture tests")
   * @param log progress lines
   */
  public record Settings(Journal journal, int rounds, long seed, Path repo, Path dir, int clients, boolean resubscribe,
      PrintWriter log) {
    public Settings {
      if (rounds < 1) throw new IllegalArgumentException("rounds " + rounds + " < 1");
      if (clients < 1) throw new IllegalArgumentException("clients " + clients + " < 1");
    }
  }

  /**
   * What a run did and found.
   *
   * @param rounds one line per round (and notes)
   * @param operations operations of the load proper, {@code kinds} of them by kind (a retry is
   *     part of its operation)
   * @param live acknowledged, unfreed areas checked for their exact bounds at the end
   * @param unknown operations whose outcome was still unknown after the drain
   */
  public record Report(String scenario, Settings settings, List<String> rounds, long operations,
      Map<History.Kind, Long> kinds, long allocated, long retries, Map<HttpLoad.Kind, Long> attempts, Checker.Summary summary, int historyRecords,
      int incarnations, int live, int unknown, String check, Duration elapsed,
      List<Checker.Violation> violations) {

    /** Violations by rule name. */
    public Map<String, Long> byRule() {
      Map<String, Long> m = new java.util.TreeMap<>();
      for (Checker.Violation v : violations) m.merge(v.rule(), 1L, Long::sum);
      return m;
    }

    public void print(PrintWriter out) {
      out.printf("vmap torture %s: %d rounds, journal %s, seed %d, %d clients, flush subscriber %s%n", scenario,
          settings.rounds(), settings.journal().name().toLowerCase(Locale.ROOT), settings.seed(), settings.clients(),
          settings.resubscribe() ? "renewing its subscription every 100 ms" : "subscribed once");
      for (String r : rounds) out.println(r);
      out.printf(Locale.ROOT, "ops: %d in %.1f s: %d allocations (%d answered an area), %d frees, %d finds, %d purges%n",
          operations, elapsed.toMillis() / 1000.0, kinds.get(History.Kind.ALLOC), allocated,
          kinds.get(History.Kind.FREE), kinds.get(History.Kind.FIND), kinds.get(History.Kind.PURGE));
      StringBuilder a = new StringBuilder("http attempts:");
      for (HttpLoad.Kind k : HttpLoad.Kind.values()) {
        a.append(' ').append(k.name().toLowerCase(Locale.ROOT)).append(' ').append(attempts.get(k));
      }
      out.println(a + "; retries with the same request id " + retries + "; still unknown after the drain " + unknown);
      Map<io.vmap.state.ErrorCode, Long> answers = new java.util.EnumMap<>(summary.errors());
      answers.remove(io.vmap.state.ErrorCode.ETIMEDOUT);
      out.printf("error answers: %s%n", answers);
      out.printf("history: %d records, %d flush acks; %d vmap node incarnations seen%n",
          historyRecords, summary.flushAcks(), incarnations);
      out.printf("end: %d acknowledged live areas looked up; vmap check --url: %s%n", live, check);
      out.println("checked: bounds, dedup, overlap, flush, free, find (history); owner (incarnations); "
          + "lost (exact bounds); fsck, vmap check --url (books); leak (end state)");
      for (Checker.Violation v : violations.subList(0, Math.min(violations.size(), 20))) out.println("  " + v);
      if (violations.size() > 20) out.println("  ... " + (violations.size() - 20) + " more");
      if (!violations.isEmpty()) out.println("by rule: " + byRule());
      out.println("files: " + settings.dir());
      out.println("violations: " + violations.size());
    }
  }

  private Torture() {}

  /** What one round does to one member. */
  public enum Fault {
    /** SIGKILL, wait until the others have downed it and serve every vmap node, restart. */
    KILL,
    /** Cut it off at its Artery proxy until the resolver downs it (it exits), heal, restart. */
    CUT,
    /** SIGTERM (coordinated shutdown, shards handed off), restart. */
    TERM
  }

  /**
   * Rounds of SIGKILL of one member under load, each victim restarted before the next round: in turn
   * the member serving the H2 database (the oldest on PostgreSQL), the oldest, another.
   */
  public static Report killNine(Settings s) throws Exception {
    return run("kill", s, false, cycle(s.rounds(), Fault.KILL, Role.H2_SERVER, Role.OLDEST, Role.OTHER));
  }

  /**
   * Rounds of cutting one member off at its Artery proxy; after the resolver downs it, heal and
   * restart. In turn the oldest, another, the H2 server.
   */
  public static Report partition(Settings s) throws Exception {
    return run("partition", s, true, cycle(s.rounds(), Fault.CUT, Role.OLDEST, Role.OTHER, Role.H2_SERVER));
  }

  /** Rounds of SIGTERM (coordinated shutdown) and restart of each member in turn. */
  public static Report rollingRestart(Settings s) throws Exception {
    return run("rolling", s, false, cycle(s.rounds(), Fault.TERM, (Role) null));
  }

  /**
   * The three in one cluster, for CI: rounds cycle through kill -9 of the H2 server, kill -9 of the
   * oldest, a cut of the oldest and SIGTERM of another member.
   */
  public static Report mixed(Settings s) throws Exception {
    // Three rounds cover the three faults: the first victim is both the H2 server and the oldest.
    // A kill of an oldest that does not serve the journal comes fourth (and is PostgreSQL's round).
    List<Step> cycle = List.of(new Step(Fault.KILL, Role.H2_SERVER), new Step(Fault.CUT, Role.OLDEST),
        new Step(Fault.TERM, Role.OTHER), new Step(Fault.KILL, Role.OLDEST));
    List<Step> plan = new ArrayList<>();
    for (int r = 0; r < s.rounds(); r++) plan.add(cycle.get(r % cycle.size()));
    return run("mixed", s, true, plan);
  }

  private static List<Step> cycle(int rounds, Fault f, Role... roles) {
    List<Step> plan = new ArrayList<>();
    for (int r = 0; r < rounds; r++) plan.add(new Step(f, roles[r % roles.length]));
    return plan;
  }

  /** Whose turn it is: what the victim hosts when the round starts. */
  enum Role { H2_SERVER, OLDEST, OTHER }

  /** One round of a plan: the fault and whom it hits. */
  private record Step(Fault fault, Role role) {}

  private static Report run(String scenario, Settings s, boolean proxies, List<Step> plan) throws Exception {
    if (proxies && !SocketOwners.available()) {
      throw new IllegalStateException("partitions need Linux's /proc/net/tcp to tell who connects");
    }
    try (TortureRun run = new TortureRun(scenario, s, proxies)) {
      for (int r = 0; r < plan.size(); r++) {
        Step step = plan.get(r);
        // A rolling restart goes through the members in order; the other rounds pick by role.
        int victim = step.role() == null ? r % run.cluster.size() : run.member(step.role());
        switch (step.fault()) {
          case KILL -> run.kill(r, victim);
          case CUT -> run.cut(r, victim);
          case TERM -> run.terminate(r, victim);
        }
      }
      return run.finish();
    }
  }

  // =================================================================== configuration

  /**
   * A small space reused all the time (8 nodes x 16 zones of 64 KiB: areas of a few zones span
   * nodes), frequent purges, a resolver that acts 3 s after a member becomes unreachable.
   */
  static final String SETTINGS = String.join("\n",
      "akka.cluster.split-brain-resolver.stable-after = 3s",
      "vmap.space { start = \"0x100000000\", end = \"0x100800000\", page = 4096, zone = 64 KiB, nodes = 8 }",
      "vmap.purge.lazy-max-pages = 64",
      "vmap.purge.release-batch = 16",
      "vmap.client.ask-timeout = 4s");

  static String journal(Settings s) {
    Path conf = s.repo().resolve("cluster-config");
    return switch (s.journal()) {
      case H2 -> "include file(\"" + conf.resolve("three-local.conf") + "\")\n";
      case POSTGRES -> "include file(\"" + conf.resolve("cluster-common.conf") + "\")\n"
          + "include file(\"" + conf.resolve("journal-postgres.conf") + "\")\n"
          + "vmap.persistence-id-prefix = \"torture-" + s.seed() + "-" + System.nanoTime() + "-\"\n";
    };
  }

  static String secs(long sinceNanos) {
    return String.format(Locale.ROOT, "%.1f", (System.nanoTime() - sinceNanos) / 1e9);
  }
}
