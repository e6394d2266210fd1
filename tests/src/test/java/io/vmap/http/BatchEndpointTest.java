package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import io.vmap.http.api.Api;
import io.vmap.http.api.BatchRequest;
import io.vmap.http.api.BatchResponse;
import io.vmap.space.Geometry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/areas/batch} end to end (1 MiB space at 0x100000, 4 KiB pages, 64 KiB zones, 2
 * nodes): each operation gets the result the single-operation route would give, in order, and a
 * bad operation fails alone.
 */
class BatchEndpointTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static ActorSystem<Void> system;
  Vmap vmap;
  ServerBinding binding;
  String base;

  @BeforeAll
  static void startSystem() {
    system = ActorSystem.create(Behaviors.empty(), "vmap-batch-test",
        ConfigFactory.parseString("akka.logger-startup-timeout = 60s").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stopSystem() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @BeforeEach
  void startServer() throws Exception {
    vmap = Vmap.embed(system, VmapSettings.defaults().withGeometry(new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2), null));
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, Readiness.initiallyReady(), new Metrics())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  @AfterEach
  void stopServer() throws Exception {
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vmap.close();
  }

  private HttpResponse<String> post(String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/areas/batch"))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private List<BatchResponse.Result> batch(List<BatchRequest.Op> ops) throws Exception {
    HttpResponse<String> r = post(Api.write(new BatchRequest(ops)));
    assertEquals(200, r.statusCode(), r.body());
    List<BatchResponse.Result> results = Api.read(r.body(), BatchResponse.class).results();
    assertEquals(ops.size(), results.size(), r.body());
    return results;
  }

  @Test
  void eachOperationGetsItsOwnResultInOrder() throws Exception {
    // Operations of one batch are independent requests sent together: those to one node keep their
    // order (an alloc, then frees of the address on the same node), finds are answered by the
    // node's index at once, so a find looks at what earlier batches did.
    List<BatchResponse.Result> r = batch(List.of(
        BatchRequest.Op.alloc(0x2000, 0, 0),
        BatchRequest.Op.alloc(0x1000, 0, 1),
        BatchRequest.Op.free(BASE),
        BatchRequest.Op.free(BASE),
        BatchRequest.Op.free(BASE + ZONE + 0x10)));
    assertEquals(201, r.get(0).status());
    assertEquals(BASE, r.get(0).area().start());
    assertEquals(0x2000, r.get(0).area().size());
    assertEquals(201, r.get(1).status());
    assertEquals(BASE + ZONE, r.get(1).area().start());
    assertEquals(204, r.get(2).status());
    assertNull(r.get(2).area());
    assertEquals(404, r.get(3).status()); // the second free of it
    assertEquals("ENOENT", r.get(3).error());
    assertEquals(400, r.get(4).status()); // inside the second area, not its start
    assertEquals("EINVAL", r.get(4).error());
    List<BatchResponse.Result> finds = batch(List.of(
        BatchRequest.Op.find(BASE + 0x1000), BatchRequest.Op.find(BASE + ZONE + 0xfff), BatchRequest.Op.find(BASE + ZONE + 0x1000)));
    assertEquals(404, finds.get(0).status());
    assertEquals("ENOENT", finds.get(0).error());
    assertEquals(200, finds.get(1).status());
    assertEquals(BASE + ZONE, finds.get(1).area().start());
    assertEquals(1, finds.get(1).area().node());
    assertEquals(404, finds.get(2).status());
  }

  @Test
  void badOperationsFailOneByOneNamingTheirIndexAndField() throws Exception {
    HttpResponse<String> raw = post("{\"ops\":[{\"op\":\"alloc\",\"size\":4096},{\"op\":\"alloc\"},"
        + "{\"op\":\"alloc\",\"size\":4096,\"align\":3},{\"op\":\"free\"},{\"op\":\"find\",\"addr\":\"0x100000\",\"size\":1},"
        + "{\"op\":\"purge\"},{\"op\":\"alloc\",\"size\":100000000},{\"op\":\"alloc\",\"size\":4096,\"policy\":\"fail-fast\",\"node\":1}]}");
    assertEquals(200, raw.statusCode(), raw.body());
    List<BatchResponse.Result> r = Api.read(raw.body(), BatchResponse.class).results();
    assertEquals(8, r.size());
    assertEquals(201, r.get(0).status());
    assertEquals(List.of(400, 400, 400, 400, 400), List.of(r.get(1).status(), r.get(2).status(), r.get(3).status(),
        r.get(4).status(), r.get(5).status()));
    assertTrue(r.get(1).reason().startsWith("ops[1].size"), r.get(1).reason());
    assertTrue(r.get(2).reason().contains("align 3 is not a power of two"), r.get(2).reason());
    assertTrue(r.get(3).reason().startsWith("ops[3].addr"), r.get(3).reason());
    assertTrue(r.get(4).reason().startsWith("ops[4].find"), r.get(4).reason());
    assertTrue(r.get(5).reason().startsWith("ops[5].op"), r.get(5).reason());
    // More than the whole space: no state could fit it, so EINVAL (not ENOSPC); the others unaffected.
    assertEquals(400, r.get(6).status());
    assertEquals("EINVAL", r.get(6).error());
    assertTrue(r.get(6).reason().contains("does not fit in the range"), r.get(6).reason());
    assertEquals(201, r.get(7).status());
  }

  @Test
  void theWholeRequestIsRefusedOnlyWhenItIsNotABatch() throws Exception {
    assertEquals(400, post("[]").statusCode());
    assertEquals(400, post("{\"ops\":5}").statusCode());
    HttpResponse<String> missing = post("{}");
    assertEquals(400, missing.statusCode());
    assertTrue(missing.body().contains("ops: missing"), missing.body());
    List<BatchRequest.Op> tooMany = new ArrayList<>();
    for (int i = 0; i <= BatchRequest.MAX_OPS; i++) tooMany.add(BatchRequest.Op.find(BASE));
    HttpResponse<String> big = post(Api.write(new BatchRequest(tooMany)));
    assertEquals(400, big.statusCode());
    assertTrue(big.body().contains("more than vmap.limits.http.batch-ops = " + BatchRequest.MAX_OPS), big.body());
  }

  @Test
  void aBatchOfManyAllocationsAndFreesAddsUp() throws Exception {
    List<BatchRequest.Op> allocs = new ArrayList<>();
    for (int i = 0; i < 200; i++) allocs.add(BatchRequest.Op.alloc(0x1000, 0, i % 2));
    List<BatchResponse.Result> got = batch(allocs);
    List<BatchRequest.Op> frees = new ArrayList<>();
    for (BatchResponse.Result r : got) {
      assertEquals(201, r.status(), r::toString);
      frees.add(BatchRequest.Op.free(r.area().start()));
    }
    assertEquals(200, got.stream().map(r -> r.area().start()).distinct().count());
    for (BatchResponse.Result r : batch(frees)) assertEquals(204, r.status(), r::toString);
    assertEquals(0, vmap.client().info().toCompletableFuture().get(10, TimeUnit.SECONDS).busy().size());
  }

  /** Operations of a batch count in /metrics per vmap node as single requests do. */
  @Test
  void aBatchsOperationsCountPerNodeInTheMetrics() throws Exception {
    List<BatchResponse.Result> r = batch(List.of(
        BatchRequest.Op.alloc(0x1000, 0, 0),
        BatchRequest.Op.alloc(0x1000, 0, 1),
        BatchRequest.Op.alloc(0x1000, 0, 1),
        BatchRequest.Op.free(BASE),
        BatchRequest.Op.free(BASE + 0x5000))); // nothing there: ENOENT on node 0
    assertEquals(List.of(201, 201, 201, 204, 404), r.stream().map(BatchResponse.Result::status).toList());
    assertEquals(200, batch(List.of(BatchRequest.Op.find(BASE + ZONE))).get(0).status());
    java.util.Map<String, String> m = new java.util.HashMap<>();
    HttpResponse<String> scrape = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    for (String line : scrape.body().lines().toList()) {
      if (!line.startsWith("#") && line.contains(" ")) m.put(line.substring(0, line.lastIndexOf(' ')), line.substring(line.lastIndexOf(' ') + 1));
    }
    for (String[] e : new String[][] {
        {"vmap_node_requests_total{node=\"0\",op=\"alloc\"}", "1"},
        {"vmap_node_requests_total{node=\"1\",op=\"alloc\"}", "2"},
        {"vmap_node_requests_total{node=\"0\",op=\"free\"}", "2"},
        {"vmap_node_request_errors_total{node=\"0\",op=\"free\"}", "1"},
        {"vmap_node_requests_total{node=\"1\",op=\"find\"}", "1"},
        {"vmap_node_request_latency_seconds_count{node=\"0\"}", "3"},
        {"vmap_node_request_latency_seconds_count{node=\"1\"}", "3"}}) {
      assertEquals(Double.parseDouble(e[1]), Double.parseDouble(m.getOrDefault(e[0], "-1")), e[0] + " in\n" + scrape.body());
    }
  }
}
