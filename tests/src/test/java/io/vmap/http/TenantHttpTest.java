package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.vmap.actors.AuditLog;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import io.vmap.node.NodeSettings;
import io.vmap.space.Geometry;
import io.vmap.state.Quota;
import io.vmap.state.Quotas;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP API with authentication on (tokens in a file, re-read when it changes), end to end over
 * a real server: 401 without a valid token, each tenant sees and frees only its own areas (another
 * tenant's area is the same 404 as a missing one), an admin sees everything, purges and reads the
 * metrics, a tenant over its quota gets 429 EDQUOT, and info and metrics show every tenant's usage.
 *
 * <p>2 nodes, 64 KiB zones over 16 zones at 0x100000; tenant "small" may hold 2 areas.
 */
class TenantHttpTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static ActorSystem<Void> system;

  @TempDir Path dir;
  Path tokensFile;
  Vmap vmap;
  ServerBinding binding;
  String base;
  String tokenA;
  String tokenB;
  String tokenSmall;
  String tokenAdmin;

  @BeforeAll
  static void startSystem() {
    system = ActorSystem.create(Behaviors.empty(), "vmap-tenant-http-test",
        ConfigFactory.parseString("akka.logger-startup-timeout = 60s").withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stopSystem() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  static String line(String token, String tenant, String role) {
    return TokenStore.sha256Hex(token) + " " + tenant + " " + role;
  }

  @BeforeEach
  void start() throws Exception {
    tokenA = TokenStore.newToken();
    tokenB = TokenStore.newToken();
    tokenSmall = TokenStore.newToken();
    tokenAdmin = TokenStore.newToken();
    tokensFile = dir.resolve("tokens");
    Files.writeString(tokensFile, String.join("\n", "# test tokens",
        line(tokenA, "a", "tenant"), line(tokenB, "b", "tenant"), line(tokenSmall, "small", "tenant"),
        line(tokenAdmin, "ops", "admin"), ""));
    VmapSettings settings = VmapSettings.defaults()
        .withGeometry(new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2), 1000L)
        .withNode(NodeSettings.defaults().withQuotas(new Quotas(Quota.NONE, Map.of("small", new Quota(Quota.UNLIMITED, 2)))));
    vmap = Vmap.embed(system, settings);
    // Checked on every request, so a test sees a change of the file at its next request.
    TokenStore tokens = TokenStore.of(List.of(), tokensFile, Duration.ZERO);
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, Readiness.initiallyReady(), new Metrics(),
            new HttpSecurity(Authentication.bearer(tokens, "vmap"), null))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  @AfterEach
  void stop() throws Exception {
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vmap.close();
  }

  record Resp(int status, String body, HttpResponse<String> raw) {
    JsonNode json() {
      try {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }
  }

  Resp send(String token, String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) b.header("Authorization", "Bearer " + token);
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Resp(r.statusCode(), r.body(), r);
  }

  String allocOk(String token, String body) throws Exception {
    Resp r = send(token, "POST", "/v1/areas", body);
    assertEquals(201, r.status(), r.body());
    return r.json().get("start").asText();
  }

  static void assertError(Resp r, int status, String code, String reasonPart) {
    assertEquals(status, r.status(), r.body());
    assertEquals(code, r.json().get("error").asText(), r.body());
    assertTrue(r.json().get("reason").asText().contains(reasonPart), r.body());
  }

  @Test
  void withoutAValidTokenEveryApiRequestIs401() throws Exception {
    Resp none = send(null, "GET", "/v1/info", null);
    assertError(none, 401, "EACCES", "Authorization: Bearer");
    assertEquals("Bearer realm=\"vmap\"", none.raw().headers().firstValue("WWW-Authenticate").orElse(null));
    Resp bad = send("vmap_not-a-token", "POST", "/v1/areas", "{\"size\":4096}");
    assertError(bad, 401, "EACCES", "unknown or revoked");
    assertEquals("Bearer realm=\"vmap\", error=\"invalid_token\"", bad.raw().headers().firstValue("WWW-Authenticate").orElse(null));
    // Not even whether a path exists is told without a token.
    assertError(send(null, "GET", "/v1/no-such-thing", null), 401, "EACCES", "");
    assertError(send(tokenA, "GET", "/v1/no-such-thing", null), 404, "ENOENT", "no such endpoint");
    // Basic credentials are not a bearer token.
    HttpRequest basic = HttpRequest.newBuilder(URI.create(base + "/v1/info")).header("Authorization", "Basic YTpi").build();
    assertEquals(401, HTTP.send(basic, HttpResponse.BodyHandlers.ofString()).statusCode());
    assertError(send(null, "GET", "/metrics", null), 401, "EACCES", "");
    // Health probes stay open (orchestrators call them without tokens).
    assertEquals(200, send(null, "GET", "/health/ready", null).status());
    assertTrue(vmap.client().info().toCompletableFuture().get(10, TimeUnit.SECONDS).busy().isEmpty(), "nothing was allocated");
  }

  @Test
  void aTenantFreesAndFindsOnlyItsOwnAreasAndAnotherOnesIsTheSame404AsAMissingOne() throws Exception {
    String mine = allocOk(tokenA, "{\"size\":8192,\"tag\":\"a-buf\"}");
    assertEquals(200, send(tokenA, "GET", "/v1/areas/" + mine, null).status());

    Resp missing = send(tokenB, "GET", "/v1/areas/0x00000000001f0000", null);
    Resp others = send(tokenB, "GET", "/v1/areas/" + mine, null);
    assertEquals(404, others.status());
    assertEquals(missing.body().replace("0x00000000001f0000", "ADDR"), others.body().replace(mine, "ADDR"));
    Resp freeMissing = send(tokenB, "DELETE", "/v1/areas/0x00000000001f0000", null);
    Resp freeOthers = send(tokenB, "DELETE", "/v1/areas/" + mine, null);
    assertError(freeOthers, 404, "ENOENT", "no busy area contains " + mine);
    assertEquals(freeMissing.body().replace("0x00000000001f0000", "ADDR"), freeOthers.body().replace(mine, "ADDR"));

    // b's info lists none of a's areas; a's lists its own, with its tenant.
    JsonNode bInfo = send(tokenB, "GET", "/v1/info?format=json", null).json();
    assertEquals("b", bInfo.get("scope").asText());
    assertEquals(0, bInfo.get("busy").size(), bInfo.toString());
    assertEquals(0, bInfo.get("nodes").size(), bInfo.toString());
    JsonNode aInfo = send(tokenA, "GET", "/v1/info?format=json", null).json();
    assertEquals(mine, aInfo.get("busy").get(0).get("start").asText());
    assertEquals("a", aInfo.get("busy").get(0).get("tenant").asText());
    assertFalse(send(tokenB, "GET", "/v1/info", null).body().contains(mine));

    // A batch is the same rules, item by item.
    Resp batch = send(tokenB, "POST", "/v1/areas/batch", "{\"ops\":[{\"op\":\"find\",\"addr\":\"" + mine + "\"},"
        + "{\"op\":\"free\",\"addr\":\"" + mine + "\"}]}");
    assertEquals(200, batch.status(), batch.body());
    assertEquals(404, batch.json().get("results").get(0).get("status").asInt(), batch.body());
    assertEquals(404, batch.json().get("results").get(1).get("status").asInt(), batch.body());

    assertEquals(204, send(tokenA, "DELETE", "/v1/areas/" + mine, null).status());
  }

  @Test
  void anAdminSeesEverythingFreesAnyAreaPurgesAndReadsTheMetrics() throws Exception {
    String ofA = allocOk(tokenA, "{\"size\":4096}");
    allocOk(tokenB, "{\"size\":8192}");
    JsonNode all = send(tokenAdmin, "GET", "/v1/info?format=json", null).json();
    assertTrue(all.get("scope") == null || all.get("scope").isNull(), all.toString());
    assertEquals(2, all.get("busy").size(), all.toString());
    assertEquals(2, all.get("nodes").size(), all.toString());
    assertEquals(200, send(tokenAdmin, "GET", "/v1/areas/" + ofA, null).status());

    // A tenant may not purge nor read the metrics.
    assertError(send(tokenA, "POST", "/v1/purge", null), 403, "EPERM", "needs the admin role");
    assertError(send(tokenA, "GET", "/metrics", null), 403, "EPERM", "needs the admin role");

    try (AuditLog audit = AuditLog.capture()) {
      assertEquals(204, send(tokenAdmin, "DELETE", "/v1/areas/" + ofA, null).status());
      assertEquals(1, audit.lines().size(), audit.lines()::toString);
      String freed = audit.lines().get(0);
      assertTrue(freed.startsWith("admin ops freed area " + ofA + "-"), freed);
      assertTrue(freed.contains(" of tenant a "), freed);
      assertEquals(404, send(tokenA, "GET", "/v1/areas/" + ofA, null).status());
      // A tenant freeing its own area is no admin action: nothing more is logged.
      String ofB = allocOk(tokenB, "{\"size\":4096}");
      assertEquals(204, send(tokenB, "DELETE", "/v1/areas/" + ofB, null).status());
      assertEquals(List.of(freed), audit.lines());
      Resp purged = send(tokenAdmin, "POST", "/v1/purge", null);
      assertEquals(200, purged.status(), purged.body());
      assertEquals(2, purged.json().get("released").asInt());
      assertEquals(List.of(freed, "admin ops asked for a synchronous purge"), audit.lines());
    }

    Resp metrics = send(tokenAdmin, "GET", "/metrics", null);
    assertEquals(200, metrics.status());
    Map<String, Double> s = VmapHttpServerTest.samples(metrics.body());
    assertEquals(8192.0, s.get("vmap_tenant_bytes{state=\"live\",tenant=\"b\"}"), metrics.body());
    assertEquals(1.0, s.get("vmap_tenant_areas{state=\"live\",tenant=\"b\"}"), metrics.body());
    assertEquals(2.0, s.get("vmap_tenant_quota_areas{tenant=\"small\"}"), metrics.body());
    assertNull(s.get("vmap_tenant_quota_bytes{tenant=\"small\"}"), "no byte limit: no sample");
    assertEquals(2.0, s.get("vmap_http_responses_total{code=\"403\"}"), metrics.body());
  }

  @Test
  void overItsQuotaATenantGets429EdquotAndItsUsageIsInInfoAndMetrics() throws Exception {
    allocOk(tokenSmall, "{\"size\":4096,\"node\":0}");
    String second = allocOk(tokenSmall, "{\"size\":4096,\"node\":1}");
    Resp over = send(tokenSmall, "POST", "/v1/areas", "{\"size\":4096}");
    assertError(over, 429, "EDQUOT", "tenant small is over its quota (max-bytes unlimited, max-areas 2)");
    // Another tenant is not limited by it.
    allocOk(tokenA, "{\"size\":4096}");
    JsonNode info = send(tokenSmall, "GET", "/v1/info?format=json", null).json();
    JsonNode row = info.get("tenants").get(0);
    assertEquals("small", row.get("tenant").asText());
    assertEquals(2, row.get("areas").asLong());
    assertEquals(2, row.get("maxAreas").asLong());
    assertTrue(row.get("maxBytes").isNull(), row.toString());
    // Freed lazily it still counts, until the synchronous purge the next allocation waits for.
    assertEquals(204, send(tokenSmall, "DELETE", "/v1/areas/" + second, null).status());
    assertEquals(201, send(tokenSmall, "POST", "/v1/areas", "{\"size\":4096}").status());
    Map<String, Double> s = VmapHttpServerTest.samples(send(tokenAdmin, "GET", "/metrics", null).body());
    assertEquals(1.0, s.get("vmap_ops_total{op=\"alloc\",result=\"EDQUOT\"}"));
    assertEquals(2.0, s.get("vmap_tenant_areas{state=\"live\",tenant=\"small\"}"));
  }

  @Test
  void tenantsListsEveryTenantsUsageAndQuotaForAnAdminAndOnlyItsOwnRowForATenant() throws Exception {
    allocOk(tokenA, "{\"size\":8192,\"node\":0}");
    String freed = allocOk(tokenA, "{\"size\":4096,\"node\":1}");
    assertEquals(204, send(tokenA, "DELETE", "/v1/areas/" + freed, null).status());
    allocOk(tokenB, "{\"size\":4096}");

    JsonNode all = send(tokenAdmin, "GET", "/v1/tenants", null).json().get("tenants");
    List<String> names = new java.util.ArrayList<>();
    all.forEach(t -> names.add(t.get("tenant").asText()));
    // "small" holds nothing but has a quota of its own: the dashboard shows it too.
    assertEquals(List.of("a", "b", "small"), names, all.toString());
    JsonNode a = all.get(0);
    assertEquals(1, a.get("liveAreas").asLong(), a.toString());
    assertEquals(8192, a.get("liveBytes").asLong(), a.toString());
    assertEquals(1, a.get("lazyAreas").asLong(), "lazily freed, still counted: " + a);
    assertEquals(12288, a.get("bytes").asLong(), a.toString());
    assertTrue(a.get("maxAreas").isNull(), a.toString());
    assertEquals(2, all.get(2).get("maxAreas").asLong(), all.get(2).toString());
    assertEquals(0, all.get(2).get("areas").asLong(), all.get(2).toString());

    // The same numbers as the info rows.
    assertEquals(send(tokenAdmin, "GET", "/v1/info?format=json", null).json().get("tenants"), all);

    JsonNode own = send(tokenB, "GET", "/v1/tenants", null).json().get("tenants");
    assertEquals(1, own.size(), own.toString());
    assertEquals("b", own.get(0).get("tenant").asText());
    assertEquals(1, own.get(0).get("liveAreas").asLong());
    // A tenant holding nothing gets its own empty row, not an empty list.
    String newcomer = TokenStore.newToken();
    Files.writeString(tokensFile, Files.readString(tokensFile) + line(newcomer, "c", "tenant") + "\n");
    JsonNode none = send(newcomer, "GET", "/v1/tenants", null).json().get("tenants");
    assertEquals(1, none.size(), none.toString());
    assertEquals("c", none.get(0).get("tenant").asText());
    assertEquals(0, none.get(0).get("areas").asLong());
    assertEquals(401, send(null, "GET", "/v1/tenants", null).status());
  }

  @Test
  void theOperatorViewsShowEveryTenantsAreasSoTheyAnswerAnAdminOnly() throws Exception {
    allocOk(tokenA, "{\"size\":4096}");
    // And every node's books (vmap check --url): node 0's, to keep the answer small.
    for (String path : List.of("/v1/space", "/v1/space/areas", "/v1/nodes", "/v1/purge/status", "/v1/fsck?node=0")) {
      assertError(send(tokenA, "GET", path, null), 403, "EPERM", "admin");
      assertEquals(401, send(null, "GET", path, null).status(), path);
      assertEquals(200, send(tokenAdmin, "GET", path, null).status(), path);
    }
    // The API's description and the page itself hold no data: any caller with a token, and the page for all.
    assertEquals(200, send(tokenA, "GET", "/v1/openapi.json", null).status());
    assertEquals(200, send(null, "GET", "/ui", null).status());
  }

  @Test
  void theTokenFileIsReadAgainWhenItChangesAndABrokenEditIsIgnored() throws Exception {
    String newcomer = TokenStore.newToken();
    assertEquals(401, send(newcomer, "GET", "/v1/info", null).status());
    Files.writeString(tokensFile, line(newcomer, "c", "tenant") + "\n" + line(tokenA, "a", "tenant") + "\n");
    assertEquals(200, send(newcomer, "GET", "/v1/info", null).status(), "added without a restart");
    assertEquals(401, send(tokenB, "GET", "/v1/info", null).status(), "b's line is gone: revoked");
    assertEquals("c", send(newcomer, "GET", "/v1/info?format=json", null).json().get("scope").asText());

    // A half-written edit: the tokens loaded before stay.
    Files.writeString(tokensFile, line(tokenB, "b", "tenant") + "\nthis line is not a token\n");
    assertEquals(200, send(newcomer, "GET", "/v1/info", null).status());
    assertEquals(401, send(tokenB, "GET", "/v1/info", null).status());
  }
}
