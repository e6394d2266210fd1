package io.vmap.torture;

import static io.vmap.torture.Torture.CHECK;
import static io.vmap.torture.Torture.CLUSTER;
import static io.vmap.torture.Torture.LOST;
import static io.vmap.torture.Torture.SETTINGS;
import static io.vmap.torture.Torture.journal;
import static io.vmap.torture.Torture.secs;

import com.typesafe.config.ConfigFactory;
import io.vmap.chaos.Checker;
import io.vmap.chaos.History;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.http.api.Api;
import io.vmap.http.api.InfoJson;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.torture.Torture.Report;
import io.vmap.torture.Torture.Role;
import io.vmap.workload.LiveAreas;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One run of a {@link Torture} scenario: the cluster, the observer, the history and the load; the
 * rounds' faults ({@link #kill}, {@link #cut}, {@link #terminate}), each victim restarted and ready
 * before the next round; and the checks at the end ({@link #finish}).
 */
final class TortureRun implements AutoCloseable {
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
  final Torture.Settings s;
  final LocalCluster cluster;
  final Observer observer;
  final History history;
  final Geometry geometry;
  final HttpLoad load;
  final List<String> rounds = new ArrayList<>();
  final List<Checker.Violation> violations = new ArrayList<>();
  final long t0 = System.nanoTime();

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  TortureRun(String scenario, Torture.Settings s, boolean proxies) throws Exception {
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
    IncarnationLog incarnations =
        IncarnationLog.readWhenCurrent(cluster.incarnationsDir(), cluster.deaths(), cluster.pids(), Duration.ofSeconds(30));
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
