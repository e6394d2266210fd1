package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmap.http.TokenStore;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code vmap node} (three-local.conf, the embedded H2 journal) with authentication on from
 * a token file and a quota, killed with SIGKILL and started again on the same data: over HTTP,
 * a tenant's areas are still its own (another tenant still gets the 404 of a missing area) and its
 * quota usage, lazily freed areas included, is what it was, so the quota still holds.
 */
@Tag("integration")
class TenantRestartTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static ActorTestKit kit;

  @TempDir Path dir;
  private Process member;
  private int port;
  private int http;
  private String tokenA;
  private String tokenB;
  private String tokenOps;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @AfterEach
  void kill() {
    if (member != null) member.destroyForcibly();
  }

  @Test
  void ownershipAndQuotaUsageSurviveKillDashNine() throws Exception {
    port = freePort();
    http = freePort();
    tokenA = TokenStore.newToken();
    tokenB = TokenStore.newToken();
    tokenOps = TokenStore.newToken();
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, TokenStore.sha256Hex(tokenA) + " a tenant\n" + TokenStore.sha256Hex(tokenB) + " b tenant\n"
        + TokenStore.sha256Hex(tokenOps) + " ops admin\n");
    Path conf = dir.resolve("member.conf");
    Files.writeString(conf, "include file(\"" + repo().resolve("cluster-config/three-local.conf") + "\")\n"
        + "akka.cluster.seed-nodes = [\"akka://vmap@127.0.0.1:" + port + "\"]\n"
        + "vmap.space { start = \"0x100000000\", end = \"0x110000000\", page = 4096, zone = 1 MiB, nodes = 4 }\n"
        + "vmap.purge.lazy-max-pages = 100000\n"
        + "vmap.http.auth { enabled = on, tokens-file = \"" + tokens + "\" }\n"
        + "vmap.tenants.quotas { a { max-areas = 3 } }\n");
    Path data = dir.resolve("data");

    member = startMember(conf, data, "first");
    awaitReady();
    String a1 = allocate(tokenA, "{\"size\":8192,\"tag\":\"a1\"}");
    String a2 = allocate(tokenA, "{\"size\":3145728,\"tag\":\"a2-spanning\"}"); // 3 MiB: spans zones of several nodes
    String a3 = allocate(tokenA, "{\"size\":4096,\"tag\":\"a3\"}");
    String b1 = allocate(tokenB, "{\"size\":4096,\"tag\":\"b1\"}");
    assertEquals(204, send(tokenA, "DELETE", "/v1/areas/" + a1, null).statusCode()); // lazy: still counted
    // At its quota with one area lazily freed: fail-fast does not wait for the purge (EAGAIN, 503).
    HttpResponse<String> fast = send(tokenA, "POST", "/v1/areas", "{\"size\":4096,\"policy\":\"fail-fast\"}");
    assertEquals(503, fast.statusCode(), fast.body());
    assertEquals("EAGAIN", json(fast).get("error").asText());
    JsonNode before = json(send(tokenOps, "GET", "/v1/info?format=json", null));

    member.destroyForcibly().waitFor(60, TimeUnit.SECONDS);
    // The whole (one-member) cluster is down and its journal has history: forming it again takes
    // --form-cluster (README "Running a cluster", Restarts); without it the member is refused.
    member = startMember(conf, data, "second", "--form-cluster");
    awaitReady();

    JsonNode after = json(send(tokenOps, "GET", "/v1/info?format=json", null));
    assertEquals(before.get("busy"), after.get("busy"), "busy areas, with their tenants");
    assertEquals(before.get("lazy"), after.get("lazy"), "lazily freed areas, with their tenants");
    assertEquals(before.get("tenants"), after.get("tenants"), "usage per tenant");
    JsonNode rowA = row(after, "a");
    assertEquals(3, rowA.get("areas").asLong());
    assertEquals(1, rowA.get("lazyAreas").asLong());

    // Ownership: b still gets the 404 of a missing area for a's, and a still owns them.
    HttpResponse<String> missing = send(tokenB, "GET", "/v1/areas/0x000000010ff00000", null);
    HttpResponse<String> others = send(tokenB, "GET", "/v1/areas/" + a2, null);
    assertEquals(404, others.statusCode());
    assertEquals(missing.body().replace("0x000000010ff00000", "ADDR"), others.body().replace(a2, "ADDR"));
    assertEquals(404, send(tokenB, "DELETE", "/v1/areas/" + a3, null).statusCode());
    assertEquals(200, send(tokenA, "GET", "/v1/areas/" + a3, null).statusCode());
    assertEquals(200, send(tokenB, "GET", "/v1/areas/" + b1, null).statusCode());

    // Quota: a still holds 3, one lazily freed. One more fits after the purge it waits for; the next does not.
    allocate(tokenA, "{\"size\":4096}");
    HttpResponse<String> over = send(tokenA, "POST", "/v1/areas", "{\"size\":4096}");
    assertEquals(429, over.statusCode(), over.body());
    assertEquals("EDQUOT", json(over).get("error").asText());
    assertTrue(json(over).get("reason").asText().contains("tenant a is over its quota"), over.body());
  }

  // ------------------------------------------------------------------ helpers

  private Process startMember(Path conf, Path data, String name, String... args) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx384m", "-XX:+UseSerialGC", "-cp", cp,
        "io.vmap.runner.VmapCommand", "node", "--config", conf.toString(), "--port", Integer.toString(port),
        "--http-port", Integer.toString(http), "--data-dir", data.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve(name + ".log").toFile());
    return pb.start();
  }

  private void awaitReady() {
    try {
      kit.createTestProbe().awaitAssert(Duration.ofMinutes(3), Duration.ofMillis(500), () -> {
        HttpResponse<String> r = send(null, "GET", "/health/ready", null);
        assertEquals(200, r.statusCode(), r.body());
        return null;
      });
    } catch (AssertionError e) {
      throw new AssertionError("member not ready; log:\n" + logs(), e);
    }
  }

  private String logs() {
    StringBuilder sb = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(x -> x.toString().endsWith(".log")).sorted().toList()) {
        List<String> lines = Files.readAllLines(f);
        sb.append("== ").append(f.getFileName()).append('\n');
        for (String l : lines.subList(Math.max(0, lines.size() - 30), lines.size())) sb.append(l).append('\n');
      }
    } catch (IOException e) {
      sb.append(e);
    }
    return sb.toString();
  }

  private String allocate(String token, String body) throws Exception {
    HttpResponse<String> r = send(token, "POST", "/v1/areas", body);
    assertEquals(201, r.statusCode(), r.body());
    return json(r).get("start").asText();
  }

  private static JsonNode row(JsonNode info, String tenant) {
    for (JsonNode t : info.get("tenants")) if (t.get("tenant").asText().equals(tenant)) return t;
    throw new AssertionError("no row for " + tenant + " in " + info);
  }

  private static JsonNode json(HttpResponse<String> r) throws IOException {
    return JSON.readTree(r.body());
  }

  private HttpResponse<String> send(String token, String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + path)).timeout(Duration.ofSeconds(30));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) b.header("Authorization", "Bearer " + token);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws IOException {
    return io.vmap.torture.FreePorts.next();
  }

  private static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }
}
