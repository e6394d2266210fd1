package io.vmap.http;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.http.javadsl.ServerBinding;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.protocol.NodeDirectory;
import io.vmap.node.VmapNode;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.http.api.InfoJson;
import io.vmap.space.Geometry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP API end to end: a real server on a free port over a fresh embedded allocator per test
 * (1 MiB space at 0x100000, 4 KiB pages, 64 KiB zones, 2 nodes: node 0 owns 0x100000, 0x120000,
 * ..., node 1 owns 0x110000, 0x130000, ...), driven with java.net.http.
 */
class VmapHttpServerTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static final long END = BASE + 16 * ZONE;

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Shared by every test; each test embeds its own allocator in it. */
  static ActorSystem<Void> system;

  Vmap vmap;
  Readiness readiness;
  Metrics metrics;
  ServerBinding binding;
  String base;

  static VmapSettings settings() {
    return VmapSettings.defaults().withGeometry(new Geometry(BASE, END, 4096, ZONE, 2), null);
  }

  static String hex(long v) {
    return String.format("0x%016x", v);
  }

  @BeforeAll
  static void startSystem() {
    // A generous logger start-up timeout: the default 5 s is hit on a loaded 2-core build machine.
    system = ActorSystem.create(Behaviors.empty(), "vmap-http-test",
        ConfigFactory.parseString("akka.logger-startup-timeout = 60s").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stopSystem() throws Exception {
    if (system != null) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @BeforeEach
  void startServer() throws Exception {
    vmap = Vmap.embed(system, settings());
    readiness = Readiness.initiallyReady();
    metrics = new Metrics();
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, readiness, metrics)
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  @AfterEach
  void stopServer() throws Exception {
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vmap.close();
  }

  // ------------------------------------------------------------------ helpers

  record Resp(int status, String body, HttpResponse<String> raw) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }

    String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }
  }

  Resp send(String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) b.header("Content-Type", "application/json");
    for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Resp(r.statusCode(), r.body(), r);
  }

  Resp alloc(String body, String... headers) throws Exception {
    return send("POST", "/v1/areas", body, headers);
  }

  /** Allocates and returns the start, asserting 201. */
  String allocOk(String body) throws Exception {
    Resp r = alloc(body);
    assertEquals(201, r.status(), r.body());
    return r.json().get("start").asText();
  }

  static void assertError(Resp r, int status, String code, String reasonPart) {
    assertEquals(status, r.status(), r.body());
    assertTrue(r.header("Content-Type").startsWith("application/json"), r.header("Content-Type"));
    JsonNode j = r.json();
    List<String> fields = new ArrayList<>();
    for (Iterator<String> it = j.fieldNames(); it.hasNext(); ) fields.add(it.next());
    assertEquals(List.of("error", "reason"), fields, r.body());
    assertEquals(code, j.get("error").asText(), r.body());
    String reason = j.get("reason").asText();
    assertTrue(reason.contains(reasonPart), "reason '" + reason + "' should mention '" + reasonPart + "'");
    assertFalse(reason.contains("\tat ") || reason.contains("Exception"), "stack trace leaked: " + reason);
  }

  private static final java.util.regex.Pattern SAMPLE =
      java.util.regex.Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*)\\})? (\\S+)");
  private static final java.util.regex.Pattern LABEL = java.util.regex.Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /**
   * The samples of a Prometheus text exposition: {@code name{k="v",...}} (labels in the order
   * written) to the value. Fails on any line that is neither a comment nor a well-formed sample,
   * or whose value is not a number (Go float syntax: 2, 2.0, 3.5E13, +Inf).
   */
  static Map<String, Double> samples(String text) {
    Map<String, Double> out = new java.util.LinkedHashMap<>();
    for (String l : text.lines().toList()) {
      if (l.startsWith("#") || l.isEmpty()) continue;
      java.util.regex.Matcher m = SAMPLE.matcher(l);
      assertTrue(m.matches(), "bad sample line: " + l);
      StringBuilder key = new StringBuilder(m.group(1));
      if (m.group(2) != null) {
        java.util.regex.Matcher lm = LABEL.matcher(m.group(2));
        List<String> labels = new ArrayList<>();
        while (lm.find()) labels.add(lm.group(1) + "=\"" + lm.group(2) + "\"");
        key.append('{').append(String.join(",", labels)).append('}');
      }
      String v = m.group(3);
      assertTrue(v.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?|[+-]Inf|NaN"), "bad value: " + l);
      double value = switch (v) {
        case "+Inf" -> Double.POSITIVE_INFINITY;
        case "-Inf" -> Double.NEGATIVE_INFINITY;
        default -> Double.parseDouble(v);
      };
      assertFalse(out.containsKey(key.toString()), "sample twice: " + l);
      out.put(key.toString(), value);
    }
    return out;
  }

  // ------------------------------------------------------------------ tests

  @Test
  void allocFindFree() throws Exception {
    Resp a = alloc("{\"size\":8192,\"node\":0,\"tag\":\"buf\"}");
    assertEquals(201, a.status(), a.body());
    assertEquals(new AreaJson(BASE, BASE + 8192, 8192L, 0, "buf"), Api.read(a.body(), AreaJson.class));
    JsonNode j = a.json();
    assertEquals(hex(BASE), j.get("start").asText());
    assertEquals(hex(BASE + 8192), j.get("end").asText());
    assertEquals(8192, j.get("size").asLong());
    assertTrue(j.get("size").isNumber());
    assertEquals(0, j.get("node").asInt());
    assertEquals("buf", j.get("tag").asText());
    assertEquals("/v1/areas/" + hex(BASE), a.header("Location"));

    // Strings for size/align, aligned to a zone on node 1: 0x110000.
    Resp b = alloc("{\"size\":\"0x4000\",\"align\":\"65536\",\"node\":1}");
    assertEquals(201, b.status(), b.body());
    assertEquals(hex(BASE + ZONE), b.json().get("start").asText());
    assertEquals(1, b.json().get("node").asInt());

    // Containing area by hex or decimal address.
    Resp f = send("GET", "/v1/areas/0x101fff", null);
    assertEquals(200, f.status(), f.body());
    assertEquals(hex(BASE), f.json().get("start").asText());
    assertEquals("buf", f.json().get("tag").asText());
    Resp g = send("GET", "/v1/areas/" + (BASE + ZONE + 0x3000), null);
    assertEquals(200, g.status(), g.body());
    assertEquals(hex(BASE + ZONE), g.json().get("start").asText());
    assertError(send("GET", "/v1/areas/0x102000", null), 404, "ENOENT", "no busy area contains 0x0000000000102000");

    Resp d = send("DELETE", "/v1/areas/" + hex(BASE), null);
    assertEquals(204, d.status(), d.body());
    assertEquals("", d.body());
    assertError(send("DELETE", "/v1/areas/" + hex(BASE), null), 404, "ENOENT", hex(BASE));
    assertError(send("GET", "/v1/areas/" + hex(BASE), null), 404, "ENOENT", "no busy area contains " + hex(BASE));
    // Inside an area but not its start.
    assertError(send("DELETE", "/v1/areas/" + hex(BASE + ZONE + 0x1000), null), 400, "EINVAL", "");
  }

  @Test
  void failFastThenNoSpaceThenPurgeOnOverflow() throws Exception {
    // Node 0 owns 8 zones; fill them with fail-fast 64 KiB areas: 0x100000, 0x120000, ...
    for (int i = 0; i < 8; i++) {
      assertEquals(hex(BASE + 2L * i * ZONE), allocOk("{\"size\":65536,\"node\":0,\"policy\":\"fail-fast\"}"));
    }
    assertError(alloc("{\"size\":4096,\"node\":0,\"policy\":\"fail-fast\"}"), 503, "EAGAIN", "");
    // Normal policy walks to node 1: 0x110000, 0x130000, ...
    for (int i = 0; i < 8; i++) {
      assertEquals(hex(BASE + (2L * i + 1) * ZONE), allocOk("{\"size\":65536,\"node\":0}"));
    }
    assertError(alloc("{\"size\":4096,\"node\":0}"), 507, "ENOSPC", "");
    // A lazily freed area is reused after the allocation's synchronous purge.
    assertEquals(204, send("DELETE", "/v1/areas/" + hex(BASE + 2 * ZONE), null).status());
    assertEquals(hex(BASE + 2 * ZONE), allocOk("{\"size\":4096,\"node\":0}"));
  }

  @Test
  void retriedRequestIdReturnsTheFirstAnswer() throws Exception {
    String body = "{\"size\":4096,\"node\":0,\"requestId\":\"req-1\"}";
    String first = allocOk(body);
    assertEquals(hex(BASE), first);
    assertEquals(first, allocOk(body));
    assertNotEquals(first, allocOk("{\"size\":4096,\"node\":0}"));

    // Without an explicit node the retry must still reach the same home node (the client would
    // otherwise pick the next node round robin and allocate a second area there).
    for (int i = 0; i < 4; i++) {
      String noNode = "{\"size\":4096,\"requestId\":\"roam-" + i + "\"}";
      String s1 = allocOk(noNode);
      allocOk("{\"size\":4096}"); // moves the client's round-robin cursor
      assertEquals(s1, allocOk(noNode), noNode);
    }

    // Idempotency-Key header works the same way.
    Resp h1 = alloc("{\"size\":4096}", "Idempotency-Key", "key-1");
    allocOk("{\"size\":4096}");
    Resp h2 = alloc("{\"size\":4096}", "Idempotency-Key", "key-1");
    assertEquals(201, h1.status(), h1.body());
    assertEquals(h1.json().get("start"), h2.json().get("start"));
    assertError(alloc(body, "Idempotency-Key", "other"), 400, "EINVAL", "requestId");

    // A retried free also returns its first answer (204), never ENOENT.
    assertEquals(204, send("DELETE", "/v1/areas/" + first + "?requestId=del-1", null).status());
    assertEquals(204, send("DELETE", "/v1/areas/" + first + "?requestId=del-1", null).status());
    assertError(send("DELETE", "/v1/areas/" + first + "?requestId=del-2", null), 404, "ENOENT", first);
    String s = h1.json().get("start").asText();
    assertEquals(204, send("DELETE", "/v1/areas/" + s, null, "Idempotency-Key", "del-3").status());
    assertEquals(204, send("DELETE", "/v1/areas/" + s, null, "Idempotency-Key", "del-3").status());
  }

  /** README "Error codes": a request id reused for a different request is 422 EEXIST naming the id; nothing is done. */
  @Test
  void aRequestIdReusedForADifferentRequestIs422EexistNamingTheId() throws Exception {
    String first = allocOk("{\"size\":4096,\"node\":0,\"requestId\":\"order-9\"}");
    assertError(alloc("{\"size\":8192,\"node\":0,\"requestId\":\"order-9\"}"), 422, "EEXIST", "'order-9'");
    assertError(alloc("{\"size\":4096,\"node\":0,\"tag\":\"x\"}", "Idempotency-Key", "order-9"), 422, "EEXIST", "'order-9'");
    assertEquals(first, allocOk("{\"size\":4096,\"node\":0,\"requestId\":\"order-9\"}"), "the first answer stands");
    String second = allocOk("{\"size\":4096,\"node\":0}");
    assertEquals(204, send("DELETE", "/v1/areas/" + first + "?requestId=del-9", null).status());
    assertError(send("DELETE", "/v1/areas/" + second, null, "Idempotency-Key", "del-9"), 422, "EEXIST", "'del-9'");
    assertEquals(200, send("GET", "/v1/areas/" + second, null).status(), "not freed");
    assertEquals(204, send("DELETE", "/v1/areas/" + first + "?requestId=del-9", null).status(), "its retry: the first answer");
  }

  @Test
  void infoAsTextAndJson() throws Exception {
    allocOk("{\"size\":8192,\"node\":0,\"tag\":\"buf\"}");
    String gone = allocOk("{\"size\":4096,\"node\":1,\"tag\":\"tmp\"}");
    assertEquals(204, send("DELETE", "/v1/areas/" + gone, null).status());

    Resp t = send("GET", "/v1/info", null);
    assertEquals(200, t.status(), t.body());
    assertTrue(t.header("Content-Type").startsWith("text/plain"), t.header("Content-Type"));
    assertTrue(t.body().contains(hex(BASE) + "-" + hex(BASE + 8192) + "         8192 node=0 buf\n"), t.body());
    assertTrue(t.body().contains(hex(BASE + ZONE) + "-" + hex(BASE + ZONE + 4096) + "         4096 node=1 tmp unpurged\n"), t.body());
    assertTrue(t.body().contains("# busy=1 (8192 bytes) lazy=1 (4096 bytes)"), t.body());

    Resp jr = send("GET", "/v1/info", null, "Accept", "application/json");
    assertEquals(200, jr.status(), jr.body());
    assertTrue(jr.header("Content-Type").startsWith("application/json"));
    JsonNode j = jr.json();
    assertEquals(1, j.get("busy").size());
    assertEquals(hex(BASE), j.get("busy").get(0).get("start").asText());
    assertEquals("buf", j.get("busy").get(0).get("tag").asText());
    assertEquals(1, j.get("lazy").size());
    assertEquals(gone, j.get("lazy").get(0).get("start").asText());
    assertEquals(2, j.get("nodes").size());
    assertEquals(hex(BASE), j.get("geometry").get("vstart").asText());
    assertTrue(j.get("totals").get("accountsForSpace").asBoolean(), j.toString());
    assertEquals(16 * ZONE - 8192 - 4096, j.get("totals").get("freeBytes").asLong());
    assertEquals(1, j.get("purge").get("lazyPages").asLong());
    assertTrue(j.get("purge").get("holders").isArray());

    assertEquals(j, send("GET", "/v1/info?format=json", null).json());
    assertError(send("GET", "/v1/info?format=xml", null), 400, "EINVAL", "format");

    // What vmap check --url reads back is the allocator's own info.
    VmapInfo read = Api.read(jr.body(), InfoJson.class).toVmapInfo();
    VmapInfo now = vmap.client().info().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(now.geometry().toString(), read.geometry().toString());
    assertEquals(now.busy(), read.busy());
    assertEquals(now.lazy(), read.lazy());
    assertEquals(now.nodes(), read.nodes());
    assertEquals(now.purge().lazyPages(), read.purge().lazyPages());
    assertEquals(now.purge().phase(), read.purge().phase());
  }

  /** The JSON of the info round-trips through the DTOs, unsigned values above 2^63 included. */
  @Test
  void infoJsonRoundTripsAddressesAndSizesAboveTwoToThe63() {
    Geometry g = new Geometry(Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VEND, 4096, Geometry.DEFAULT_ZONE, 2);
    VmapInfo info = new VmapInfo(g,
        List.of(new VmapInfo.AreaInfo(new io.vmap.space.Area(0xffffc90000000000L, 0xffffc90000002000L, "a\"b"), 0)),
        List.of(new VmapInfo.AreaInfo(new io.vmap.space.Area(0xffffc90002000000L, 0xffffc90002001000L, ""), 1)),
        List.of(new VmapInfo.NodeStats(0, 1, 0, -4096L, 3, -8192L, 0, 0, 0),
            new VmapInfo.NodeStats(1, 0, 1, 1L << 40, 1, 1L << 40, 1, 4096, 2)),
        new PurgeProtocol.Status(7, "flushing", 1, 64, 2,
            List.of(new PurgeProtocol.Holder("akka://x/user/s", 7, java.time.Instant.parse("2026-01-02T03:04:05Z"))), 6, 40));
    String text = Api.write(InfoJson.of(info));
    JsonNode tree;
    try {
      tree = JSON.readTree(text);
    } catch (Exception e) {
      throw new AssertionError(text, e);
    }
    assertEquals("0xffffc90000000000", tree.get("busy").get(0).get("start").asText());
    assertTrue(tree.get("nodes").get(0).get("freeBytes").isBigInteger(), text);
    assertEquals("18446744073709547520", tree.get("nodes").get(0).get("freeBytes").asText());
    VmapInfo back = Api.read(text, InfoJson.class).toVmapInfo();
    assertEquals(g.toString(), back.geometry().toString()); // Geometry has no equals: its text has every field
    assertEquals(info.busy(), back.busy());
    assertEquals(info.lazy(), back.lazy());
    assertEquals(info.nodes(), back.nodes());
    assertEquals(info.purge(), back.purge());
  }

  @Test
  void numbersTooLargeForAnyDoubleAreEinvalNamingTheField() throws Exception {
    // Used to be 500 EIO: 1e400 became an infinite double, whose BigDecimal threw.
    assertError(alloc("{\"size\":1e400}"), 400, "EINVAL", "size: 1e400 does not fit in 64 bits");
    assertError(alloc("{\"size\":4096,\"align\":1E+400}"), 400, "EINVAL", "align: 1E+400");
    assertError(alloc("{\"size\":-1e400}"), 400, "EINVAL", "size: must not be negative");
    assertError(alloc("{\"size\":1e-400}"), 400, "EINVAL", "size: must be a whole number of bytes, got 1e-400");
    assertError(alloc("{\"size\":1e99999999999}"), 400, "EINVAL", "size: 1e99999999999");
    assertError(alloc("{\"size\":4096,\"node\":1e400}"), 400, "EINVAL", "node");
    // A whole number written with a fraction or an exponent is still a size.
    Resp ok = alloc("{\"size\":4.096e3,\"align\":65536.0,\"node\":1}");
    assertEquals(201, ok.status(), ok.body());
    assertEquals(hex(BASE + ZONE), ok.json().get("start").asText());
    assertEquals(4096, ok.json().get("size").asLong());
    assertEquals(6, metrics.count("alloc", "EINVAL"));
    assertEquals(0, metrics.count("alloc", "EIO"));
  }

  /**
   * An alignment of 2^63 is a power of two, but no multiple of it lies in the space: a request no
   * state could satisfy is EINVAL (not ENOSPC), and the reason echoes the alignment in hex.
   */
  @Test
  void anAlignmentOfTwoToThe63IsEchoedUnsigned() throws Exception {
    for (String align : List.of("\"0x8000000000000000\"", "9223372036854775808", "\"9223372036854775808\"")) {
      Resp r = alloc("{\"size\":4096,\"align\":" + align + "}");
      // No 2^63-aligned page in [0x100000, 0x200000).
      assertError(r, 400, "EINVAL", "align 0x8000000000000000: no multiple of it in the range");
      String reason = r.json().get("reason").asText();
      assertFalse(reason.contains("-9223372036854775808"), reason);
      assertTrue(reason.contains("0x8000000000000000") || reason.contains("9223372036854775808"), reason);
    }
  }

  @Test
  void alignmentsAboveTwoToThe63AreEchoedUnsigned() throws Exception {
    // Not a power of two: EINVAL echoing the value unsigned, whichever way it was written.
    assertError(alloc("{\"size\":4096,\"align\":9223372036854775809}"), 400, "EINVAL",
        "align 9223372036854775809 is not a power of two");
    assertError(alloc("{\"size\":4096,\"align\":\"0xffffffffffffffff\"}"), 400, "EINVAL",
        "align 18446744073709551615 is not a power of two");
    assertError(alloc("{\"size\":4096,\"align\":\"0x8000000000000001\"}"), 400, "EINVAL",
        "align 9223372036854775809 is not a power of two");
  }

  @Test
  void purgeReleasesLazyAreas() throws Exception {
    String a = allocOk("{\"size\":4096,\"node\":0}");
    String b = allocOk("{\"size\":4096,\"node\":1}");
    assertEquals(204, send("DELETE", "/v1/areas/" + a, null).status());
    assertEquals(204, send("DELETE", "/v1/areas/" + b, null).status());
    Resp p = send("POST", "/v1/purge", null);
    assertEquals(200, p.status(), p.body());
    assertEquals(2, p.json().get("released").asInt());
    JsonNode info = send("GET", "/v1/info?format=json", null).json();
    assertEquals(0, info.get("lazy").size());
    assertEquals(16 * ZONE, info.get("totals").get("freeBytes").asLong());
    assertEquals(0, send("POST", "/v1/purge", "").json().get("released").asInt());
  }

  @Test
  void healthAndReadinessGate() throws Exception {
    assertEquals(200, send("GET", "/health/alive", null).status());
    Resp r = send("GET", "/health/ready", null);
    assertEquals(200, r.status());
    assertTrue(r.json().get("ready").asBoolean());

    readiness.markNotReady("joining cluster");
    Resp nr = send("GET", "/health/ready", null);
    assertEquals(503, nr.status());
    assertFalse(nr.json().get("ready").asBoolean());
    assertEquals("joining cluster", nr.json().get("detail").asText());
    assertEquals(200, send("GET", "/health/alive", null).status());
    assertError(alloc("{\"size\":4096}"), 503, "EAGAIN", "joining cluster");

    readiness.markReady();
    assertEquals(200, send("GET", "/health/ready", null).status());
    allocOk("{\"size\":4096}");
  }

  @Test
  void metricsCountEveryOperation() throws Exception {
    String a = allocOk("{\"size\":8192,\"node\":0}");
    allocOk("{\"size\":4096,\"node\":1}");
    assertEquals(400, alloc("{\"size\":0}").status());
    assertEquals(200, send("GET", "/v1/areas/" + a, null).status());
    assertEquals(404, send("GET", "/v1/areas/0x1", null).status());
    assertEquals(204, send("DELETE", "/v1/areas/" + a, null).status());
    assertEquals(404, send("DELETE", "/v1/areas/" + a, null).status());
    assertEquals(200, send("GET", "/v1/info", null).status());
    assertEquals(200, send("POST", "/v1/purge", null).status());

    Resp m = send("GET", "/metrics", null);
    assertEquals(200, m.status());
    assertTrue(m.header("Content-Type").startsWith("text/plain; version=0.0.4"), m.header("Content-Type"));
    List<String> lines = m.body().lines().toList();
    Map<String, Double> samples = samples(m.body());
    for (String expected : List.of(
        "vmap_ops_total{op=\"alloc\",result=\"ok\"} 2",
        "vmap_ops_total{op=\"alloc\",result=\"EINVAL\"} 1",
        "vmap_ops_total{op=\"alloc\",result=\"ENOSPC\"} 0",
        "vmap_ops_total{op=\"find\",result=\"ok\"} 1",
        "vmap_ops_total{op=\"find\",result=\"ENOENT\"} 1",
        "vmap_ops_total{op=\"free\",result=\"ok\"} 1",
        "vmap_ops_total{op=\"free\",result=\"ENOENT\"} 1",
        "vmap_ops_total{op=\"info\",result=\"ok\"} 1",
        "vmap_ops_total{op=\"purge\",result=\"ok\"} 1",
        "vmap_op_latency_seconds_bucket{op=\"alloc\",le=\"+Inf\"} 3",
        "vmap_op_latency_seconds_count{op=\"alloc\"} 3",
        "vmap_op_latency_seconds_count{op=\"free\"} 2",
        "vmap_http_responses_total{code=\"201\"} 2",
        "vmap_http_responses_total{code=\"404\"} 2",
        "vmap_lazy_pages 0",
        "vmap_purge_epochs_total 1",
        "vmap_free_bytes{node=\"0\"} " + 8 * ZONE,
        "vmap_free_bytes{node=\"1\"} " + (8 * ZONE - 4096),
        "vmap_largest_free_block_bytes{node=\"0\"} " + ZONE,
        "vmap_largest_free_block_bytes{node=\"1\"} " + ZONE,
        "vmap_ready 1",
        "vmap_info_up 1",
        // Per vmap node, as the Nodes panel counts: the area's node; no address (size 0), no node.
        "vmap_node_requests_total{node=\"0\",op=\"alloc\"} 1",
        "vmap_node_requests_total{node=\"1\",op=\"alloc\"} 1",
        "vmap_node_requests_total{node=\"unattributed\",op=\"alloc\"} 1",
        "vmap_node_request_errors_total{node=\"unattributed\",op=\"alloc\"} 1",
        "vmap_node_requests_total{node=\"0\",op=\"find\"} 2",
        "vmap_node_request_errors_total{node=\"0\",op=\"find\"} 1",
        "vmap_node_requests_total{node=\"0\",op=\"free\"} 2",
        "vmap_node_request_errors_total{node=\"0\",op=\"free\"} 1",
        "vmap_node_request_latency_seconds_count{node=\"0\"} 5",
        "vmap_node_request_latency_seconds_bucket{node=\"1\",le=\"+Inf\"} 1")) {
      Map.Entry<String, Double> e = samples(expected).entrySet().iterator().next();
      assertEquals(e.getValue(), samples.get(e.getKey()), "'" + expected + "' in\n" + m.body());
    }
    assertTrue(lines.contains("# TYPE vmap_op_latency_seconds histogram"));
    assertTrue(lines.contains("# TYPE vmap_ops_total counter"));
    assertTrue(lines.contains("# TYPE vmap_free_bytes gauge"));
    assertTrue(lines.contains("# TYPE vmap_node_request_latency_seconds histogram"));
    assertFalse(m.body().contains("vmap_node_request_errors_total{node=\"1\""), "node 1 had no error");
    // Every (op, known result) pair is there from the start, and every op's latency histogram.
    for (String op : Metrics.OPS) {
      for (String result : Metrics.RESULTS) {
        assertTrue(samples.containsKey("vmap_ops_total{op=\"" + op + "\",result=\"" + result + "\"}"), op + " " + result);
      }
      assertTrue(samples.containsKey("vmap_op_latency_seconds_count{op=\"" + op + "\"}"), op);
    }
    assertEquals(2, metrics.count("alloc", "ok"));
  }

  @Test
  void malformedRequestsAreEinvalNamingTheField() throws Exception {
    String[][] cases = {
      {"", "body"},
      {"{", "malformed JSON"},
      {"[1,2]", "JSON object"},
      {"{\"size\":4096}{\"size\":1}", "malformed JSON"},
      {"{\"size\":4096,\"size\":8192}", "malformed JSON"},
      {"{}", "size"},
      {"{\"size\":-4096}", "size"},
      {"{\"size\":\"-1\"}", "size"},
      {"{\"size\":1.5}", "size"},
      {"{\"size\":true}", "size"},
      {"{\"size\":\"0xzz\"}", "size"},
      {"{\"size\":18446744073709551616}", "size"},
      {"{\"size\":0}", "size 0"},
      {"{\"size\":4096,\"align\":3000}", "align"},
      {"{\"size\":4096,\"bogus\":1}", "unknown field 'bogus'"},
      {"{\"size\":4096,\"vstart\":1048576}", "vstart"},
      {"{\"size\":4096,\"vstart\":\"0xg0\"}", "vstart"},
      {"{\"size\":4096,\"vend\":\"0x10\"}", "vend"},
      {"{\"size\":4096,\"vstart\":\"0x0\",\"vend\":\"0x1000\"}", "outside the space"},
      {"{\"size\":4096,\"policy\":\"lazy\"}", "policy"},
      {"{\"size\":4096,\"node\":7}", "node"},
      {"{\"size\":4096,\"node\":\"x\"}", "node"},
      {"{\"size\":4096,\"tag\":5}", "tag"},
      {"{\"size\":4096,\"tag\":\"a\\nb\"}", "tag"},
      {"{\"size\":4096,\"requestId\":7}", "requestId"},
      {"{\"size\":4096,\"requestId\":\"\"}", "requestId"},
    };
    for (String[] c : cases) {
      assertError(alloc(c[0]), 400, "EINVAL", c[1]);
    }
    // Nulls are absent fields; vstart alone means [vstart, space end).
    assertEquals(hex(BASE + 0x3000), allocOk("{\"size\":4096,\"tag\":null,\"vstart\":\"0x103000\",\"node\":0}"));

    assertError(send("GET", "/v1/areas/0xnothex", null), 400, "EINVAL", "addr");
    assertError(send("DELETE", "/v1/areas/-5", null), 400, "EINVAL", "addr");
    assertError(send("GET", "/nope", null), 404, "ENOENT", "GET /nope");
    assertError(send("GET", "/v1/areas", null), 405, "EINVAL", "POST");
    assertError(send("GET", "/v1/purge", null), 405, "EINVAL", "POST");
    assertError(alloc("{\"size\":4096,\"tag\":\"" + "x".repeat(70_000) + "\"}"), 413, "EINVAL", "");
    // The server still works.
    allocOk("{\"size\":4096}");
    assertEquals(2, metrics.count("alloc", "ok"));
    assertEquals(cases.length, metrics.count("alloc", "EINVAL"));
  }

  @Test
  void unansweredRequestsAreEtimedout() throws Exception {
    // A client whose nodes and coordinator never answer.
    var sys = system;
    ActorRef<NodeMessage> n0 = sys.systemActorOf(Behaviors.ignore(), "hole-" + UUID.randomUUID(), Props.empty());
    ActorRef<NodeMessage> n1 = sys.systemActorOf(Behaviors.ignore(), "hole-" + UUID.randomUUID(), Props.empty());
    ActorRef<PurgeProtocol.Command> pc = sys.systemActorOf(Behaviors.ignore(), "hole-" + UUID.randomUUID(), Props.empty());
    VmapClient dead = new VmapClient(sys, settings().geometry(), NodeDirectory.of(List.of(n0, n1)), pc, Duration.ofMillis(300));
    Metrics m = new Metrics();
    ServerBinding b = VmapHttpServer.start(sys, dead, "127.0.0.1", 0, HealthProbe.always(), m)
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    try {
      base = "http://127.0.0.1:" + b.localAddress().getPort();
      assertError(send("GET", "/v1/areas/" + hex(BASE), null), 504, "ETIMEDOUT", "");
      assertError(alloc("{\"size\":4096,\"requestId\":\"slow-1\"}"), 504, "ETIMEDOUT", "");
      Resp metricsText = send("GET", "/metrics", null);
      assertEquals(200, metricsText.status());
      Map<String, Double> samples = samples(metricsText.body());
      assertEquals(1.0, samples.get("vmap_ops_total{op=\"find\",result=\"ETIMEDOUT\"}"), metricsText.body());
      assertEquals(1.0, samples.get("vmap_ops_total{op=\"alloc\",result=\"ETIMEDOUT\"}"), metricsText.body());
      assertEquals(0.0, samples.get("vmap_info_up"), metricsText.body());
      assertEquals(1.0, samples.get("vmap_info_scrape_errors_total"), metricsText.body());
      assertFalse(metricsText.body().contains("vmap_free_bytes{"), metricsText.body());
    } finally {
      b.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void httpRequestTimeoutOutlastsTheClientTimeout() {
    // reference.conf: akka.http request-timeout 20 s, vmap.client.ask-timeout 30 s -> 35 s.
    assertEquals(Duration.ofSeconds(35), VmapHttpServer.requestTimeout(ConfigFactory.load()));
    assertEquals(null, VmapHttpServer.requestTimeout(
        ConfigFactory.parseString("akka.http.server.request-timeout = 60s").withFallback(ConfigFactory.load())));
    assertEquals(null, VmapHttpServer.requestTimeout(
        ConfigFactory.parseString("akka.http.server.request-timeout = infinite").withFallback(ConfigFactory.load())));
  }
}
