package io.vmap.runner;

import io.vmap.space.Geometry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The light workload of an embedded {@code vmap top}: one thread sending about {@code rate}
 * requests a second through the member's HTTP API (so they show in its traffic figures):
 * allocations of 1..64 pages (a third tagged, some spanning a zone boundary when zones are small),
 * frees of areas it holds (more once it holds many), finds inside them.
 */
final class LightLoad implements AutoCloseable {

  private static final List<String> TAGS = List.of("vmap_stack", "module_alloc", "ioremap", "bpf_jit");
  private static final Pattern START = Pattern.compile("\"start\"\\s*:\\s*\"(0x[0-9a-fA-F]+)\"");
  /** Above this many live areas, frees outnumber allocations. */
  private static final int TARGET_LIVE = 500;

  private final String base;
  private final Geometry g;
  private final int rate;
  private final Random random;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<String> live = new ArrayList<>();
  private final AtomicLong requests = new AtomicLong();
  private final Thread thread;
  private volatile boolean stop;

  LightLoad(String base, Geometry g, int rate, long seed) {
    this.base = base;
    this.g = g;
    this.rate = rate;
    this.random = new Random(seed);
    this.thread = new Thread(this::loop, "vmap-top-load");
    thread.setDaemon(true);
  }

  void start() {
    if (rate > 0) thread.start();
  }

  /** Waits until {@code n} requests were answered, or {@code max} passed. */
  void awaitRequests(long n, Duration max) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (requests.get() < n && System.nanoTime() < deadline && thread.isAlive()) Thread.sleep(50);
  }

  private void loop() {
    long pause = Math.max(1, 1_000_000_000L / rate);
    long next = System.nanoTime();
    while (!stop) {
      try {
        step();
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        // the member is busy or stopping: keep the pace, try again
      }
      requests.incrementAndGet();
      next += pause;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        try {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      } else {
        next = System.nanoTime();
      }
    }
  }

  private void step() throws Exception {
    double r = random.nextDouble();
    double freeShare = live.size() > TARGET_LIVE ? 0.6 : 0.3;
    if (live.isEmpty() || r >= freeShare + 0.15) {
      long pages = 1 + random.nextInt(64);
      StringBuilder body = new StringBuilder("{\"size\":").append(pages * g.page());
      if (random.nextInt(3) == 0) body.append(",\"tag\":\"").append(TAGS.get(random.nextInt(TAGS.size()))).append('"');
      body.append('}');
      HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/areas"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
          HttpResponse.BodyHandlers.ofString());
      Matcher m = START.matcher(resp.body());
      if (resp.statusCode() == 201 && m.find()) live.add(m.group(1));
    } else if (r < freeShare) {
      String addr = live.remove(random.nextInt(live.size()));
      http.send(HttpRequest.newBuilder(URI.create(base + "/v1/areas/" + addr)).DELETE().build(),
          HttpResponse.BodyHandlers.discarding());
    } else {
      String addr = live.get(random.nextInt(live.size()));
      http.send(HttpRequest.newBuilder(URI.create(base + "/v1/areas/" + addr)).GET().build(),
          HttpResponse.BodyHandlers.discarding());
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    thread.interrupt();
    if (thread.isAlive()) thread.join(5000);
  }
}
