package io.vmap.torture;

import io.vmap.chaos.Checker;
import io.vmap.chaos.History;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.http.api.Api;
import io.vmap.http.api.InfoJson;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.workload.LiveAreas;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Map;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

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
 * <p>The checks ({@link Run#finish}): the history checker's rules (bounds, dedup, overlap, flush
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
    List<Step> cycle = List.of(new Step(Fault.KILL, Role.H2_SERVER), new Step(Fault.KILL, Role.OLDEST),
        new Step(Fault.CUT, Role.OLDEST), new Step(Fault.TERM, Role.OTHER));
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
    try (Run run = new Run(scenario, s, proxies)) {
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

  // =================================================================== one run

  /** The cluster, the observer, the history and the load of one scenario. */
  private static final class Run implements AutoCloseable {
    // Waits, not timing assertions: generous, as a 2-CPU machine shared with other builds (load 40)
    // can take minutes to start three JVMs. Only a member still not there after them is reported.
    private static final Duration START = Duration.ofMinutes(10);
    private static final Duration RECOVER = Duration.ofMinutes(5);
    /** How long a cut-off member may take to down itself, or a SIGTERMed one to stop. */
    private static final Duration STOP = Duration.ofMinutes(5);
    /** How long the end may take: retries drained, purges idle, everything freed. */
    private static final Duration SETTLE = Duration.ofMinutes(5);
    private static final long PROGRESS = 100;

    final String scenario;
    final Settings s;
    final LocalCluster cluster;
    final Observer observer;
    final History history;
    final Geometry geometry;
    final HttpLoad load;
    final List<String> rounds = new ArrayList<>();
    final List<Checker.Violation> violations = new ArrayList<>();
    final long t0 = System.nanoTime();

    Run(String scenario, Settings s, boolean proxies) throws Exception {
      this.scenario = scenario;
      this.s = s;
      Files.createDirectories(s.dir());
      LocalCluster c = new LocalCluster(new LocalCluster.Options(3, s.dir(), journal(s), SETTINGS, proxies,
          LocalCluster.Options.DEFAULT_JVM));
      Observer o = null;
      try {
        s.log().printf("torture %s: cluster files in %s%n", scenario, s.dir());
        c.startAll(START);
        o = Observer.join(c, START);
        VmapSettings settings = VmapSettings.from(ConfigFactory.load(ConfigFactory.parseFile(c.config().toFile())));
        geometry = settings.geometry();
        history = new History(geometry);
        o.subscribe("subscriber", history, START, s.resubscribe());
        load = new HttpLoad(c, history, s.seed(), s.clients(), Duration.ofSeconds(20), Duration.ofSeconds(60));
        load.start();
        if (!load.awaitProgress(PROGRESS, START)) throw new IllegalStateException("no progress: " + c.logTails(20));
      } catch (Exception | Error e) {
        if (o != null) o.close();
        c.close();
        throw e;
      }
      this.cluster = c;
      this.observer = o;
      s.log().printf("torture %s: 3 members up, observer subscribed, load running%n", scenario);
    }

    void kill(int r, int victim) throws IOException {
      String who = describe(victim);
      long t0 = System.nanoTime();
      cluster.kill(victim);
      String after = awaitRecovered(victim, t0);
      restart(victim);
      round(r, "kill -9 member " + victim + " (" + who + "): " + after + ", restarted and ready after " + secs(t0) + " s");
    }

    void cut(int r, int victim) throws IOException {
      String who = describe(victim);
      long okBefore = load.attempts(victim, HttpLoad.Kind.OK);
      long errBefore = errorsAt(victim);
      long t0 = System.nanoTime();
      cluster.proxies().isolate(victim);
      boolean exited = cluster.awaitExit(victim, STOP);
      String exit = exited ? "downed itself and exited after " + secs(t0) + " s" : "still running after " + STOP.toSeconds() + " s";
      if (!exited) {
        violation(CLUSTER, "member " + victim + " cut off in round " + (r + 1) + " never downed itself");
        cluster.kill(victim);
      }
      String after = awaitRecovered(victim, t0);
      long ok = load.attempts(victim, HttpLoad.Kind.OK) - okBefore;
      long err = errorsAt(victim) - errBefore;
      cluster.proxies().heal();
      restart(victim);
      round(r, "cut off member " + victim + " (" + who + "): " + exit + "; " + after + "; its HTTP clients got " + ok
          + " answers and " + err + " errors meanwhile; healed, restarted and ready after " + secs(t0) + " s");
    }

    void terminate(int r, int victim) throws IOException {
      String who = describe(victim);
      long t0 = System.nanoTime();
      boolean clean = cluster.terminate(victim, STOP);
      if (!clean) violation(CLUSTER, "member " + victim + " did not stop within " + STOP.toSeconds() + " s of SIGTERM");
      String stopped = "stopped after " + secs(t0) + " s";
      observer.awaitGone(victim, RECOVER);
      restart(victim);
      round(r, "SIGTERM member " + victim + " (" + who + "): " + stopped + ", restarted and ready after " + secs(t0)
          + " s");
    }

    /** The member now in {@code role}: for the H2 server, the oldest if none serves H2 (PostgreSQL). */
    int member(Role role) {
      int oldest = observer.oldest();
      int h2 = cluster.h2Server();
      return switch (role) {
        case H2_SERVER -> h2 >= 0 ? h2 : Math.max(oldest, 0);
        case OLDEST -> Math.max(oldest, 0);
        case OTHER -> {
          for (int i = cluster.size() - 1; i >= 0; i--) if (i != oldest && i != h2) yield i;
          yield cluster.size() - 1;
        }
      };
    }

    /** What member {@code i} hosts now, for the round's line. */
    String describe(int i) {
      List<String> roles = new ArrayList<>();
      roles.add("pid " + cluster.pid(i));
      if (cluster.h2Server() == i) roles.add("serves the H2 database");
      if (observer.oldest() == i) roles.add("oldest: purge coordinator and shard coordinator");
      return String.join(", ", roles);
    }

    /**
     * After member {@code victim} died or was cut off: the others drop it, then serve every vmap
     * node (an info answers only when every node does), then the load goes on.
     */
    String awaitRecovered(int victim, long since) {
      observer.awaitGone(victim, RECOVER);
      String gone = "out of the cluster after " + secs(since) + " s";
      awaitAllNodesServe(victim, RECOVER);
      String serving = "every vmap node served by the others after " + secs(since) + " s";
      if (!load.awaitProgress(PROGRESS, RECOVER)) {
        throw new IllegalStateException("no progress after member " + victim + " went: " + cluster.logTails(30));
      }
      return gone + ", " + serving;
    }

    void restart(int i) throws IOException {
      cluster.start(i);
      cluster.awaitReady(i, START);
      observer.awaitUp(i, RECOVER);
      if (!load.awaitProgress(PROGRESS, RECOVER)) {
        throw new IllegalStateException("no progress after member " + i + " came back: " + cluster.logTails(30));
      }
    }

    void round(int r, String line) {
      String l = String.format("round %2d: %s", r + 1, line);
      rounds.add(l);
      s.log().println(l);
    }

    void note(String line) {
      rounds.add("note: " + line);
      s.log().println("note: " + line);
    }

    void violation(String rule, String detail) {
      violations.add(new Checker.Violation(rule, detail));
    }

    long errorsAt(int m) {
      return load.attempts(m, HttpLoad.Kind.UNAVAILABLE) + load.attempts(m, HttpLoad.Kind.TIMEOUT)
          + load.attempts(m, HttpLoad.Kind.INTERNAL);
    }

    /** Waits until an info through a member other than {@code except} succeeds: every node answers. */
    void awaitAllNodesServe(int except, Duration max) {
      long deadline = System.nanoTime() + max.toNanos();
      String last = "";
      while (System.nanoTime() < deadline) {
        for (int m = 0; m < cluster.size(); m++) {
          if (m == except || !cluster.alive(m)) continue;
          try {
            info(m);
            return;
          } catch (Exception e) {
            last = e.toString();
          }
        }
        LocalCluster.pause(200);
      }
      throw new IllegalStateException("the vmap nodes were not all served within " + max + ": " + last + "\n"
          + cluster.logTails(30));
    }

    VmapInfo info(int m) throws IOException, InterruptedException {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(cluster.uri(m, "/v1/info?format=json"))
          .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) throw new IOException("info at member " + m + ": " + r.statusCode() + " " + r.body());
      return Api.read(r.body(), InfoJson.class).toVmapInfo();
    }

    /** A live member (the first). */
    int anyLive() {
      for (int m = 0; m < cluster.size(); m++) if (cluster.alive(m)) return m;
      throw new IllegalStateException("no member runs");
    }

    /** Purges until the allocator is quiet (purge idle, nothing reserved; with {@code empty}, nothing lazy). */
    VmapInfo settle(boolean empty, Duration max) throws Exception {
      long deadline = System.nanoTime() + max.toNanos();
      long busySince = 0;
      VmapInfo info = null;
      while (System.nanoTime() < deadline) {
        int m = anyLive();
        load.purgeAt(m);
        try {
          info = info(m);
        } catch (IOException e) {
          LocalCluster.pause(200);
          continue;
        }
        if (Checker.quiet(info) && (!empty || info.lazy().isEmpty())) {
          if (!empty || info.busy().isEmpty()) return info;
          // Areas placed for requests whose home did not keep them are freed a lease after the
          // placement (README "What the harness found" 5): give them a few leases.
          if (busySince == 0) busySince = System.nanoTime();
          if (System.nanoTime() - busySince > TimeUnit.SECONDS.toNanos(10)) return info;
        }
        LocalCluster.pause(200);
      }
      if (info == null) throw new IllegalStateException("no info within " + max);
      return info;
    }

    /** Stops the load and runs every check. */
    Report finish() throws Exception {
      load.stop();
      int unknown = load.drain(SETTLE);
      // A member may have been downed by its peers on its own (a long pause): bring it back.
      for (int i = 0; i < cluster.size(); i++) {
        if (!cluster.alive(i)) {
          note("member " + i + " had exited on its own (downed by the others?); restarted for the checks");
          cluster.start(i);
          cluster.awaitReady(i, START);
          observer.awaitUp(i, RECOVER);
        }
      }
      awaitAllNodesServe(-1, RECOVER);

      // Every acknowledged, unfreed area, with its exact bounds, through every member in turn.
      List<LiveAreas.Held> live = load.live();
      int at = 0;
      for (LiveAreas.Held h : live) {
        HttpLoad.Found f = null;
        for (int attempt = 0; attempt < 10 && (f == null || !f.answered()); attempt++) {
          f = load.findAt(at++ % cluster.size(), h.area().start());
        }
        Area got = f.area();
        if (!f.answered()) {
          violation(LOST, "acknowledged " + h.area() + ": no member answered a lookup of its start");
        } else if (got == null || got.start() != h.area().start() || got.end() != h.area().end()) {
          violation(LOST, "acknowledged " + h.area() + " (request " + h.requestId() + ") found as "
              + (got == null ? "nothing" : got.toString()));
        }
      }

      // The books, once quiet: no overlap, every node's share adds up; and vmap check --url agrees.
      VmapInfo quiet = settle(false, SETTLE);
      if (!Checker.quiet(quiet)) {
        violation(CHECK, "never quiet (purge idle, nothing reserved) within " + SETTLE.toSeconds() + " s");
      }
      violations.addAll(Checker.fsck(quiet));
      String check = vmapCheck(anyLive());

      // Free everything, purge: nothing may be left.
      int stillUnknown = load.freeAll(SETTLE);
      VmapInfo end = settle(true, SETTLE);
      violations.addAll(Checker.leaks(history, end));

      violations.addAll(Checker.check(history));
      IncarnationLog incarnations = IncarnationLog.read(cluster.incarnationsDir(), cluster.deaths());
      violations.addAll(incarnations.check(geometry));

      try (PrintStream h = new PrintStream(Files.newOutputStream(s.dir().resolve("history.txt")), false,
          StandardCharsets.UTF_8)) {
        history.print(h);
      }
      Map<HttpLoad.Kind, Long> attempts = new EnumMap<>(HttpLoad.Kind.class);
      for (HttpLoad.Kind k : HttpLoad.Kind.values()) attempts.put(k, load.attempts(k));
      Map<History.Kind, Long> kinds = new EnumMap<>(History.Kind.class);
      for (History.Kind k : History.Kind.values()) kinds.put(k, load.operations(k));
      return new Report(scenario, s, List.copyOf(rounds), load.completed(), kinds, load.allocated(), load.retries(),
          attempts,
          Checker.summarize(history), history.size(), incarnations.count(), live.size(),
          stillUnknown, check,
          Duration.ofNanos(System.nanoTime() - t0), List.copyOf(violations));
    }

    /** {@code vmap check --url} against member {@code m}, in its own JVM; its last line. */
    String vmapCheck(int m) throws Exception {
      List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", LocalCluster.classPath(), "io.vmap.runner.VmapCommand", "check",
          "--url", "http://127.0.0.1:" + cluster.httpPort(m), "--wait", "60000");
      Path out = s.dir().resolve("vmap-check.txt");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        violation(CHECK, "vmap check --url did not finish in 180 s");
        return "did not finish";
      }
      List<String> lines = Files.readAllLines(out);
      String last = lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1);
      if (p.exitValue() != 0 || !last.equals("violations: 0")) {
        violation(CHECK, "vmap check --url exited " + p.exitValue() + ": " + String.join("\n", lines));
      }
      for (String l : lines) {
        if (l.startsWith("note: never quiet")) violation(CHECK, "vmap check --url: " + l);
      }
      return last + " (exit " + p.exitValue() + ")";
    }

    @Override
    public void close() {
      load.stop();
      observer.close();
      cluster.close();
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

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  static String secs(long sinceNanos) {
    return String.format(Locale.ROOT, "%.1f", (System.nanoTime() - sinceNanos) / 1e9);
  }
}
