package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmap.space.Unsigned;
import io.vmap.torture.LocalCluster;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real {@code vmap node} JVMs on loopback, driven through the HTTP API of different members;
 * one is killed with SIGKILL under load and restarted. Afterwards every acknowledged allocation is
 * still there, no two areas overlap, and free + busy + lazy (+ reserved) bytes equal the space.
 * With H2 and TLS between the members. (The same kill -9 without TLS, on H2 and on PostgreSQL, is
 * part of {@link TortureTest}, with every check of {@code vmap torture}: this test ran it too
 * before, for minutes of the integration suite's budget.)
 */
@org.junit.jupiter.api.Tag("integration")
class MultiProcessClusterTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * How long a member may take to be ready, and the load to make progress: generous, as these are
   * waits and not timing assertions (three JVMs starting on a shared 2-CPU machine under load 40
   * took more than two minutes).
   */
  private static final Duration READY = Duration.ofMinutes(10);
  private static final Duration PROGRESS = Duration.ofMinutes(5);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static ActorTestKit kit;

  @TempDir Path dir;
  private LocalCluster cluster;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @AfterEach
  void killAll() {
    if (cluster != null) cluster.close();
  }

  /**
   * The embedded-journal scenario over TLS (three-local-tls.conf), key material from
   * scripts/tls.sh. The three members share one key store here (the ports are chosen at random);
   * io.vmap.security.MemberTlsTest covers a key store per member.
   */
  @Test
  void survivesKillDashNineWithTls() throws Exception {
    Path tls = dir.resolve("tls");
    io.vmap.security.TlsScript.run("init", "--dir", tls.toString(), "member");
    run("include file(\"" + repo().resolve("cluster-config/three-local-tls.conf") + "\")\n"
        + "vmap.tls { dir = \"" + tls + "\", member = member }\n");
    // The members (still running) speak TLS on their Artery ports and require a client certificate.
    for (String seed : com.typesafe.config.ConfigFactory.parseFile(dir.resolve("cluster.conf").toFile()).getStringList("akka.cluster.seed-nodes")) {
      int port = Integer.parseInt(seed.substring(seed.lastIndexOf(':') + 1));
      Path trust = tls.resolve("truststore.p12");
      assertEquals(java.util.Optional.empty(),
          io.vmap.security.TlsProbe.handshake("127.0.0.1", port, tls.resolve("members/member.p12"), trust, "changeit"), seed);
      assertTrue(io.vmap.security.TlsProbe.handshake("127.0.0.1", port, null, trust, "changeit").isPresent(),
          seed + " accepted a client without a certificate");
    }
  }

  // ------------------------------------------------------------------ the scenario

  private void run(String journal) throws Exception {
    cluster = new LocalCluster(new LocalCluster.Options(3, dir, journal,
        "akka.cluster.split-brain-resolver.stable-after = 3s\n"
            + "vmap.space { start = \"0x100000000\", end = \"0x110000000\", page = 4096, zone = 1 MiB, nodes = 8 }\n"
            + "vmap.purge.lazy-max-pages = 1024\n"
            + "vmap.client.ask-timeout = 5s\n",
        false, LocalCluster.Options.DEFAULT_JVM));
    int[] http = {cluster.httpPort(0), cluster.httpPort(1), cluster.httpPort(2)};

    // The first member creates the journal's database; the others join it afterwards.
    cluster.startAll(READY);

    Load load = new Load(http);
    Thread loader = new Thread(load, "load");
    loader.start();
    awaitCount(load.acked, 150, PROGRESS);

    cluster.kill(1); // SIGKILL: no leaving, no flushing
    int before = load.okOps.get();
    // The survivors down it (split brain resolver), its shards move and recover from the journal.
    awaitCount(load.okOps, before + 150, PROGRESS);

    cluster.start(1);
    awaitReady(1, READY);
    int after = load.okOps.get();
    awaitCount(load.okOps, after + 50, PROGRESS);
    load.stop.set(true);
    loader.join();

    // A free without a definite answer (a timeout under load) is sent again with its request id
    // until it gets one: the first answer, 204 if it freed the area, never a 404 for an area that
    // was acknowledged and not freed otherwise.
    for (Map.Entry<Long, Integer> f : load.doubtfulFrees.entrySet()) {
      long start = f.getKey();
      int member = http[f.getValue()];
      HttpResponse<String> res = answered(member, () -> load.free(member, start));
      assertEquals(204, res.statusCode(), "retried free of acknowledged area " + Unsigned.hex(start) + ": " + res.body());
    }

    // Every acknowledged allocation not acknowledged as freed is still there, via any member.
    Random r = new Random(1);
    for (Map.Entry<Long, Long> a : load.live.entrySet()) {
      int member = http[r.nextInt(3)];
      JsonNode area = awaitArea(member, a.getKey());
      assertEquals(Unsigned.hex(a.getValue()), area.get("end").asText(), "area at " + Unsigned.hex(a.getKey()));
    }
    // No two areas overlap, and the space adds up once reservations have settled.
    probe().awaitAssert(PROGRESS, Duration.ofMillis(500), () -> {
      JsonNode info = getJson(http[2], "/v1/info?format=json");
      List<long[]> busy = new ArrayList<>();
      for (JsonNode a : info.get("busy")) busy.add(new long[] {Unsigned.parse(a.get("start").asText()), Unsigned.parse(a.get("end").asText())});
      busy.sort(Comparator.comparing((long[] a) -> a[0], Long::compareUnsigned));
      for (int i = 1; i < busy.size(); i++) {
        assertTrue(Unsigned.le(busy.get(i - 1)[1], busy.get(i)[0]),
            "overlap: " + Unsigned.hex(busy.get(i - 1)[0]) + " and " + Unsigned.hex(busy.get(i)[0]));
      }
      assertTrue(info.get("totals").get("accountsForSpace").asBoolean(), "free + busy + lazy + reserved == space: " + info.get("totals"));
      return null;
    });
    assertTrue(load.live.size() > 0);
    System.err.printf("multi-process: %d acked allocs, %d acked frees, %d live checked, %d unknown outcomes"
        + " (%d frees retried to an answer)%n",
        load.acked.get(), load.freed.get(), load.live.size(), load.unknown.get(), load.doubtfulFrees.size());
  }

  /** Allocations (some spanning zones), frees and finds, round robin over the members. */
  private static final class Load implements Runnable {
    final int[] http;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicInteger acked = new AtomicInteger();
    final AtomicInteger freed = new AtomicInteger();
    final AtomicInteger okOps = new AtomicInteger();
    final AtomicInteger unknown = new AtomicInteger();
    /** Acknowledged and not acknowledged freed: start -> end. */
    final Map<Long, Long> live = new ConcurrentHashMap<>();
    /** Frees sent without a definite answer: start -> the member index they were sent to. */
    final Map<Long, Integer> doubtfulFrees = new ConcurrentHashMap<>();
    final Random random = new Random(42);

    Load(int[] http) {
      this.http = http;
    }

    @Override
    public void run() {
      int i = 0;
      while (!stop.get()) {
        int index = i++ % http.length;
        int member = http[index];
        Long freeing = null;
        try {
          if (live.size() > 40 && random.nextInt(3) == 0) {
            Long start = new ArrayList<>(live.keySet()).get(random.nextInt(live.size()));
            freeing = start;
            HttpResponse<String> res = send(member, free(member, start));
            freeing = null;
            if (res.statusCode() == 204) {
              live.remove(start);
              freed.incrementAndGet();
              okOps.incrementAndGet();
            } else if (res.statusCode() >= 500) {
              // It may have freed the area: not live any more until a retry says (after the load).
              live.remove(start);
              doubtfulFrees.put(start, index);
              unknown.incrementAndGet();
            }
          } else {
            long size = random.nextInt(10) == 0 ? (1L << 20) + 4096L * random.nextInt(256) : 4096L * (1 + random.nextInt(64));
            String body = "{\"size\":" + size + ",\"tag\":\"mp\",\"requestId\":\"a-" + i + "-" + random.nextLong() + "\"}";
            HttpResponse<String> res = send(member, HttpRequest.newBuilder(uri(member, "/v1/areas"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
            if (res.statusCode() == 201) {
              JsonNode a = JSON.readTree(res.body());
              live.put(Unsigned.parse(a.get("start").asText()), Unsigned.parse(a.get("end").asText()));
              acked.incrementAndGet();
              okOps.incrementAndGet();
            } else if (res.statusCode() >= 500 && res.statusCode() != 507) {
              unknown.incrementAndGet();
            }
          }
        } catch (ConnectException e) {
          // The killed member: nothing was sent.
        } catch (IOException e) {
          if (freeing != null) {
            live.remove(freeing);
            doubtfulFrees.put(freeing, index);
          }
          unknown.incrementAndGet();
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** The free of the area at {@code start}, with the request id every retry of it uses. */
    HttpRequest.Builder free(int member, long start) {
      return HttpRequest.newBuilder(uri(member, "/v1/areas/" + Unsigned.hex(start) + "?requestId=free-" + start)).DELETE();
    }
  }

  // ------------------------------------------------------------------ processes and HTTP

  private void awaitReady(int member, Duration max) {
    try {
      cluster.awaitReady(member, max);
    } catch (IllegalStateException e) {
      throw new AssertionError("member " + member + " not ready; logs in " + dir + ":\n" + logTails(), e);
    }
  }

  private void awaitCount(AtomicInteger counter, int atLeast, Duration max) {
    try {
      probe().awaitAssert(max, Duration.ofMillis(200), () -> {
        assertTrue(counter.get() >= atLeast, counter.get() + " < " + atLeast);
        return null;
      });
    } catch (AssertionError e) {
      throw new AssertionError("load made no progress; logs:\n" + logTails(), e);
    }
  }

  private JsonNode awaitArea(int http, long start) throws IOException {
    HttpResponse<String> r = answered(http, () -> HttpRequest.newBuilder(uri(http, "/v1/areas/" + Unsigned.hex(start))).GET());
    assertEquals(200, r.statusCode(), "acknowledged area " + Unsigned.hex(start) + " lost: " + r.body());
    JsonNode area = JSON.readTree(r.body());
    assertEquals(Unsigned.hex(start), area.get("start").asText());
    return area;
  }

  /**
   * The first definite answer (below 500) to {@code request}, sent again while the member answers
   * "not ready", "timed out" or not at all: a wait, not a timing assertion.
   */
  private HttpResponse<String> answered(int http, java.util.function.Supplier<HttpRequest.Builder> request) {
    List<HttpResponse<String>> out = new ArrayList<>(1);
    probe().awaitAssert(PROGRESS, Duration.ofMillis(500), () -> {
      HttpResponse<String> r;
      try {
        r = send(http, request.get());
      } catch (IOException e) {
        throw new AssertionError("no answer from member on HTTP " + http + ": " + e, e);
      }
      assertTrue(r.statusCode() < 500, "member on HTTP " + http + " answered " + r.statusCode() + ": " + r.body());
      out.add(r);
      return null;
    });
    return out.get(0);
  }

  private String logTails() {
    return cluster.logTails(25);
  }

  private static TestProbe<Object> probe() {
    return kit.createTestProbe();
  }

  private static JsonNode getJson(int http, String path) throws IOException, InterruptedException {
    return JSON.readTree(send(http, HttpRequest.newBuilder(uri(http, path)).GET()).body());
  }

  private static HttpResponse<String> send(int http, HttpRequest.Builder b) throws IOException, InterruptedException {
    return HTTP.send(b.timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(int http, String path) {
    return URI.create("http://127.0.0.1:" + http + path);
  }

  private static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }
}
