package io.vmap.torture;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Members of a vmap cluster as real {@code vmap node} processes on this machine: started, killed
 * with SIGKILL, stopped with SIGTERM and restarted on the same ports, with a log file per process.
 * The harness of the multi-process tests and of {@code vmap torture}.
 *
 * <p>Every member runs the same generated configuration ({@link #config()}): the caller's journal
 * part, the seed nodes, the role {@value #ROLE} (sharding and the singletons run only on members
 * with it, so an {@link Observer} that joins can never host them) and the {@link
 * IncarnationRecorder}. With proxies, each member's canonical Artery port is its {@link
 * ArteryProxies} proxy's and it binds another. A restarted member runs the same configuration too:
 * once the journal has history, no member forms a new cluster by itself (io.vmap.cluster.SeedJoin).
 * The multi-process tests drive it through their LaunchedMembers (HTTP calls, waits as assertions).
 */
public final class LocalCluster implements AutoCloseable {

  /** The role of every {@code vmap node} member. */
  public static final String ROLE = "vmap";

  /**
   * @param members how many {@code vmap node} processes
   * @param dir where the configuration, the logs, the data and the incarnation files go
   * @param journal HOCON for the journal and anything else every member shares (e.g. an include
   *     of {@code cluster-config/three-local.conf}), written first
   * @param settings more HOCON written after the generated part (geometry, timeouts)
   * @param proxies whether each member's Artery port sits behind a proxy (partitions)
   * @param jvmOptions options of each member's JVM
   */
  public record Options(int members, Path dir, String journal, String settings, boolean proxies, List<String> jvmOptions) {
    public static final List<String> DEFAULT_JVM = List.of("-Xmx384m", "-XX:+UseSerialGC",
        // C1 only: a member starts (and restarts) with far less compiling on a 2-CPU machine.
        "-XX:TieredStopAtLevel=1",
        // README "What the harness found" 7: below 2 the common pool starts a thread per continuation.
        "-Djava.util.concurrent.ForkJoinPool.common.parallelism=4");

    public Options {
      if (members < 1) throw new IllegalArgumentException("members " + members + " < 1");
      jvmOptions = List.copyOf(jvmOptions);
    }
  }

  /** One member: its ports, and its current process (null when not running). */
  private static final class Member {
    final int index;
    final int bindPort;
    final int canonicalPort;
    final int httpPort;
    Process process;
    int starts;

    Member(int index, int bindPort, int canonicalPort, int httpPort) {
      this.index = index;
      this.bindPort = bindPort;
      this.canonicalPort = canonicalPort;
      this.httpPort = httpPort;
    }
  }

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  private final Options options;
  private final List<Member> members = new ArrayList<>();
  private final ArteryProxies proxies;
  private final Path config;
  private final Path data;
  private final Path logs;
  private final Path incarnations;
  /** pid -> when it was seen dead (epoch ms), for every process that ended. */
  private final Map<Long, Long> deaths = new ConcurrentHashMap<>();
  /** pid -> its log file. */
  private final Map<Long, Path> logOf = new ConcurrentHashMap<>();
  private final int observerBind;
  private final int observerCanonical;

  public LocalCluster(Options options) throws IOException {
    this.options = options;
    Path dir = options.dir().toAbsolutePath();
    this.data = dir.resolve("data");
    this.logs = dir.resolve("logs");
    this.incarnations = dir.resolve("incarnations");
    Files.createDirectories(data);
    Files.createDirectories(logs);
    Files.createDirectories(incarnations);
    for (int i = 0; i < options.members(); i++) {
      int bind = freePort();
      members.add(new Member(i, bind, options.proxies() ? freePort() : bind, freePort()));
    }
    observerBind = freePort();
    observerCanonical = options.proxies() ? freePort() : observerBind;
    proxies = options.proxies() ? new ArteryProxies() : null;
    if (proxies != null) {
      for (Member m : members) proxies.add(m.index, m.canonicalPort, m.bindPort);
      proxies.add(ArteryProxies.OBSERVER, observerCanonical, observerBind);
    }
    this.config = dir.resolve("cluster.conf");
    Files.writeString(config, configText());
    // Interrupted (Ctrl-C, a failed test JVM): leave no member behind.
    Runtime.getRuntime().addShutdownHook(cleanup);
  }

  private final Thread cleanup = new Thread(this::killAll, "local-cluster-cleanup");

  private String configText() {
    StringBuilder seeds = new StringBuilder();
    for (Member m : members) {
      seeds.append(seeds.length() == 0 ? "" : ", ").append('"').append(address(m.index)).append('"');
    }
    return options.journal() + "\n"
        + "# generated by io.vmap.torture.LocalCluster\n"
        + "akka.cluster.seed-nodes = [" + seeds + "]\n"
        + "akka.cluster.roles = [" + ROLE + "]\n"
        + "akka.cluster.sharding.role = " + ROLE + "\n"
        + "akka.cluster.singleton.role = " + ROLE + "\n"
        + "akka.cluster.singleton-proxy.role = " + ROLE + "\n"
        + "akka.actor.typed.extensions += \"" + IncarnationRecorder.EXTENSION + "\"\n"
        + IncarnationRecorder.DIR + " = \"" + incarnations + "\"\n"
        + options.settings() + "\n";
  }

  /** The configuration file every member runs with. */
  public Path config() {
    return config;
  }

  public int size() {
    return members.size();
  }

  /** {@code akka://vmap@127.0.0.1:<canonical port>}: how the others reach member {@code i}. */
  public String address(int i) {
    return "akka://vmap@127.0.0.1:" + members.get(i).canonicalPort;
  }

  /** The member whose canonical port is {@code port}, or -1. */
  public int memberAt(int port) {
    for (Member m : members) if (m.canonicalPort == port) return m.index;
    return -1;
  }

  public int httpPort(int i) {
    return members.get(i).httpPort;
  }

  public URI uri(int i, String path) {
    return URI.create("http://127.0.0.1:" + httpPort(i) + path);
  }

  /** The proxies, or null when started without. */
  public ArteryProxies proxies() {
    return proxies;
  }

  /** Ports for an {@link Observer} of this cluster: {bind, canonical}. */
  int[] observerPorts() {
    return new int[] {observerBind, observerCanonical};
  }

  /** The H2 database's directory ({@code --data-dir} of every member). */
  public Path dataDir() {
    return data;
  }

  public Path incarnationsDir() {
    return incarnations;
  }

  /** When each process that ended was seen dead (epoch ms), by pid. */
  public Map<Long, Long> deaths() {
    return Map.copyOf(deaths);
  }

  // ------------------------------------------------------------------ processes

  /** Starts member {@code i} (not running) and returns at once; see {@link #awaitReady}. */
  public Process start(int i) throws IOException {
    return start(i, data, List.of());
  }

  /**
   * Starts member {@code i} (not running) with {@code --data-dir dataDir} and more {@code vmap node}
   * arguments (e.g. {@code --form-cluster}), and returns its process at once. Every start, a restart
   * too, runs the same configuration: a member whose journal holds the cluster's history joins the
   * running members and never forms a new cluster (io.vmap.cluster.SeedJoin).
   */
  public synchronized Process start(int i, Path dataDir, List<String> args) throws IOException {
    Member m = members.get(i);
    if (m.process != null && m.process.isAlive()) throw new IllegalStateException("member " + i + " runs already");
    ClassSharing.Launch sharing = ClassSharing.launch(options.jvmOptions(), classPath());
    List<String> jvm = new ArrayList<>(options.jvmOptions());
    jvm.addAll(sharing.jvmOptions());
    if (m.bindPort != m.canonicalPort) jvm.add("-Dakka.remote.artery.bind.port=" + m.bindPort);
    List<String> cmd = nodeCommand(jvm, sharing.classPath(), config, m.canonicalPort, m.httpPort, dataDir);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectErrorStream(true);
    Path log = logs.resolve("member-" + i + "-" + (m.starts++) + ".log");
    pb.redirectOutput(log.toFile());
    pb.environment().put("VMAP_LOG_LEVEL", "INFO");
    Process p = pb.start();
    long pid = p.pid();
    p.onExit().thenRun(() -> deaths.putIfAbsent(pid, System.currentTimeMillis()));
    m.process = p;
    logOf.put(pid, log);
    if (proxies != null) proxies.register(pid, i);
    return p;
  }

  /**
   * The command line of a {@code vmap node} process: {@code java} with {@code jvm}, then the member
   * on {@code config}, its Artery and HTTP ports and its data directory.
   */
  static List<String> nodeCommand(List<String> jvm, String classPath, Path config, int port, int httpPort, Path dataDir) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    // The vmap command's logging (INFO, VMAP_LOG_LEVEL below), also on a test class path, whose
    // logback-test.xml would keep a member's log to warnings.
    cmd.add("-Dlogback.configurationFile=logback.xml");
    cmd.addAll(List.of("-cp", classPath, "io.vmap.runner.VmapCommand", "node", "--config", config.toString(),
        "--port", Integer.toString(port), "--http-port", Integer.toString(httpPort),
        "--data-dir", dataDir.toAbsolutePath().toString()));
    return cmd;
  }

  /** Everything process {@code p} (one of this cluster's) has printed so far. */
  public String output(Process p) {
    Path log = logOf.get(p.pid());
    if (log == null) throw new IllegalArgumentException("process " + p.pid() + " is not a member's");
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(" + log + ": " + e + ")";
    }
  }

  /** Starts member 0 and waits until it is ready (it creates the journal), then the others. */
  public void startAll(Duration each) throws IOException {
    start(0);
    awaitReady(0, each);
    for (int i = 1; i < size(); i++) start(i);
    for (int i = 1; i < size(); i++) awaitReady(i, each);
  }

  /** Waits until member {@code i} answers {@code /health/ready} with 200. */
  public void awaitReady(int i, Duration max) {
    Process p = members.get(i).process;
    StringBuilder last = new StringBuilder("no answer");
    if (p != null && awaitReady(p, httpPort(i), max, last)) return;
    if (p == null || !p.isAlive()) {
      throw new IllegalStateException("member " + i + " exited while starting; " + logTail(i, 40));
    }
    throw new IllegalStateException("member " + i + " not ready after " + max + " (" + last + "); " + logTail(i, 40));
  }

  /**
   * Polls {@code http://127.0.0.1:<httpPort>/health/ready} until it answers 200 (true), or
   * {@code p} exits or {@code max} passes (false, with the last answer or error in {@code last}).
   */
  static boolean awaitReady(Process p, int httpPort, Duration max, StringBuilder last) {
    HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/health/ready"))
        .timeout(Duration.ofSeconds(5)).GET().build();
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline && p.isAlive()) {
      try {
        HttpResponse<String> r = HTTP.send(ready, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) return true;
        last.setLength(0);
        last.append(r.statusCode()).append(' ').append(r.body());
      } catch (IOException e) {
        last.setLength(0);
        last.append(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      pause(250);
    }
    return false;
  }

  /** SIGKILL: no leaving, no flushing. Returns once the process is gone. */
  public void kill(int i) {
    Process p = members.get(i).process;
    if (p == null) return;
    p.destroyForcibly();
    waitGone(p, Duration.ofSeconds(30));
  }

  /**
   * SIGTERM: the member runs coordinated shutdown (leaves the cluster, hands its shards off) and
   * exits. Returns once the process is gone; SIGKILL after {@code max}.
   *
   * @return whether it ended by itself within {@code max}
   */
  public boolean terminate(int i, Duration max) {
    Process p = members.get(i).process;
    if (p == null) return true;
    p.destroy();
    boolean clean = waitGone(p, max);
    if (!clean) kill(i);
    return clean;
  }

  /** Waits for member {@code i}'s process to end by itself (e.g. downed by the split brain resolver). */
  public boolean awaitExit(int i, Duration max) {
    Process p = members.get(i).process;
    return p == null || waitGone(p, max);
  }

  private boolean waitGone(Process p, Duration max) {
    try {
      boolean gone = p.waitFor(max.toMillis(), TimeUnit.MILLISECONDS);
      if (gone) deaths.putIfAbsent(p.pid(), System.currentTimeMillis());
      return gone;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  public boolean alive(int i) {
    Process p = members.get(i).process;
    return p != null && p.isAlive();
  }

  /** The pid of member {@code i}'s current process, or -1. */
  public long pid(int i) {
    Process p = members.get(i).process;
    return p == null ? -1 : p.pid();
  }

  /** The member whose running process has {@code pid}, or -1. */
  public int memberOfPid(long pid) {
    for (Member m : members) if (m.process != null && m.process.pid() == pid && m.process.isAlive()) return m.index;
    return -1;
  }

  /** Pids of the members' running processes. */
  public List<Long> pids() {
    List<Long> out = new ArrayList<>();
    for (Member m : members) if (m.process != null && m.process.isAlive()) out.add(m.process.pid());
    return out;
  }

  /**
   * The member serving the shared H2 database to the others (H2's automatic mixed mode: the
   * process named in the lock file, listening on its port), or -1 (no H2, or nobody serves now).
   */
  public int h2Server() {
    Path lock = data.resolve("vmap-journal.lock.db");
    if (!Files.isReadable(lock) || !SocketOwners.available()) return -1;
    try {
      for (String line : Files.readAllLines(lock)) {
        if (!line.startsWith("server=")) continue;
        String server = line.substring("server=".length()).replace("\\:", ":");
        int port = Integer.parseInt(server.substring(server.lastIndexOf(':') + 1));
        return SocketOwners.listening(port, pids()).stream().mapToInt(pid -> memberOfPid(pid)).findFirst().orElse(-1);
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** The last {@code lines} lines of member {@code i}'s latest log. */
  public String logTail(int i, int lines) {
    Member m = members.get(i);
    Path f = logs.resolve("member-" + i + "-" + Math.max(0, m.starts - 1) + ".log");
    try {
      List<String> all = Files.readAllLines(f);
      return "== " + f + "\n" + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "== " + f + ": " + e;
    }
  }

  /** The latest log tail of every member. */
  public String logTails(int lines) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < size(); i++) sb.append(logTail(i, lines)).append('\n');
    return sb.toString();
  }

  public Path logDir() {
    return logs;
  }

  /** Kills every member and closes the proxies. */
  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook runs anyway
    }
    killAll();
  }

  private void killAll() {
    for (Member m : members) {
      if (m.process != null && m.process.isAlive()) {
        m.process.destroyForcibly();
        waitGone(m.process, Duration.ofSeconds(30));
      }
    }
    if (proxies != null) proxies.close();
  }

  // ------------------------------------------------------------------ helpers

  /** This JVM's class path, which has the runner (in a Surefire/Failsafe fork, the test class path). */
  static String classPath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  static int freePort() throws IOException {
    return io.vmap.torture.FreePorts.next();
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
