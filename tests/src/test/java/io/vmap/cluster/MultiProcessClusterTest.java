package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmap.space.Unsigned;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
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
 * Once with the embedded H2 journal, once with PostgreSQL, once with H2 and TLS between the members.
 */
@org.junit.jupiter.api.Tag("integration")
class MultiProcessClusterTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static ActorTestKit kit;

  @TempDir Path dir;
  private final List<Process> processes = new ArrayList<>();

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
    for (Process p : processes) p.destroyForcibly();
  }

  @Test
  void survivesKillDashNineWithTheEmbeddedJournal() throws Exception {
    run("include file(\"" + repo().resolve("cluster-config/three-local.conf") + "\")\n");
  }

  @Test
  void survivesKillDashNineWithPostgres() throws Exception {
    String prefix = "mp-" + System.nanoTime() + "-";
    run("include file(\"" + repo().resolve("cluster-config/cluster-common.conf") + "\")\n"
        + "include file(\"" + repo().resolve("cluster-config/journal-postgres.conf") + "\")\n"
        + "vmap.persistence-id-prefix = \"" + prefix + "\"\n");
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
    int[] ports = {freePort(), freePort(), freePort()};
    int[] http = {freePort(), freePort(), freePort()};
    StringBuilder seeds = new StringBuilder();
    for (int p : ports) seeds.append(seeds.length() == 0 ? "" : ", ").append("\"akka://vmap@127.0.0.1:").append(p).append('"');
    Path conf = dir.resolve("cluster.conf");
    Files.writeString(conf, journal
        + "akka.cluster.seed-nodes = [" + seeds + "]\n"
        + "akka.cluster.split-brain-resolver.stable-after = 3s\n"
        + "vmap.space { start = \"0x100000000\", end = \"0x110000000\", page = 4096, zone = 1 MiB, nodes = 8 }\n"
        + "vmap.purge.lazy-max-pages = 1024\n"
        + "vmap.client.ask-timeout = 5s\n");
    Path data = dir.resolve("data");

    // The first member creates the journal's database; the others join it afterwards.
    Process[] members = new Process[3];
    members[0] = startMember(conf, ports[0], http[0], data, 0);
    awaitReady(http[0], Duration.ofSeconds(120));
    members[1] = startMember(conf, ports[1], http[1], data, 1);
    members[2] = startMember(conf, ports[2], http[2], data, 2);
    for (int h : http) awaitReady(h, Duration.ofSeconds(120));

    Load load = new Load(http);
    Thread loader = new Thread(load, "load");
    loader.start();
    awaitCount(load.acked, 150, Duration.ofSeconds(120));

    members[1].destroyForcibly(); // SIGKILL: no leaving, no flushing
    members[1].waitFor();
    int before = load.okOps.get();
    // The survivors down it (split brain resolver), its shards move and recover from the journal.
    awaitCount(load.okOps, before + 150, Duration.ofSeconds(180));

    members[1] = startMember(conf, ports[1], http[1], data, 11);
    awaitReady(http[1], Duration.ofSeconds(120));
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

  private Process startMember(Path conf, int port, int http, Path data, int n) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx384m", "-XX:+UseSerialGC", "-cp", cp,
        "io.vmap.runner.VmapCommand", "node", "--config", conf.toString(), "--port", Integer.toString(port),
        "--http-port", Integer.toString(http), "--data-dir", data.toString());
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("member-" + n + ".log").toFile());
    pb.environment().put("VMAP_LOG_LEVEL", "INFO");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private void awaitReady(int http, Duration max) {
    try {
      probe().awaitAssert(max, Duration.ofMillis(500), () -> {
        HttpResponse<String> r = send(http, HttpRequest.newBuilder(uri(http, "/health/ready")).GET());
        assertEquals(200, r.statusCode(), r.body());
        return null;
      });
    } catch (AssertionError e) {
      throw new AssertionError("member on HTTP " + http + " not ready; logs in " + dir + ":\n" + logTails(), e);
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
    StringBuilder sb = new StringBuilder();
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(x -> x.getFileName().toString().endsWith(".log")).sorted().toList()) {
        List<String> lines = Files.readAllLines(f);
        sb.append("== ").append(f.getFileName()).append('\n');
        for (String l : lines.subList(Math.max(0, lines.size() - 25), lines.size())) sb.append(l).append('\n');
      }
    } catch (IOException e) {
      sb.append(e);
    }
    return sb.toString();
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

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }
}
