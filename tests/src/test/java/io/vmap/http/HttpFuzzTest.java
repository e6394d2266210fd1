package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.Vmap;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.http.api.Api;
import io.vmap.state.Principal;
import io.vmap.space.Geometry;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded random requests against a real server over an embedded allocator: random JSON values in
 * every field of allocs and batch operations, random and malformed addresses, random values in the
 * views' parameters (/v1/space, /v1/nodes, /v1/purge/status, /ui), random paths and methods, truncated and oversized bodies, wrong content types, request ids in the body, the query
 * and the header. Every answer must come within a bound (no hang), never be a 5xx other than 503,
 * 504 or 507 with their codes, and every error must be the JSON error shape with the code its
 * status says. Afterwards the member is ready, its accounting is whole (free + busy + lazy +
 * reserved = space), the areas it holds are exactly those the fuzzer was told it allocated and did
 * not free, each findable, and freeing them all and purging gives the whole space back.
 *
 * <p>The second case runs the same requests with bearer authentication on, each as tenant a,
 * tenant b, an admin, or with a missing or bad Authorization header: without a valid token every
 * /v1 request is 401, a tenant's request for an admin's route is 403, a tenant never frees
 * another's area (and gets 404 finding one), and afterwards each tenant's /v1/tenants row counts
 * exactly the areas the fuzzer holds for it.
 *
 * <p>Bounded for the normal suite; a longer run: {@code -Dvmap.fuzz.http.cases=20000
 * -Dvmap.fuzz.seed=N} (README "Bad input").
 */
final class HttpFuzzTest {

  private static final int CASES = Integer.getInteger("vmap.fuzz.http.cases", 400);
  private static final long SEED = Long.getLong("vmap.fuzz.seed", 0x5eed);
  /** A request taking longer than this is a hang (the server's own timeout is ask-timeout + 5 s). */
  private static final Duration PER_REQUEST = Duration.ofSeconds(60);
  /** Bodies longer than this (vmap.limits.http.body-bytes) may get the connection closed early. */
  private static final int OVERSIZED = 64 * 1024;
  /** The status of an answer the client lost to an early close (see {@link #send}). */
  private static final int CLOSED = -1;

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static final long END = BASE + 16 * ZONE;
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private static ActorSystem<Void> system;
  private static Vmap vmap;
  private static ServerBinding binding;
  private static String base;

  private final SplittableRandom rnd = new SplittableRandom(SEED);
  /** An area the fuzzer holds: whose and how large. */
  record Held(String tenant, long size) {}
  /**
   * The areas the fuzzer was answered 201 for and not yet a free for, by start. Request ids are
   * never reused by two different requests (a reused id returns its first answer, by design, so
   * the model would have to know every node's table); a retry is sent on purpose, and checked.
   */
  private final TreeMap<Long, Held> live = new TreeMap<>(Long::compareUnsigned);
  /** The server this test fuzzes and its allocator. */
  private String url;
  private Vmap target;
  /** With authentication on: each principal's token (none for the plain server, where every request is SYSTEM). */
  private final Map<Principal, String> tokens = new LinkedHashMap<>();
  private Principal admin = Principal.SYSTEM;
  /** A well-formed token nobody has. */
  private String unknownToken;
  private long nextId;
  private int allocs;
  private int frees;
  private int retries;
  /** Requests of a tenant for another tenant's area (answered as if there were none). */
  private int othersAreas;
  private final Map<String, Integer> statuses = new TreeMap<>();

