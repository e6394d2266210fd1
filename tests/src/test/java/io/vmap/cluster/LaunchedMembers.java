package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmap.torture.LocalCluster;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The multi-process tests' view of a {@link LocalCluster} (the harness {@code vmap torture} runs
 * too): real {@code vmap node} processes on loopback over {@code cluster-config/three-local.conf}
 * with a small space, started with any {@code --data-dir} and arguments; the waits as test
 * assertions (an ActorTestKit's awaitAssert, its own) and the HTTP calls the tests make. Close it
 * to kill what is still running.
 */
final class LaunchedMembers implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** The tests' space and timeouts, over three-local.conf. */
  static final String SETTINGS = String.join("\n",
      "akka.cluster.split-brain-resolver.stable-after = 3s",
      "vmap.space { start = \"0x100000000\", end = \"0x110000000\", page = 4096, zone = 1 MiB, nodes = 8 }",
      "vmap.purge.lazy-max-pages = 1024",
      "vmap.client.ask-timeout = 5s");

  final Path dir;
  final LocalCluster cluster;
  private final ActorTestKit kit = ActorTestKit.create();

  /** {@code members} seed members (every one a seed, the first forms the cluster) on loopback. */
  LaunchedMembers(Path dir, int members) throws IOException {
    this(dir, members, false);
  }

  /** With {@code proxies}, each member's Artery port sits behind an {@link io.vmap.torture.ArteryProxies} proxy. */
  LaunchedMembers(Path dir, int members, boolean proxies) throws IOException {
    this.dir = dir;
    LocalCluster c = null;
    try {
      c = new LocalCluster(new LocalCluster.Options(members, dir,
          "include file(\"" + repo().resolve("cluster-config/three-local.conf") + "\")\n", SETTINGS, proxies,
          LocalCluster.Options.DEFAULT_JVM));
    } finally {
      if (c == null) kit.shutdownTestKit();
    }
    this.cluster = c;
  }

  int size() {
    return cluster.size();
  }

  /** Starts member {@code i} with the cluster's --data-dir. */
  Process start(int i) throws IOException {
    return cluster.start(i);
  }

  /** Starts member {@code i} with {@code --data-dir dataDir} and more {@code vmap node} arguments. */
  Process start(int i, Path dataDir, String... args) throws IOException {
    return cluster.start(i, dataDir, List.of(args));
  }

  /** The whole output of {@code p} so far. */
  String output(Process p) {
    return cluster.output(p);
  }

  /** Waits until member {@code i} answers 200 on /health/ready. */
  void awaitReady(int i, Duration max) {
    try {
      awaitAssert(max, () -> assertEquals(200, status(i, "/health/ready"), "member " + i + " ready"));
    } catch (AssertionError e) {
      throw new AssertionError("member " + i + " (HTTP " + cluster.httpPort(i) + ") not ready; logs in " + dir + ":\n"
          + logTails(), e);
    }
  }

  /** Waits until {@code p} has printed {@code text}. */
  void awaitOutput(Process p, String text, Duration max) {
    awaitAssert(max, () -> assertTrue(output(p).contains(text), "no '" + text + "' in its output yet:\n" + output(p)));
  }

  /** The status of a GET of {@code path} on member {@code i}; -1 if it does not answer. */
  int status(int i, String path) {
    try {
      return send(i, HttpRequest.newBuilder(uri(i, path)).GET()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Runs {@code check} until it passes, for at most {@code max}. */
  void awaitAssert(Duration max, Runnable check) {
    kit.createTestProbe().awaitAssert(max, Duration.ofMillis(500), () -> {
      check.run();
      return null;
    });
  }

  /** The exit status of {@code p}, which must end within {@code max}. */
  int awaitExit(Process p, Duration max) throws InterruptedException {
    if (!p.waitFor(max.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("process " + p.pid() + " still runs after " + max + "; logs:\n" + logTails());
    }
    return p.exitValue();
  }

  HttpResponse<String> send(int i, HttpRequest.Builder b) throws IOException, InterruptedException {
    return HTTP.send(b.timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> alloc(int i, long size, String requestId) throws IOException, InterruptedException {
    String body = "{\"size\":" + size + ",\"tag\":\"js\",\"requestId\":\"" + requestId + "\"}";
    return send(i, HttpRequest.newBuilder(uri(i, "/v1/areas")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  /**
   * {@link #alloc}, sent again with the same request id (so at most one area) while member {@code i}
   * answers 503 or 504 (a cluster just formed, shards still being allocated), for at most {@code max}.
   */
  HttpResponse<String> allocSettled(int i, long size, String requestId, Duration max) {
    return settled(i, "alloc " + requestId, max, () -> alloc(i, size, requestId));
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
    return settled(i, "find " + addr, max, () -> find(i, addr));
  }

  /** One HTTP exchange with a member. */
  @FunctionalInterface
  private interface Exchange {
    HttpResponse<String> send() throws IOException, InterruptedException;
  }

  /** {@code exchange}, sent again while member {@code i} answers 503 or 504, for at most {@code max}. */
  private HttpResponse<String> settled(int i, String what, Duration max, Exchange exchange) {
    AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
    awaitAssert(max, () -> {
      try {
        last.set(exchange.send());
      } catch (IOException e) {
        throw new AssertionError(what + " on member " + i + ": " + e, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      int status = last.get().statusCode();
      assertTrue(status != 503 && status != 504, "member " + i + " has no answer yet: " + last.get().body());
    });
    return last.get();
  }

  JsonNode getJson(int i, String path) throws IOException, InterruptedException {
    HttpResponse<String> r = send(i, HttpRequest.newBuilder(uri(i, path)).GET());
    assertTrue(r.statusCode() == 200, path + " answered " + r.statusCode() + ": " + r.body());
    return JSON.readTree(r.body());
  }

  URI uri(int i, String path) {
    return cluster.uri(i, path);
  }

  String url(int i) {
    return "http://127.0.0.1:" + cluster.httpPort(i);
  }

  /** The last lines of every member's latest log, for failure messages. */
  String logTails() {
    return cluster.logTails(25);
  }

  @Override
  public void close() {
    try {
      cluster.close();
    } finally {
      kit.shutdownTestKit();
    }
  }

  /** The repository root (tests run in tests/). */
  static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }
}
