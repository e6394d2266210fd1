package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import com.fasterxml.jackson.databind.JsonNode;
import io.vmap.client.AllocOptions;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The JSON views of the operator page against a live member with known areas (16 zones of 64 KiB
 * at 0x100000 over 2 nodes: node 0 owns the even zones), checked against what the member's own
 * /v1/info says.
 */
class OperatorViewsTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;

  LiveMember m;

  @BeforeEach
  void start() throws Exception {
    m = new LiveMember("operator-views", VmapSettings.defaults().withGeometry(new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2), null));
  }

  @AfterEach
  void stop() throws Exception {
    m.close();
  }

  static String hex(long v) {
    return String.format("0x%016x", v);
  }

  /** A whole zone on node 0, and an area that can only be placed across zones 1 and 2. */
  void knownAreas() throws Exception {
    assertEquals(hex(BASE), m.alloc("{\"size\":65536,\"node\":0,\"tag\":\"full\"}"));
    assertEquals(hex(0x118000L), m.alloc("{\"size\":65536,\"vstart\":\"0x118000\",\"vend\":\"0x128000\",\"tag\":\"span\"}"));
  }

  @Test
  void theSpaceShowsOneCellPerZoneWithTheBusyZoneAndTheSpanningArea() throws Exception {
    knownAreas();
    JsonNode s = m.get("/v1/space");
    assertEquals(16, s.get("cells").asInt());
    assertEquals(1, s.get("zonesPerCell").asInt());
    JsonNode c = s.get("columns");
    assertEquals(ZONE, c.get("busy").get(0).asLong(), "zone 0 is all busy");
    assertEquals(0, c.get("free").get(0).asLong());
    assertEquals(0, c.get("node").get(0).asInt());
    assertEquals(1, c.get("node").get(1).asInt());
    assertEquals(ZONE / 2, c.get("busy").get(1).asLong());
    assertEquals(ZONE / 2, c.get("busy").get(2).asLong());
    assertEquals(hex(BASE + 3 * ZONE), c.get("start").get(3).asText());
    JsonNode span = s.get("spanning");
    assertEquals(1, span.size(), s.toPrettyString());
    assertEquals(hex(0x118000L), span.get(0).get("start").asText());
    assertEquals("[1,0]", span.get(0).get("nodes").toString());

    JsonNode four = m.get("/v1/space?cells=4");
    assertEquals(4, four.get("cells").asInt());
    assertEquals(4, four.get("zonesPerCell").asInt());
    assertTrue(four.get("columns").get("node").get(0).isNull());
    assertEquals(2 * ZONE, four.get("columns").get("busy").get(0).asLong());
  }

  @Test
  void theAreasOfAZoomedRangeHaveTheirBoundsTagTenantAndNode() throws Exception {
    knownAreas();
    // A tenant's area in zone 4, then lazily freed one of another tenant in zone 5: the books of
    // each home node name them.
    long mine = m.vmap.client("storage-a").alloc(AllocOptions.size(8192).range(0x140000L, 0x150000L).tag("buf"))
        .toCompletableFuture().get().start();
    long gone = m.vmap.client("storage-b").alloc(AllocOptions.size(4096).range(0x150000L, 0x160000L))
        .toCompletableFuture().get().start();
    m.vmap.client("storage-b").free(gone).toCompletableFuture().get();
    JsonNode a = m.get("/v1/space/areas?from=0x110000&to=0x130000");
    List<String> seen = new ArrayList<>();
    for (JsonNode x : a.get("areas")) seen.add(x.get("state").asText() + "@" + x.get("start").asText());
    assertEquals(List.of("free@" + hex(0x110000L), "busy@" + hex(0x118000L), "free@" + hex(0x128000L)), seen);
    JsonNode b = a.get("areas").get(1);
    assertEquals(hex(0x128000L), b.get("end").asText());
    assertEquals(65536, b.get("size").asLong());
    assertEquals("span", b.get("tag").asText());
    assertEquals(1, b.get("node").asInt());
    assertEquals("default", b.get("tenant").asText(), "an area of the default tenant names it");
    assertTrue(b.get("spans").asBoolean());
    assertTrue(a.get("areas").get(0).get("tenant").isNull(), "a free block has no tenant");

    JsonNode t = m.get("/v1/space/areas?from=0x140000&to=0x160000");
    List<String> tenants = new ArrayList<>();
    for (JsonNode x : t.get("areas")) {
      if (!x.get("state").asText().equals("free")) tenants.add(x.get("state").asText() + "@" + x.get("start").asText() + ":" + x.get("tenant").asText());
    }
    assertEquals(List.of("busy@" + hex(mine) + ":storage-a", "lazy@" + hex(gone) + ":storage-b"), tenants, t.toString());
  }

  @Test
  void perNodeFiguresAgreeWithInfoAndCountTheRequestsOfEachNode() throws Exception {
    knownAreas();
    String lazy = m.alloc("{\"size\":16384,\"node\":1,\"tag\":\"gone\"}");
    assertEquals(204, m.send("DELETE", "/v1/areas/" + lazy, null).status());
    assertEquals(404, m.send("GET", "/v1/areas/0x1f0000", null).status());
    JsonNode n = m.get("/v1/nodes");
    JsonNode info = m.get("/v1/info?format=json");
    long space = 0;
    for (int k = 0; k < 2; k++) {
      JsonNode v = n.get("nodes").get(k);
      JsonNode i = info.get("nodes").get(k);
      for (String f : List.of("busy", "lazy", "freeBytes", "freeBlocks", "largestFreeBlock", "reservations", "reservedBytes",
          "heldParts")) {
        assertEquals(i.get(f).asLong(), v.get(f).asLong(), "node " + k + " " + f);
      }
      long zoneBytes = v.get("zoneBytes").asLong();
      assertEquals(zoneBytes, v.get("busyBytes").asLong() + v.get("lazyBytes").asLong() + v.get("reservedBytes").asLong()
          + v.get("freeBytes").asLong(), "node " + k + " adds up");
      space += zoneBytes;
    }
    assertEquals(16 * ZONE, space);
    assertEquals(ZONE + ZONE / 2, n.get("nodes").get(0).get("busyBytes").asLong(), "the zone and node 0's part of the span");
    assertEquals(16384, n.get("nodes").get(1).get("lazyBytes").asLong());
    // Requests of this member: node 0 got the first allocation; node 1 the spanning one (it starts
    // in node 1's zone), the third, its free and the find at 0x1f0000 (a miss: an error).
    JsonNode t0 = n.get("nodes").get(0).get("traffic");
    JsonNode t1 = n.get("nodes").get(1).get("traffic");
    assertEquals(1, t0.get("total").asLong(), t0.toString());
    assertEquals(4, t1.get("total").asLong(), t1.toString());
    assertEquals(1, t1.get("errors").asLong(), t1.toString());
    assertTrue(t1.get("p99Ms").asDouble() > 0, t1.toString());
    JsonNode ops = n.get("ops");
    assertEquals("alloc", ops.get(0).get("op").asText());
    assertEquals(3, ops.get(0).get("traffic").get("total").asLong());
  }

  @Test
  void aSubscriberWithholdingItsAckIsShownAsStuckWithWhatToDo() throws Exception {
    ActorRef<PurgeProtocol.Flush> silent =
        m.system.systemActorOf(Behaviors.ignore(), "silent-cache", Props.empty());
    m.vmap.client().subscribeFlush(silent).toCompletableFuture().get();
    String a = m.alloc("{\"size\":8192}");
    assertEquals(204, m.send("DELETE", "/v1/areas/" + a, null).status());
    CompletionStage<Integer> purge = m.vmap.client().purge(); // its epoch waits for the silent subscriber
    TestProbe<Void> probe = TestProbe.create(m.system);
    JsonNode held = probe.awaitAssert(Duration.ofSeconds(30), () -> {
      JsonNode p = m.get("/v1/purge/status?stuckAfter=0");
      assertEquals(1, p.get("holders").size(), p.toString());
      return p;
    });
    JsonNode h = held.get("holders").get(0);
    assertEquals(silent.path().toString(), h.get("subscriber").asText());
    assertTrue(h.get("stuck").asBoolean());
    assertEquals(held.get("epoch").asLong(), h.get("epoch").asLong());
    assertTrue(held.get("advice").asText().contains("unsubscribeFlush"), held.toString());
    assertFalse(m.get("/v1/purge/status").get("holders").get(0).get("stuck").asBoolean(),
        "with the default grace of 5 s a fresh holder is not stuck yet");

    m.vmap.client().unsubscribeFlush(silent);
    assertEquals(1, purge.toCompletableFuture().get().intValue(), "the epoch releases the area once unsubscribed");
    JsonNode after = m.get("/v1/purge/status");
    assertEquals(0, after.get("holders").size());
    assertTrue(after.get("advice").isNull());
    assertTrue(after.get("history").size() >= 1);
  }

  @Test
  void badQueriesAreEinvalNamingTheValueAndNotReadyIsEagain() throws Exception {
    LiveMember.Resp r = m.send("GET", "/v1/space?cells=0", null);
    assertEquals(400, r.status(), r.body());
    assertEquals("EINVAL", r.json().get("error").asText());
    assertEquals("cells: 0 is not in 1..65536", r.json().get("reason").asText());
    r = m.send("GET", "/v1/space?from=0x300000", null);
    assertEquals(400, r.status(), r.body());
    assertTrue(r.json().get("reason").asText().contains("0x0000000000300000"), r.body());
    r = m.send("GET", "/v1/space/areas?limit=abc", null);
    assertEquals(400, r.status(), r.body());
    assertTrue(r.json().get("reason").asText().startsWith("limit: "), r.body());
    r = m.send("POST", "/v1/space", "{}");
    assertEquals(405, r.status(), r.body());
    m.readiness.markNotReady("joining the cluster");
    r = m.send("GET", "/v1/nodes", null);
    assertEquals(503, r.status(), r.body());
    assertEquals("EAGAIN", r.json().get("error").asText());
  }

  @Test
  void thePageAndItsAssetsComeFromTheJar() throws Exception {
    LiveMember.Resp page = m.send("GET", "/ui", null);
    assertEquals(200, page.status());
    assertTrue(page.header("Content-Type").startsWith("text/html"), page.header("Content-Type"));
    assertTrue(page.body().contains("Space map") && page.body().contains("/ui/app.js"), page.body());
    assertEquals(200, m.send("GET", "/ui/", null).status());
    LiveMember.Resp js = m.send("GET", "/ui/app.js", null);
    assertEquals(200, js.status());
    assertTrue(js.header("Content-Type").contains("javascript"), js.header("Content-Type"));
    // The page loads nothing from elsewhere: no absolute URL but the SVG namespace's name.
    String code = js.body().replace("'http://www.w3.org/2000/svg'", "") + page.body();
    assertFalse(code.contains("http://") || code.contains("https://") || code.contains("//cdn"), code);
    assertEquals(200, m.send("GET", "/ui/style.css", null).status());
    LiveMember.Resp missing = m.send("GET", "/ui/nothing.js", null);
    assertEquals(404, missing.status());
    assertEquals("ENOENT", missing.json().get("error").asText());
    assertEquals(404, m.send("GET", "/ui/..%2Flogback.xml", null).status());
  }
}
