package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.vmap.chaos.Checker;
import io.vmap.chaos.Inspector;
import io.vmap.chaos.NodeBooks;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import io.vmap.http.api.Api;
import io.vmap.http.api.BooksJson;
import io.vmap.space.Geometry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /v1/fsck} against a live embedded allocator (1 MiB at 0x100000, 64 KiB zones, 2
 * nodes): what it answers is exactly what the nodes show {@link Inspector} in process (free
 * blocks, busy, spanning and unpurged areas with their parts, held parts), and the checker finds
 * those books clean.
 */
class FsckRouteTest {

  private static final long BASE = 0x100000L;
  private static final long ZONE = 0x10000L;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static ActorSystem<Void> system;

  private Vmap vmap;
  private Readiness readiness;
  private ServerBinding binding;
  private String base;

  @BeforeAll
  static void startSystem() {
    system = ActorSystem.create(Behaviors.empty(), "vmap-fsck-test",
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
    readiness = Readiness.initiallyReady();
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, readiness, new Metrics())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  @AfterEach
  void stopServer() throws Exception {
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vmap.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static <T> T join(java.util.concurrent.CompletionStage<T> s) {
    return s.toCompletableFuture().join();
  }

  @Test
  void theBooksOverHttpAreTheNodesOwn() throws Exception {
    // A small area on each node, one spanning three zones (two nodes), and one freed (lazy).
    Allocation a = join(vmap.client().alloc(AllocOptions.size(8192).home(0).tag("a")));
    join(vmap.client().alloc(AllocOptions.size(4096).home(1).tag("b")));
    Allocation span = join(vmap.client().alloc(AllocOptions.size(2 * ZONE + 4096).home(0).tag("span")));
    join(vmap.client().free(a.start()));

    HttpResponse<String> r = get("/v1/fsck");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
    BooksJson books = Api.read(r.body(), BooksJson.class);
    assertEquals(vmap.client().geometry().toString(), books.toGeometry().toString());
    List<NodeBooks> overHttp = books.toBooks();
    List<NodeBooks> inProcess = Inspector.books(system, vmap.client());
    assertEquals(2, overHttp.size());
    for (int k = 0; k < 2; k++) {
      NodeBooks h = overHttp.get(k);
      NodeBooks p = inProcess.get(k);
      assertEquals(k, h.node());
      assertArrayEquals(p.freeStarts(), h.freeStarts(), "free blocks of node " + k);
      assertArrayEquals(p.freeEnds(), h.freeEnds(), "free blocks of node " + k);
      assertEquals(p.busy(), h.busy());
      assertEquals(p.spanning(), h.spanning());
      assertEquals(p.unpurged(), h.unpurged());
      assertEquals(p.held(), h.held());
      assertEquals(p.reservations(), h.reservations());
    }
    // What the test set up is there: the spanning area with its parts on its start owner, its middle
    // zone held by the other node, and the lazy one.
    int owner = span.node();
    assertEquals(span.area(), overHttp.get(owner).spanning().get(0).area());
    assertEquals(3, overHttp.get(owner).spanning().get(0).parts().size());
    assertEquals(span.area(), overHttp.get(1 - owner).held().get(0).area());
    assertEquals(a.area(), overHttp.get(0).unpurged().get(0).area());
    assertEquals(List.of(), Checker.fsck(books.toGeometry(), overHttp, Duration.ZERO));

    // One node only.
    HttpResponse<String> one = get("/v1/fsck?node=1");
    assertEquals(200, one.statusCode(), one.body());
    List<NodeBooks> node1 = Api.read(one.body(), BooksJson.class).toBooks();
    assertEquals(1, node1.size());
    assertEquals(1, node1.get(0).node());
    assertEquals(overHttp.get(1).held(), node1.get(0).held());
  }

  @Test
  void badNodesAndAMemberNotReadyAreErrors() throws Exception {
    HttpResponse<String> out = get("/v1/fsck?node=2");
    assertEquals(400, out.statusCode(), out.body());
    JsonNode e = JSON.readTree(out.body());
    assertEquals("EINVAL", e.get("error").asText());
    assertEquals("node: 2 is not in 0..1", e.get("reason").asText());
    HttpResponse<String> word = get("/v1/fsck?node=one");
    assertEquals(400, word.statusCode(), word.body());
    assertEquals("node: not a node number: 'one'", JSON.readTree(word.body()).get("reason").asText());

    readiness.markNotReady("recovering vmap nodes");
    HttpResponse<String> notReady = get("/v1/fsck");
    assertEquals(503, notReady.statusCode(), notReady.body());
    assertEquals("EAGAIN", JSON.readTree(notReady.body()).get("error").asText());
  }
}
