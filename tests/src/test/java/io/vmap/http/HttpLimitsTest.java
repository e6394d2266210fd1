package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import io.vmap.space.Geometry;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * vmap.limits and vmap.limits.http, set small here: a tag or request id over its length, at every
 * door it comes through, and batch operations and body sizes are EINVAL naming the key;
 * operations in flight over the member's limit are 503 EAGAIN naming it; and on one connection a
 * pipelined request is not dispatched while the one before it is in flight (Akka HTTP's
 * pipelining-limit), so it never counts against the member's limit.
 *
 * <p>Requests are held in flight deterministically: the space is full but for a lazily freed
 * zone, so an allocation waits for a purge, and the purge waits for a flush subscriber that acks
 * only when the test opens its gate.
 */
class HttpLimitsTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  static final Duration WAIT = Duration.ofSeconds(60);

  ActorSystem<Void> system;
  Vmap vmap;
  ServerBinding binding;
  int port;
  final CompletableFuture<Void> gate = new CompletableFuture<>();

  @BeforeEach
  void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "vmap-http-limits", ConfigFactory.parseString("""
        akka.logger-startup-timeout = 60s
        vmap.limits { tag-length = 16, request-id-length = 20 }
        vmap.limits.http { in-flight-ops = 2, batch-ops = 2, body-bytes = 1 KiB, batch-body-bytes = 2 KiB }
        """).withFallback(ConfigFactory.load()));
    vmap = Vmap.embed(system, VmapSettings.defaults().withGeometry(new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2), null));
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, HealthProbe.always())
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    port = binding.localAddress().getPort();
  }

  @AfterEach
  void stop() throws Exception {
    gate.complete(null);
    binding.unbind().toCompletableFuture().get(30, TimeUnit.SECONDS);
    vmap.close();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  record Resp(int status, String body) {
    JsonNode json() throws Exception {
      return JSON.readTree(body);
    }
  }

  Resp send(String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(WAIT);
    if (headers.length > 0) b.headers(headers);
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Resp(r.statusCode(), r.body());
  }

  @Test
  void batchOperationsAndBodySizeOverTheirLimitsAreEinvalNamingTheKey() throws Exception {
    String find = "{\"op\":\"find\",\"addr\":\"0x100000\"}";
    assertEquals(200, send("POST", "/v1/areas/batch", "{\"ops\":[" + find + "," + find + "]}").status());
    Resp three = send("POST", "/v1/areas/batch", "{\"ops\":[" + find + "," + find + "," + find + "]}");
    assertEquals(400, three.status(), three.body());
    assertEquals("EINVAL", three.json().get("error").asText());
    assertEquals("ops: 3 operations, more than vmap.limits.http.batch-ops = 2", three.json().get("reason").asText());

    Resp big = send("POST", "/v1/areas", "{\"size\":4096,\"tag\":\"" + "x".repeat(1100) + "\"}");
    assertError(big, 413, "body: larger than the limit of 1024 bytes (vmap.limits.http.body-bytes)");
    // A batch's body has its own limit: over body-bytes is fine, over batch-body-bytes is not.
    String padded = "{\"op\":\"find\",\"addr\":\"0x100000\",\"requestId\":\"r1\"}" + " ".repeat(1200);
    assertEquals(200, send("POST", "/v1/areas/batch", "{\"ops\":[" + padded + "]}").status());
    Resp bigBatch = send("POST", "/v1/areas/batch", "{\"ops\":[" + padded + "," + padded + "]}");
    assertError(bigBatch, 413, "body: larger than the limit of 2048 bytes (vmap.limits.http.batch-body-bytes)");
  }

  @Test
  void aTagOrRequestIdOverItsLengthIsEinvalNamingTheLimitAtEveryDoor() throws Exception {
    String tag = "t".repeat(17);
    String id = "r".repeat(21);
    String tagReason = "tag: 17 characters, more than vmap.limits.tag-length = 16";
    String idReason = "request id: 21 characters, more than vmap.limits.request-id-length = 20";
    // At the limit: served.
    assertEquals(201, send("POST", "/v1/areas", "{\"size\":4096,\"tag\":\"" + "t".repeat(16) + "\",\"requestId\":\""
        + "r".repeat(20) + "\"}").status());

    assertError(send("POST", "/v1/areas", "{\"size\":4096,\"tag\":\"" + tag + "\"}"), 400, tagReason);
    assertError(send("POST", "/v1/areas", "{\"size\":4096,\"requestId\":\"" + id + "\"}"), 400, idReason);
    assertError(send("POST", "/v1/areas", "{\"size\":4096}", "Idempotency-Key", id), 400, idReason);
    String addr = "0x" + Long.toHexString(BASE + 0x8000);
    assertError(send("DELETE", "/v1/areas/" + addr + "?requestId=" + id, null), 400, idReason);
    assertError(send("DELETE", "/v1/areas/" + addr, null, "Idempotency-Key", id), 400, idReason);

    // In a batch, the same reasons, operation by operation.
    Resp batch = send("POST", "/v1/areas/batch", "{\"ops\":[{\"op\":\"alloc\",\"size\":4096,\"tag\":\"" + tag + "\"},"
        + "{\"op\":\"free\",\"addr\":\"" + addr + "\",\"requestId\":\"" + id + "\"}]}");
    assertEquals(200, batch.status(), batch.body());
    JsonNode results = batch.json().get("results");
    for (int k = 0; k < 2; k++) {
      assertEquals(400, results.get(k).get("status").asInt(), batch.body());
      assertEquals("EINVAL", results.get(k).get("error").asText(), batch.body());
    }
    assertEquals(tagReason, results.get(0).get("reason").asText(), batch.body());
    assertEquals(idReason, results.get(1).get("reason").asText(), batch.body());
    // Nothing but the first allocation took effect.
    assertEquals(1, vmap.client().info().toCompletableFuture().get(60, TimeUnit.SECONDS).busy().size());
  }

  static void assertError(Resp r, int status, String reason) throws Exception {
    assertEquals(status, r.status(), r.body());
    assertEquals("EINVAL", r.json().get("error").asText(), r.body());
    assertEquals(reason, r.json().get("reason").asText(), r.body());
  }

  @Test
  void operationsInFlightOverTheMembersLimitAre503EagainAndServedAgainAfterwards() throws Exception {
    long lazyZone = holdAllocationsBehindTheGate();
    List<CompletableFuture<HttpResponse<String>>> held = new ArrayList<>();
    for (int i = 0; i < 2; i++) held.add(allocAsync());
    awaitFlushHeld();
    // Both held allocations are in flight (the limit): the next operation is refused at once.
    Resp refused = awaitStatus(503, () -> send("GET", "/v1/areas/0x" + Long.toHexString(BASE), null));
    assertEquals("EAGAIN", refused.json().get("error").asText());
    assertTrue(refused.json().get("reason").asText().contains("more than vmap.limits.http.in-flight-ops = 2"), refused.body());

    gate.complete(null);
    List<Integer> answers = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> f : held) answers.add(f.get(WAIT.toSeconds(), TimeUnit.SECONDS).statusCode());
    assertTrue(answers.contains(201), answers::toString); // one got the purged zone, the other ENOSPC
    assertTrue(answers.stream().allMatch(s -> s == 201 || s == 507), answers::toString);
    // Counted out again: served.
    assertEquals(200, send("GET", "/v1/areas/0x" + Long.toHexString(BASE), null).status());
    assertEquals(200, send("GET", "/v1/info", null).status());
    assertTrue(lazyZone >= BASE);
  }

  @Test
  void onOneConnectionAPipelinedRequestWaitsForTheOneBeforeItAndDoesNotCount() throws Exception {
    holdAllocationsBehindTheGate();
    String body = "{\"size\":" + ZONE + "}";
    String alloc = "POST /v1/areas HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout((int) WAIT.toMillis());
      OutputStream out = s.getOutputStream();
      // Three allocations that each wait for the gate, pipelined on one connection.
      out.write((alloc + alloc + alloc).getBytes(StandardCharsets.US_ASCII));
      out.flush();
      awaitFlushHeld();
      // One of them is in flight. Another connection's held allocation takes the second slot:
      // had the server dispatched the pipelined ones too, one of these would be 503.
      CompletableFuture<HttpResponse<String>> other = allocAsync();
      gate.complete(null);
      int otherStatus = other.get(WAIT.toSeconds(), TimeUnit.SECONDS).statusCode();
      List<Integer> pipelined = readStatuses(s.getInputStream(), 3);
      assertNotEquals(503, otherStatus);
      assertTrue(pipelined.stream().noneMatch(x -> x == 503), pipelined::toString);
      assertEquals(3, pipelined.size());
    }
  }

  // ------------------------------------------------------------------ holding requests

  /** Fills the space, frees one zone lazily, and subscribes a flush listener that waits for the gate. */
  private long holdAllocationsBehindTheGate() throws Exception {
    var c = vmap.client();
    long first = 0;
    for (int i = 0; i < 16; i++) {
      long s = c.alloc(AllocOptions.size(ZONE).home(i % 2)).toCompletableFuture().get(60, TimeUnit.SECONDS).start();
      if (i == 0) first = s;
    }
    c.free(first).toCompletableFuture().get(60, TimeUnit.SECONDS);
    c.subscribeFlush(flush -> gate).toCompletableFuture().get(60, TimeUnit.SECONDS);
    return first;
  }

  private CompletableFuture<HttpResponse<String>> allocAsync() {
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/areas")).timeout(WAIT)
        .POST(HttpRequest.BodyPublishers.ofString("{\"size\":" + ZONE + "}")).build();
    return HTTP.sendAsync(r, HttpResponse.BodyHandlers.ofString());
  }

  /** Until a purge epoch waits for the held flush: an allocation is waiting behind the gate. */
  private void awaitFlushHeld() {
    // A kit over the test's own system, for awaitAssert (not shut down: that would stop the system).
    ActorTestKit.create(system).createTestProbe().awaitAssert(WAIT, () -> {
      var status = vmap.client().purgeStatus().toCompletableFuture().join();
      assertTrue(!status.holders().isEmpty(), status::toString);
      return null;
    });
  }

  private interface Call {
    Resp call() throws Exception;
  }

  /** Calls until the answer has {@code status} (the request before it may still be on its way in). */
  private Resp awaitStatus(int status, Call call) {
    return ActorTestKit.create(system).createTestProbe().awaitAssert(WAIT, () -> {
      Resp r;
      try {
        r = call.call();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      assertEquals(status, r.status(), r.body());
      return r;
    });
  }

  private static final Pattern STATUS = Pattern.compile("HTTP/1\\.1 (\\d{3}) ");
  private static final Pattern LENGTH = Pattern.compile("(?i)content-length: (\\d+)");

  /** The statuses of {@code n} responses read from a raw HTTP/1.1 connection (Content-Length bodies). */
  private static List<Integer> readStatuses(InputStream in, int n) throws Exception {
    List<Integer> out = new ArrayList<>();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    while (out.size() < n) {
      int b = in.read();
      if (b < 0) break;
      buf.write(b);
      String text = buf.toString(StandardCharsets.US_ASCII);
      int end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      Matcher st = STATUS.matcher(text);
      Matcher len = LENGTH.matcher(text.substring(0, end));
      int length = len.find() ? Integer.parseInt(len.group(1)) : 0;
      in.readNBytes(length);
      out.add(st.find() ? Integer.parseInt(st.group(1)) : -1);
      buf.reset();
    }
    return out;
  }
}