  @BeforeAll
  static void start() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "vmap-http-fuzz",
        ConfigFactory.parseString("akka.logger-startup-timeout = 60s").withFallback(ConfigFactory.load()));
    vmap = Vmap.embed(system, VmapSettings.defaults().withGeometry(new Geometry(BASE, END, 4096, ZONE, 2), null));
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, HealthProbe.always())
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  @AfterAll
  static void stop() throws Exception {
    binding.unbind().toCompletableFuture().get(30, TimeUnit.SECONDS);
    vmap.close();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** Requests of the authenticated case: the same generator, fewer requests (a few seconds). */
  private static final int AUTH_CASES = Integer.getInteger("vmap.fuzz.http.auth-cases", 300);

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES) // per request PER_REQUEST; the whole run is bounded too
  void randomRequestsGetCleanAnswersAndTheMemberStaysWhole() throws Exception {
    url = base;
    target = vmap;
    fuzz(CASES, "http fuzz");

    // The member is healthy and its books are whole.
    assertEquals(200, send(new Case("GET", "/health/ready", null, null, List.of()), -1).status);
    VmapInfo info = target.client().info().toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertTrue(info.accountsForSpace(), info::render);
    Set<Long> expected = live.keySet();
    Set<Long> busy = new TreeSet<>(Long::compareUnsigned);
    info.busy().forEach(b -> busy.add(b.area().start()));
    assertEquals(expected, busy, "the areas the fuzzer holds are exactly those the member holds");
    for (long s : busy) {
      Answer found = send(new Case("GET", "/v1/areas/" + hex(s), null, null, List.of()), -1);
      assertEquals(200, found.status, found.body);
      assertEquals(hex(s), found.json().get("start").asText());
    }
    for (long s : busy) {
      Answer del = send(new Case("DELETE", "/v1/areas/" + hex(s), null, null, List.of()), -1);
      assertEquals(204, del.status, del.body);
    }
    assertEquals(200, send(new Case("POST", "/v1/purge", null, null, List.of()), -1).status);
    VmapInfo after = target.client().info().toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertTrue(after.busy().isEmpty() && after.lazy().isEmpty(), after::render);
    assertEquals(END - BASE, after.freeBytes(), after::render);
    Answer ok = send(new Case("POST", "/v1/areas", "{\"size\":4096}", "application/json", List.of()), -1);
    assertEquals(201, ok.status, ok.body);
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void withBearerAuthenticationEachCallerGetsOnlyWhatItMayAndEachTenantsRowMatches() throws Exception {
    Principal a = Principal.tenant("a");
    Principal b = Principal.tenant("b");
    admin = Principal.admin("ops");
    List<TokenStore.Entry> entries = new ArrayList<>();
    for (Principal p : List.of(a, b, admin)) {
      tokens.put(p, TokenStore.newToken());
      entries.add(new TokenStore.Entry(TokenStore.sha256Hex(tokens.get(p)), p));
    }
    unknownToken = TokenStore.newToken();
    ActorSystem<Void> authSystem = ActorSystem.create(Behaviors.empty(), "vmap-http-fuzz-auth",
        ConfigFactory.parseString("akka.logger-startup-timeout = 60s").withFallback(ConfigFactory.load()));
    Vmap authVmap = Vmap.embed(authSystem, VmapSettings.defaults().withGeometry(new Geometry(BASE, END, 4096, ZONE, 2), null));
    ServerBinding authBinding = VmapHttpServer.start(authSystem, authVmap.client(), "127.0.0.1", 0, HealthProbe.always(),
            new Metrics(), new HttpSecurity(Authentication.bearer(TokenStore.of(entries, null, Duration.ZERO), "vmap"), null))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    try {
      url = "http://127.0.0.1:" + authBinding.localAddress().getPort();
      target = authVmap;
      fuzz(AUTH_CASES, "http fuzz with authentication");

      assertEquals(200, send(new Case("GET", "/health/ready", null, null, List.of(), null), -1).status);
      VmapInfo info = target.client().info().toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertTrue(info.accountsForSpace(), info::render);
      Map<Long, String> owners = new TreeMap<>(Long::compareUnsigned);
      info.busy().forEach(x -> owners.put(x.area().start(), x.tenant()));
      Map<Long, String> expected = new TreeMap<>(Long::compareUnsigned);
      live.forEach((start, held) -> expected.put(start, held.tenant()));
      assertEquals(expected, owners, "the areas the fuzzer holds, and whose they are, are the member's");
      assertTrue(expected.containsValue("a") && expected.containsValue("b"), () -> "both tenants hold areas: " + expected);

      assertTenantRows(false);
      assertEquals(200, send(as(admin, "POST", "/v1/purge", null), -1).status);
      assertTenantRows(true);

      // Each finds its own areas; the other tenant gets the 404 of a missing one. Then each frees its own.
      for (Map.Entry<Long, Held> e : live.entrySet()) {
        Principal owner = principalOf(e.getValue().tenant());
        for (Principal p : List.of(a, b)) {
          Answer found = send(as(p, "GET", "/v1/areas/" + hex(e.getKey()), null), -1);
          assertEquals(p.sees(owner.tenant()) ? 200 : 404, found.status, p + " finding " + e + ": " + found.body);
        }
      }
      for (Map.Entry<Long, Held> e : live.entrySet()) {
        Answer del = send(as(principalOf(e.getValue().tenant()), "DELETE", "/v1/areas/" + hex(e.getKey()), null), -1);
        assertEquals(204, del.status, del.body);
      }
      assertEquals(200, send(as(admin, "POST", "/v1/purge", null), -1).status);
      VmapInfo after = target.client().info().toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertTrue(after.busy().isEmpty() && after.lazy().isEmpty(), after::render);
      assertEquals(END - BASE, after.freeBytes(), after::render);
    } finally {
      authBinding.unbind().toCompletableFuture().get(30, TimeUnit.SECONDS);
      authVmap.close();
      authSystem.terminate();
      authSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** {@code cases} random requests, each checked and tracked, some retried. */
  private void fuzz(int cases, String what) throws Exception {
    for (int i = 0; i < cases; i++) {
      Case c = nextCase();
      Answer a = send(c, i);
      check(c, a, i);
      track(c, a);
      if (carriesRequestId(c) && rnd.nextInt(4) == 0 && a.status != CLOSED) {
        // The same request again (a client retrying): the first answer, not a second effect.
        Answer again = send(c, i);
        check(c, again, i);
        retries++;
        if (java.util.stream.IntStream.of(a.status, again.status).noneMatch(st -> st == 503 || st == 504 || st == CLOSED)) {
          assertEquals(a.status, again.status, () -> "retry of " + c + ": " + a.body + " then " + again.body);
          if (a.status == 201) assertEquals(a.json().get("start"), again.json().get("start"), c::toString);
        }
      }
    }
    System.out.printf("%s: seed %#x, %d requests and %d retries, statuses %s, %d allocations, %d frees%s%n",
        what, SEED, cases, retries, statuses, allocs, frees,
        tokens.isEmpty() ? "" : ", " + othersAreas + " finds and frees of another tenant's area");
  }

  /**
   * Every caller's /v1/tenants: a tenant's is its own row alone, an admin's has every tenant's; each
   * row counts the areas the fuzzer holds for its tenant (after a purge: nothing lazily freed).
   */
  private void assertTenantRows(boolean purged) throws Exception {
    for (Principal p : tokens.keySet()) {
      Answer r = send(as(p, "GET", "/v1/tenants", null), -1);
      assertEquals(200, r.status, r.body);
      JsonNode rows = r.json().get("tenants");
      if (!p.admin()) {
        assertEquals(1, rows.size(), r.body);
        assertEquals(p.tenant(), rows.get(0).get("tenant").asText(), r.body);
      }
      for (JsonNode row : rows) {
        String t = row.get("tenant").asText();
        long n = live.values().stream().filter(h -> h.tenant().equals(t)).count();
        long bytes = live.values().stream().filter(h -> h.tenant().equals(t)).mapToLong(Held::size).sum();
        String what = p + " sees " + row + (purged ? " after a purge" : "");
        assertEquals(n, row.get("liveAreas").asLong(), what);
        assertEquals(bytes, row.get("liveBytes").asLong(), what);
        if (purged) {
          assertEquals(0, row.get("lazyAreas").asLong(), what);
          assertEquals(n, row.get("areas").asLong(), what);
          assertEquals(bytes, row.get("bytes").asLong(), what);
        }
      }
      if (p.admin()) {
        for (Held h : live.values()) {
          assertTrue(java.util.stream.StreamSupport.stream(rows.spliterator(), false)
              .anyMatch(row -> row.get("tenant").asText().equals(h.tenant())), () -> "a row for " + h + ": " + rows);
        }
      }
    }
  }

  private Principal principalOf(String tenant) {
    return tokens.keySet().stream().filter(p -> p.tenant().equals(tenant)).findFirst()
        .orElseThrow(() -> new AssertionError("no principal for tenant " + tenant));
  }

  // ------------------------------------------------------------------ one request

  /**
   * One request, made by {@code who}: the principal whose token is in its headers, null if it has
   * none or a bad one, {@link Principal#SYSTEM} on the server without authentication.
   */
  record Case(String method, String path, String body, String contentType, List<String> headers, Principal who) {
    Case(String method, String path, String body, String contentType, List<String> headers) {
      this(method, path, body, contentType, headers, Principal.SYSTEM);
    }

    @Override
    public String toString() {
      String b = body == null ? "" : body.length() > 300 ? body.substring(0, 300) + "...(" + body.length() + ")" : body;
      return method + " " + path + " " + headers + " " + contentType + " " + b + " as " + who;
    }
  }

  /** A request as {@code who}, with its token if the server authenticates. */
  private Case as(Principal who, String method, String path, String body) {
    String token = tokens.get(who);
    return new Case(method, path, body, body == null ? null : "application/json",
        token == null ? List.of() : List.of("Authorization", "Bearer " + token), who);
  }

  record Answer(int status, String body, String contentType) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }
  }

  private Answer send(Case c, int i) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + c.path())).timeout(PER_REQUEST);
    b.method(c.method(), c.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(c.body()));
    if (c.contentType() != null) b.header("Content-Type", c.contentType());
    for (int h = 0; h < c.headers().size(); h += 2) b.header(c.headers().get(h), c.headers().get(h + 1));
    try {
      HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
    } catch (HttpTimeoutException e) {
      throw new AssertionError("case " + i + ": no answer within " + PER_REQUEST + " (a hang): " + c, e);
    } catch (java.io.IOException e) {
      // Akka HTTP answers a request whose body it does not read (a DELETE's, or one over the size
      // limit) at once and closes the connection; the JDK client, still sending the rest, may
      // lose the answer (a broken pipe). Only for bodies larger than a socket takes in one go.
      if (c.body() != null && c.body().length() > OVERSIZED) return new Answer(CLOSED, e.toString(), "");
      throw new AssertionError("case " + i + ": " + e + ": " + c, e);
    }
  }

  private void check(Case c, Answer a, int i) {
    statuses.merge(a.status == CLOSED ? "closed early" : a.status / 100 + "xx " + a.status, 1, Integer::sum);
    if (a.status == CLOSED) return;
    String what = "case " + i + " (seed " + Long.toHexString(SEED) + "): " + c + " -> " + a.status + " " + a.body;
    if (a.status >= 500 && a.status != 503 && a.status != 504 && a.status != 507) fail("a 5xx: " + what);
    if (!tokens.isEmpty()) checkAuthorization(c, a, what);
    if (a.status < 400 || c.method().equals("HEAD")) return;
    assertTrue(a.contentType.startsWith("application/json"), "error not JSON: " + what);
    JsonNode j = a.json();
    assertTrue(j.isObject() && j.has("error") && j.has("reason"), "not the error shape: " + what);
    String code = j.get("error").asText();
    String expected = switch (a.status) {
      case 401 -> "EACCES";
      case 403 -> "EPERM";
      case 503 -> "EAGAIN";
      case 504 -> "ETIMEDOUT";
      case 507 -> "ENOSPC";
      case 404 -> "ENOENT";
      default -> "EINVAL";
    };
    assertEquals(expected, code, what);
  }

  /** Operator routes: an admin's only (403 EPERM for a tenant). */
  private static final Set<String> ADMIN_GETS = Set.of("/metrics", "/v1/space", "/v1/space/areas", "/v1/nodes",
      "/v1/purge/status", "/v1/fsck");

  /**
   * With authentication on: no valid token, no /v1 answer but 401 (not even a 404); a valid one is
   * never 401; a tenant gets 403 from an admin's route and the 404 of a missing area for another
   * tenant's (a free of one would fail in {@link #freed}).
   */
  private void checkAuthorization(Case c, Answer a, String what) {
    String path = rawPath(c.path());
    String m = c.method();
    boolean get = m.equals("GET"); // HEAD is 405 here: Akka HTTP's transparent-head-requests is off by default
    // Dot segments might be resolved by either side: no claim about which route such a path reaches.
    boolean plain = !path.contains("..") && !path.toLowerCase(java.util.Locale.ROOT).contains("%2e");
    if (c.who() == null) {
      if (plain && (path.equals("/v1") || path.startsWith("/v1/") || (get && path.equals("/metrics")))) {
        assertEquals(401, a.status, "no valid token: " + what);
      }
      return;
    }
    assertNotEquals(401, a.status, "a valid token: " + what);
    if (c.who().admin()) return;
    if ((get && ADMIN_GETS.contains(path)) || (m.equals("POST") && path.equals("/v1/purge"))) {
      assertEquals(403, a.status, "a tenant on an admin's route: " + what);
    }
    if (m.equals("GET") && path.startsWith("/v1/areas/")) {
      Held h = covering(path.substring("/v1/areas/".length()));
      if (h != null && !h.tenant().equals(c.who().tenant())) {
        othersAreas++;
        assertEquals(404, a.status, "another tenant's area: " + what);
      }
    }
    if (m.equals("DELETE") && path.startsWith("/v1/areas/")) {
      Held h = covering(path.substring("/v1/areas/".length()));
      // A 204 would fail in freed(); counted here.
      if (h != null && !h.tenant().equals(c.who().tenant())) othersAreas++;
    }
  }

  /** The path of {@code pathAndQuery}, still encoded. */
  private static String rawPath(String pathAndQuery) {
    int q = pathAndQuery.indexOf('?');
    return q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
  }

  /** The held area containing the address {@code segment} names, or null (also if it names none). */
  private Held covering(String segment) {
    long addr;
    try {
      addr = Api.pathAddress(java.net.URLDecoder.decode(segment, StandardCharsets.UTF_8));
    } catch (RuntimeException notAnAddress) {
      return null;
    }
    Map.Entry<Long, Held> e = live.floorEntry(addr);
    return e != null && Long.compareUnsigned(addr - e.getKey(), e.getValue().size()) < 0 ? e.getValue() : null;
  }

  /**
   * Whether the route reads a fresh request id from where {@code c} puts one, so that sending it
   * again is a retry: the body of an alloc, the query or header of a free. (Not a request id in a
   * body a DELETE ignores: sent again, that is a second free, rightly 404.)
   */
  private static boolean carriesRequestId(Case c) {
    boolean header = c.headers().contains("Idempotency-Key")
        && c.headers().get(c.headers().indexOf("Idempotency-Key") + 1).startsWith("r-id-");
    if (c.method().equals("POST") && (c.path().equals("/v1/areas") || c.path().startsWith("/v1/areas?"))) {
      return header || (c.body() != null && c.body().contains("\"requestId\":\"r-id-"));
    }
    if (c.method().equals("DELETE") && c.path().startsWith("/v1/areas/")) {
      return header || c.path().contains("?requestId=r-id-");
    }
    return false;
  }

  /** Records what the fuzzer was told it allocated and freed. */
  private void track(Case c, Answer a) throws Exception {
    if (a.status == CLOSED) {
      // An alloc or a batch with such a body is refused (413) unread; a DELETE may have freed.
      if (c.method().equals("DELETE") && c.path().startsWith("/v1/areas/")) {
        String addr = URI.create(c.path()).getPath().substring("/v1/areas/".length());
        long start;
        try {
          start = Api.pathAddress(addr);
        } catch (RuntimeException notAnAddress) {
          return;
        }
        if (live.containsKey(start)) {
          Answer found = send(as(admin, "GET", "/v1/areas/" + hex(start), null), -1);
          if (found.status == 404) freed(hex(start), c.who());
        }
      }
      return;
    }
    if (c.method().equals("POST") && c.path().startsWith("/v1/areas") && a.status == 201) {
      allocated(a.json(), c.who());
    }
    if (c.method().equals("DELETE") && c.path().startsWith("/v1/areas/") && a.status == 204) {
      freed(URI.create(c.path()).getPath().substring("/v1/areas/".length()), c.who());
    }
    if (c.method().equals("POST") && c.path().startsWith("/v1/areas/batch") && a.status == 200) {
      JsonNode ops = parse(c.body()).get("ops");
      JsonNode results = a.json().get("results");
      assertEquals(ops.size(), results.size(), c::toString);
      for (int k = 0; k < results.size(); k++) {
        int s = results.get(k).get("status").asInt();
        if (s == 201) allocated(results.get(k).get("area"), c.who());
        if (s == 204) freed(ops.get(k).get("addr").asText(), c.who());
      }
    }
  }

  /** {@code area} (its JSON) was allocated for {@code who}'s tenant. */
  private void allocated(JsonNode area, Principal who) {
    allocs++;
    String start = area.get("start").asText();
    assertTrue(who != null, () -> start + " allocated without a valid token");
    Held before = live.put(Api.pathAddress(start), new Held(who.tenant(), area.get("size").asLong()));
    assertTrue(before == null, () -> start + " allocated while the fuzzer holds it for " + before);
  }

  /** {@code who} was answered that it freed {@code addr}: an area it held, of a tenant it may see. */
  private void freed(String addr, Principal who) {
    frees++;
    Held h = live.remove(Api.pathAddress(addr));
    assertTrue(h != null, () -> addr + " freed but the fuzzer did not hold it");
    assertTrue(who != null && who.sees(h.tenant()), () -> addr + ", an area of " + h.tenant() + ", freed by " + who);
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (Exception e) {
      throw new AssertionError(body, e);
    }
  }

  // ------------------------------------------------------------------ generating requests

  /** The next request, made by a random caller when the server authenticates. */
  private Case nextCase() {
    if (tokens.isEmpty()) return nextRequest();
    // Well-formed requests too, so that tenants hold areas and meet each other's.
    Case c = rnd.nextInt(3) == 0 ? wellFormed() : nextRequest();
    List<String> headers = new ArrayList<>(c.headers());
    int k = rnd.nextInt(20);
    List<Principal> callers = new ArrayList<>(tokens.keySet()); // a, b, the admin
    Principal who = k < 7 ? callers.get(0) : k < 14 ? callers.get(1) : k < 17 ? callers.get(2) : null;
    String header;
    if (who != null) {
      header = "Bearer " + tokens.get(who);
    } else {
      String tokenOfA = tokens.get(callers.get(0));
      // Missing, unknown, revoked-looking, mangled, another scheme, the stored hash instead of the token, junk.
      header = pick(null, "Bearer " + unknownToken, "Bearer", "Bearer " + tokenOfA + "x", "Bearer " + tokenOfA.substring(1),
          tokenOfA, "Basic YTpi", "Token " + tokenOfA, "Bearer " + TokenStore.sha256Hex(tokenOfA), headerSafe(junkText()));
    }
    if (header != null) headers.addAll(List.of("Authorization", header));
    return new Case(c.method(), c.path(), c.body(), c.contentType(), headers, who);
  }

  /** An allocation, or a find or free of a held area (anyone's) or of an address inside one. */
  private Case wellFormed() {
    List<Long> held = new ArrayList<>(live.keySet());
    int k = rnd.nextInt(held.isEmpty() ? 1 : 4);
    if (k == 0) {
      return new Case("POST", "/v1/areas", "{\"size\":" + 4096 * rnd.nextInt(1, 5) + "}", "application/json", List.of());
    }
    long start = held.get(rnd.nextInt(held.size()));
    String addr = hex(rnd.nextInt(4) == 0 ? start + 4096 : start);
    if (k == 3) {
      String op = pick("find", "free");
      return new Case("POST", "/v1/areas/batch", "{\"ops\":[{\"op\":\"" + op + "\",\"addr\":\"" + addr + "\"},"
          + "{\"op\":\"alloc\",\"size\":4096}]}", "application/json", List.of());
    }
    return new Case(k == 1 ? "GET" : "DELETE", "/v1/areas/" + addr, null, null, List.of());
  }

  private Case nextRequest() {
    int kind = rnd.nextInt(100);
    List<String> headers = new ArrayList<>();
    if (kind < 30) {
      if (rnd.nextInt(8) == 0) headers.addAll(List.of("Idempotency-Key", headerSafe(requestIdText())));
      return new Case(method("POST"), "/v1/areas" + query(), allocBody(), contentType(), headers);
    }
    if (kind < 45) return new Case(method("POST"), "/v1/areas/batch" + query(), batchBody(), contentType(), headers);
    if (kind < 70) {
      String m = rnd.nextBoolean() ? "GET" : "DELETE";
      if (m.equals("DELETE") && rnd.nextInt(6) == 0) headers.addAll(List.of("Idempotency-Key", headerSafe(requestIdText())));
      String q = m.equals("DELETE") && rnd.nextInt(4) == 0 ? "?requestId=" + enc(requestIdText()) : query();
      return new Case(method(m), "/v1/areas/" + enc(addressText()) + q, maybeBody(), contentType(), headers);
    }
    if (kind < 75) {
      String q = pick("", "?format=json", "?format=text", "?format=" + enc(junkText()), "?format=");
      if (rnd.nextBoolean()) headers.addAll(List.of("Accept", pick("application/json", "text/plain", "*/*", junkText())));
      return new Case(method("GET"), "/v1/info" + q, maybeBody(), contentType(), headers);
    }
    if (kind < 78) return new Case(method("POST"), "/v1/purge" + query(), maybeBody(), contentType(), headers);
    if (kind < 83) return new Case(method("GET"), pick("/health/alive", "/health/ready", "/metrics"), null, null, headers);
    if (kind < 90) return new Case(method("GET"), viewPath(), maybeBody(), contentType(), headers);
    // Anywhere else, any method.
    return new Case(pick("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"), junkPath(), maybeBody(), contentType(), headers);
  }

  /** Mostly the route's method, sometimes another (405). */
  private String method(String usual) {
    return rnd.nextInt(10) == 0 ? pick("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD") : usual;
  }

  private String contentType() {
    return pick("application/json", "application/json", "application/json", "text/plain", "application/xml",
        "application/json; charset=latin1", "multipart/form-data", null);
  }

  private String query() {
    return rnd.nextInt(6) == 0 ? "?" + enc(junkText()) + "=" + enc(junkText()) : "";
  }

  private String maybeBody() {
    return rnd.nextInt(4) == 0 ? allocBody() : null;
  }

  private String allocBody() {
    int form = rnd.nextInt(20);
    if (form == 0) return "";
    if (form == 1) return junkText();
    if (form == 2) return truncated(allocObject());
    if (form == 3) return "{\"size\":4096,\"tag\":\"" + "x".repeat(70_000) + "\"}"; // over 64 KiB: 413
    if (form == 4) return pick("[]", "null", "42", "\"x\"", "{", "}", "{}{}", "{\"size\":4096}{", "{\"size\":4096,\"size\":8192}");
    return allocObject();
  }

  private String allocObject() {
    StringBuilder o = new StringBuilder("{");
    // Mostly a reasonable size, so that some allocations succeed and there is state to break.
    String size = rnd.nextInt(3) == 0 ? value(0) : Long.toString(4096L * (1 + rnd.nextInt(16)));
    List<String> fields = new ArrayList<>();
    if (rnd.nextInt(10) != 0) fields.add("\"size\":" + size);
    for (String f : new String[] {"align", "vstart", "vend", "tag", "policy", "requestId", "node", "bogus", "addr", "op"}) {
      if (rnd.nextInt(5) == 0) fields.add("\"" + f + "\":" + fieldValue(f));
    }
    o.append(String.join(",", fields)).append('}');
    return o.toString();
  }

  private String batchBody() {
    int form = rnd.nextInt(12);
    if (form == 0) return junkText();
    if (form == 1) return pick("{}", "{\"ops\":null}", "{\"ops\":{}}", "{\"ops\":[null]}", "{\"ops\":42}", "[]");
    int n = form == 2 ? 10_001 : rnd.nextInt(1, 24);
    List<String> ops = new ArrayList<>(n);
    for (int i = 0; i < n; i++) ops.add(form == 2 ? "{\"op\":\"find\",\"addr\":\"0x100000\"}" : op());
    String body = "{\"ops\":[" + String.join(",", ops) + "]}";
    return form == 3 ? truncated(body) : body;
  }

  private String op() {
    String kind = pick("alloc", "alloc", "free", "free", "find", "bogus", null);
    String o = switch (kind == null ? "none" : kind) {
      case "alloc" -> allocObject();
      case "free", "find" -> "{\"addr\":" + (rnd.nextInt(4) == 0 ? value(0) : "\"" + addressText() + "\"")
          + (rnd.nextInt(5) == 0 ? ",\"requestId\":" + fieldValue("requestId") : "") + "}";
      default -> rnd.nextBoolean() ? allocObject() : value(1);
    };
    if (!o.startsWith("{")) return o;
    return kind == null ? o : "{\"op\":\"" + kind + "\"" + (o.equals("{}") ? "}" : "," + o.substring(1));
  }

  /** A value for field {@code f}: usually of its kind, sometimes anything. */
  private String fieldValue(String f) {
    if (rnd.nextInt(3) == 0) return value(0);
    return switch (f) {
      case "align" -> pick("4096", "65536", "\"0x10000\"", "\"0x8000000000000000\"", "9223372036854775808", "3", "0",
          "1e400", "\"18446744073709551615\"", "1024", "-4096");
      case "vstart", "vend" -> "\"" + hex(BASE + (rnd.nextLong(0, 17) * ZONE)) + "\"";
      case "tag" -> "\"" + pick("t", "", "buf", "x".repeat(257), "\\u0000", "\\n", "\u00e9\u2603") + "\"";
      case "policy" -> "\"" + pick("normal", "fail-fast", "FAIL_FAST", "failfast", "bogus", "") + "\"";
      case "requestId" -> "\"" + requestIdText() + "\"";
      case "node" -> pick("0", "1", "2", "-1", "\"1\"", "1.5", "1e400", "9999999999999");
      default -> value(0);
    };
  }

  /** Any JSON value. */
  private String value(int depth) {
    int k = rnd.nextInt(depth > 2 ? 5 : 7);
    return switch (k) {
      case 0 -> pick("0", "1", "-1", "4096", "-4096", "1e400", "-1e400", "1e-400", "4.096e3", "65536.0", "0.5",
          "18446744073709551615", "18446744073709551616", "9223372036854775808", "1e99999999999",
          Long.toString(rnd.nextLong()), Double.toString(rnd.nextDouble() * 1e20));
      case 1 -> "\"" + pick("0x1000", "0x8000000000000000", "-1", "", " ", "abc", "0xZZ", "0x", "+5", "1e3",
          "normal", "fail-fast", hex(BASE), "18446744073709551616", "\\u0000", "\u00e9") + "\"";
      case 2 -> pick("true", "false", "null");
      case 3 -> "\"" + "y".repeat(rnd.nextInt(2000)) + "\"";
      case 4 -> "\"" + hex(BASE + rnd.nextLong(0, 256) * 4096) + "\"";
      case 5 -> "[" + value(depth + 1) + "," + value(depth + 1) + "]";
      default -> "{\"k\":" + value(depth + 1) + "}";
    };
  }

  /** An address as a path segment: a live area's start, near one, or junk. */
  private String addressText() {
    List<Long> live = new ArrayList<>(this.live.keySet());
    int k = rnd.nextInt(10);
    if (k < 4 && !live.isEmpty()) {
      long s = live.get(rnd.nextInt(live.size()));
      return rnd.nextInt(4) == 0 ? hex(s + 4096) : hex(s);
    }
    if (k < 6) return hex(BASE + rnd.nextLong(0, 256) * 4096);
    return pick("0", "-1", "0x", "0xZZ", "18446744073709551616", "0xffffffffffffffff", "abc", " ", "1e3",
        Long.toUnsignedString(rnd.nextLong()), "0x" + "f".repeat(40), "..", "%00");
  }

  /**
   * A fresh id (never reused: see {@link #live}), odd but valid ones fresh too, or one the API
   * refuses. (A fixed valid id here, "a b", was reused by unrelated frees, whose repeat answered
   * the first free's 204 without freeing: the model lost track, not the member.)
   */
  private String requestIdText() {
    if (rnd.nextInt(4) != 0) return "r-id-" + nextId++;
    return pick("", "x".repeat(257), "\t", "\u0000", "a b-" + nextId++, "\u00e9\u2603-" + nextId++);
  }

  /**
   * HttpClient refuses control and non-ASCII characters in header values, so the server never sees
   * them: a fresh id instead (a fixed one would be reused).
   */
  private String headerSafe(String v) {
    return v.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f) ? v : "r-header-" + nextId++;
  }

  /** The operator page's views and files, with random values in each of their parameters. */
  private String viewPath() {
    String path = pick("/v1/space", "/v1/space/areas", "/v1/nodes", "/v1/purge/status", "/v1/openapi.json", "/ui",
        "/ui/", "/ui/" + enc(pick("app.js", "index.html", "style.css", "..", "%2e%2e", "../../etc/passwd", junkText())));
    List<String> params = new ArrayList<>();
    for (String p : new String[] {"from", "to", "cells", "limit", "stuckAfter"}) {
      if (rnd.nextInt(3) == 0) params.add(p + "=" + enc(paramValue()));
    }
    return path + (params.isEmpty() ? "" : "?" + String.join("&", params)) + (rnd.nextInt(8) == 0 ? query() : "");
  }

  /** A query parameter's value: an address, a count, or junk. */
  private String paramValue() {
    return switch (rnd.nextInt(4)) {
      case 0 -> addressText();
      case 1 -> hex(BASE + rnd.nextLong(0, 17) * ZONE);
      case 2 -> pick("0", "1", "-1", "5", "2048", "5001", "2147483648", "99999999999999999999", "1e3", "0x10", "", "1.5");
      default -> junkText();
    };
  }

  private String junkPath() {
    String[] parts = {"v1", "v2", "areas", "batch", "info", "purge", "status", "space", "nodes", "ui",
        "openapi.json", "health", "metrics", "..", "%2e%2e", "x", "0x100000", "%00", "\u00e9", "a".repeat(300), ""};
    StringBuilder p = new StringBuilder();
    int n = rnd.nextInt(1, 5);
    for (int i = 0; i < n; i++) p.append('/').append(enc(parts[rnd.nextInt(parts.length)]));
    return p + (rnd.nextBoolean() ? "" : "/") + query();
  }

  private String junkText() {
    int n = rnd.nextInt(40);
    StringBuilder s = new StringBuilder(n);
    for (int i = 0; i < n; i++) s.append((char) rnd.nextInt(32, 127));
    return s.toString();
  }

  private String truncated(String s) {
    return s.isEmpty() ? s : s.substring(0, rnd.nextInt(s.length()));
  }

  @SafeVarargs
  private <T> T pick(T... options) {
    return options[rnd.nextInt(options.length)];
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String hex(long v) {
    return String.format("0x%016x", v);
  }
}
