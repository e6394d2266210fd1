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
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real {@code vmap node} JVMs on loopback, driven through the HTTP API of different members;
 * one is killed with SIGKILL under load and restarted. Afterwards every acknowledged allocation is
 * still there, no two areas overlap, and free + busy + lazy (+ reserved) bytes equal the space.
 * Once with the embedded H2 journal, once with PostgreSQL.
 */
@org.junit.jupiter.api.Tag("integration")
class MultiProcessClusterTest {

  private static final ObjectMapper JSON = new ObjectMapper();
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

  @Test
  void survivesKillDashNineWithTheEmbeddedJournal() throws Exception {
    run("include file(\"" + repo().resolve("cluster-config/three-local.conf") + "\")\n");
  }

  @Test
  void survivesKillDashNineWithPostgres() throws Exception {
    boolean required = "true".equals(System.getenv("CI")) || System.getenv("VMAP_PG_HOST") != null;
    Assumptions.assumeTrue(required, "PostgreSQL not configured (run scripts/postgres.sh start and export its env)");
    String prefix = "mp-" + System.nanoTime() + "-";
    run("include file(\"" + repo().resolve("cluster-config/cluster-common.conf") + "\")\n"
        + "include file(\"" + repo().resolve("cluster-config/journal-postgres.conf") + "\")\n"
        + "vmap.persistence-id-prefix = \"" + prefix + "\"\n");
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
    cluster.startAll(Duration.ofSeconds(120));

    Load load = new Load(http);
    Thread loader = new Thread(load, "load");
    loader.start();
    awaitCount(load.acked, 150, Duration.ofSeconds(120));

    cluster.kill(1); // SIGKILL: no leaving, no flushing
    int before = load.okOps.get();
    // The survivors down it (split brain resolver), its shards move and recover from the journal.
    awaitCount(load.okOps, before + 150, Duration.ofSeconds(180));

    cluster.start(1);
    awaitReady(1, Duration.ofSeconds(120));
    int after = load.okOps.get();
    awaitCount(load.okOps, after + 50, Duration.ofSeconds(120));
    load.stop.set(true);
    loader.join();

    // Every acknowledged allocation not acknowledged as freed is still there, via any member.
    Random r = new Random(1);
    for (Map.Entry<Long, Long> a : load.live.entrySet()) {
      int member = http[r.nextInt(3)];
      JsonNode area = awaitArea(member, a.getKey());
      assertEquals(Unsigned.hex(a.getValue()), area.get("end").asText(), "area at " + Unsigned.hex(a.getKey()));
    }
    // No two areas overlap, and the space adds up once reservations have settled.
    probe().awaitAssert(Duration.ofSeconds(60), () -> {
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
    System.err.printf("multi-process: %d acked allocs, %d acked frees, %d live checked, %d unknown outcomes%n",
        load.acked.get(), load.freed.get(), load.live.size(), load.unknown.get());
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
    final Random random = new Random(42);

    Load(int[] http) {
      this.http = http;
    }

    @Override
    public void run() {
      int i = 0;
      while (!stop.get()) {
        int member = http[i++ % http.length];
        try {
          if (live.size() > 40 && random.nextInt(3) == 0) {
            Long start = new ArrayList<>(live.keySet()).get(random.nextInt(live.size()));
            HttpResponse<String> res = send(member, HttpRequest.newBuilder(uri(member, "/v1/areas/" + Unsigned.hex(start)
                + "?requestId=free-" + start)).DELETE());
            if (res.statusCode() == 204) {
              live.remove(start);
              freed.incrementAndGet();
              okOps.incrementAndGet();
            } else if (res.statusCode() >= 500) {
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
          unknown.incrementAndGet();
        } catch (InterruptedException e) {
          return;
        }
      }
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

  private JsonNode awaitArea(int http, long start) {
    JsonNode[] out = new JsonNode[1];
    probe().awaitAssert(Duration.ofSeconds(30), () -> {
      HttpResponse<String> r = send(http, HttpRequest.newBuilder(uri(http, "/v1/areas/" + Unsigned.hex(start))).GET());
      assertEquals(200, r.statusCode(), "acknowledged area " + Unsigned.hex(start) + " lost: " + r.body());
      out[0] = JSON.readTree(r.body());
      assertEquals(Unsigned.hex(start), out[0].get("start").asText());
      return null;
    });
    return out[0];
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
