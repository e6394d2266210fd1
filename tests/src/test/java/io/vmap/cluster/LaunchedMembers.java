package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.concurrent.TimeUnit;

/**
 * Real {@code vmap node} processes on loopback for the journal-safety tests: a cluster
 * configuration over {@code cluster-config/three-local.conf} with free ports, members started with
 * any {@code --data-dir}, their readiness, exit status and logs, and the HTTP calls the tests make.
 * Close it to kill what is still running.
 */
final class LaunchedMembers implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  final Path dir;
  final int[] ports;
  final int[] http;
  final Path conf;
  private final ActorTestKit kit;
  private final List<Process> processes = new ArrayList<>();
  private int started;

  /** {@code members} seed members (every one a seed, the first forms the cluster) on loopback. */
  LaunchedMembers(Path dir, int members, ActorTestKit kit) throws IOException {
    this.dir = dir;
    this.kit = kit;
    ports = new int[members];
    http = new int[members];
    for (int i = 0; i < members; i++) {
      ports[i] = freePort();
      http[i] = freePort();
    }
    StringBuilder seeds = new StringBuilder();
    for (int p : ports) seeds.append(seeds.length() == 0 ? "" : ", ").append("\"akka://vmap@127.0.0.1:").append(p).append('"');
    conf = dir.resolve("cluster.conf");
    Files.writeString(conf, "include file(\"" + repo().resolve("cluster-config/three-local.conf") + "\")\n"
        + "akka.cluster.seed-nodes = [" + seeds + "]\n"
        + "akka.cluster.split-brain-resolver.stable-after = 3s\n"
        + "vmap.space { start = \"0x100000000\", end = \"0x110000000\", page = 4096, zone = 1 MiB, nodes = 8 }\n"
        + "vmap.purge.lazy-max-pages = 1024\n"
        + "vmap.client.ask-timeout = 5s\n");
  }

  /** Starts member {@code i} with {@code --data-dir dataDir}; its output goes to member-i-n.log. */
  Process start(int i, Path dataDir) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx384m", "-XX:+UseSerialGC", "-cp", cp,
        "io.vmap.runner.VmapCommand", "node", "--config", conf.toString(), "--port", Integer.toString(ports[i]),
        "--http-port", Integer.toString(http[i]), "--data-dir", dataDir.toString());
    pb.redirectErrorStream(true);
    pb.redirectOutput(log(i, ++started).toFile());
    pb.environment().put("VMAP_LOG_LEVEL", "INFO");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private Path log(int member, int n) {
    return dir.resolve("member-" + member + "-" + n + ".log");
  }

  /** The whole output of {@code p} so far. */
  String output(Process p) throws IOException {
    int n = processes.indexOf(p) + 1;
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        if (f.getFileName().toString().matches("member-\\d+-" + n + "\\.log")) return Files.readString(f);
      }
    }
    return "";
  }

  /** Waits until member {@code i} answers 200 on /health/ready. */
  void awaitReady(int i, Duration max) {
    try {
      kit.createTestProbe().awaitAssert(max, Duration.ofMillis(500), () -> {
        HttpResponse<String> r = send(i, HttpRequest.newBuilder(uri(i, "/health/ready")).GET());
        assertEquals(200, r.statusCode(), r.body());
        return null;
      });
    } catch (AssertionError e) {
      throw new AssertionError("member " + i + " (HTTP " + http[i] + ") not ready; logs in " + dir + ":\n" + logTails(), e);
    }
  }

  /** The exit status of {@code p}, which must end within {@code max}. */
  int awaitExit(Process p, Duration max) throws InterruptedException {
    if (!p.waitFor(max.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("process " + p.pid() + " still runs after " + max + "; logs:\n" + logTails());
    }
    return p.exitValue();
  }

  /** Asks {@code p} to stop (SIGTERM: it leaves the cluster) and waits for it. */
  void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
  }

  HttpResponse<String> send(int i, HttpRequest.Builder b) throws IOException, InterruptedException {
    return HTTP.send(b.timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> alloc(int i, long size, String requestId) throws IOException, InterruptedException {
    String body = "{\"size\":" + size + ",\"tag\":\"js\",\"requestId\":\"" + requestId + "\"}";
    return send(i, HttpRequest.newBuilder(uri(i, "/v1/areas")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  HttpResponse<String> free(int i, String addr, String requestId) throws IOException, InterruptedException {
    return send(i, HttpRequest.newBuilder(uri(i, "/v1/areas/" + addr + "?requestId=" + requestId)).DELETE());
  }

  HttpResponse<String> find(int i, String addr) throws IOException, InterruptedException {
    return send(i, HttpRequest.newBuilder(uri(i, "/v1/areas/" + addr)).GET());
  }

  /**
   * {@link #find}, asked again while member {@code i} answers 503 or 504 (a member that just
   * joined, shards moving: no answer yet is not an answer), for at most {@code max}. The result is
   * the first definite answer: the area (200) or its absence (404).
   */
  HttpResponse<String> findSettled(int i, String addr, Duration max) {
    java.util.concurrent.atomic.AtomicReference<HttpResponse<String>> last = new java.util.concurrent.atomic.AtomicReference<>();
    kit.createTestProbe().awaitAssert(max, Duration.ofMillis(500), () -> {
      try {
        last.set(find(i, addr));
      } catch (IOException e) {
        throw new AssertionError("find " + addr + " on member " + i + ": " + e, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      int status = last.get().statusCode();
      assertTrue(status != 503 && status != 504, "member " + i + " has no answer yet: " + last.get().body());
      return null;
    });
    return last.get();
  }

  JsonNode getJson(int i, String path) throws IOException, InterruptedException {
    HttpResponse<String> r = send(i, HttpRequest.newBuilder(uri(i, path)).GET());
    assertTrue(r.statusCode() == 200, path + " answered " + r.statusCode() + ": " + r.body());
    return JSON.readTree(r.body());
  }

  URI uri(int i, String path) {
    return URI.create("http://127.0.0.1:" + http[i] + path);
  }

  String url(int i) {
    return "http://127.0.0.1:" + http[i];
  }

  /** The last lines of every member's log, for failure messages. */
  String logTails() {
    StringBuilder sb = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(x -> x.getFileName().toString().endsWith(".log")).sorted().toList()) {
        List<String> lines = Files.readAllLines(f);
        sb.append("== ").append(f.getFileName()).append('\n');
        for (String l : lines.subList(Math.max(0, lines.size() - 25), lines.size())) sb.append(l).append('\n');
      }
    } catch (IOException e) {
      sb.append(e);
    }
    return sb.toString();
  }

  @Override
  public void close() {
    for (Process p : processes) p.destroyForcibly();
    for (Process p : processes) {
      try {
        p.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static int freePort() throws IOException {
    return io.vmap.torture.FreePorts.next();
  }

  static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }
}
