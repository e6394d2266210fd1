package io.vmap.bench;

import akka.actor.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.typesafe.config.ConfigFactory;
import io.vmap.cli.UsageException;
import io.vmap.http.api.AllocRequest;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.http.api.InfoJson;
import io.vmap.space.Unsigned;
import io.vmap.state.ErrorCode;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * {@code --target http://host:port}: a running member (or {@code vmap node}) through its JSON API,
 * so each call adds an HTTP round trip, JSON and, in a cluster, sharding hops to the allocator's.
 * The space is the member's: the bench reads its geometry from {@code GET /v1/space?cells=1}
 * (small whatever the number of areas; {@code /v1/info} lists every area).
 *
 * <p>The client is Akka HTTP's pooled HTTP/1.1 client with keep-alive, one connection per request
 * in flight. The JDK's {@code HttpClient} (a hand-off to its executor per response) spent more
 * CPU than the member it measured when both shared a 2-core machine: 3k ops/s where {@code wrk}
 * drove the same member at 16k.
 */
final class HttpTarget implements BenchTarget {

  private static final long TIMEOUT_MS = 60_000;

  private final String base;
  private final ActorSystem system;
  private final Http http;
  private final long page;
  private final int nodes;

  HttpTarget(String base) {
    this.base = base;
    // max-connections bounds the requests in flight; the bench's windows (32 per worker) fit.
    this.system = ActorSystem.create("vmap-bench-http", ConfigFactory.parseString("""
        akka.loglevel = WARNING
        akka.http.host-connection-pool.max-connections = 256
        akka.http.host-connection-pool.max-open-requests = 1024
        akka.http.host-connection-pool.response-entity-subscription-timeout = 60s
        # a failed call is the bench's error to count, not the pool's to hide by retrying
        akka.http.host-connection-pool.max-retries = 0
        akka.http.client.connecting-timeout = 5s
        """).withFallback(ConfigFactory.load()));
    this.http = Http.get(system);
    try {
      InfoJson.GeometryJson g = Api.read(call(HttpRequest.GET(base + "/v1/space?cells=1"))
          .toCompletableFuture().get(10, TimeUnit.SECONDS).body(), SpaceGeometry.class).geometry();
      if (g == null || g.page() == null || g.nodes() == null) throw new Api.BadJson("no geometry");
      this.page = g.page();
      this.nodes = g.nodes();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new UsageException("interrupted");
    } catch (Exception e) {
      close();
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new UsageException("target '" + base + "' does not answer GET /v1/space: " + cause.getMessage());
    }
  }

  @Override
  public String name() {
    return base;
  }

  @Override
  public String describe() {
    return base + ": a member's HTTP API (" + nodes + " nodes); each call = HTTP/1.1 + JSON + the member's client";
  }

  @Override
  public long page() {
    return page;
  }

  @Override
  public CompletionStage<Long> allocAsync(long size, long align, int hint) {
    String body = Api.write(AllocRequest.of(size, align, hint < 0 ? -1 : hint % nodes));
    return call(HttpRequest.POST(base + "/v1/areas").withEntity(ContentTypes.APPLICATION_JSON, body))
        .thenApply(r -> switch (r.status()) {
          case 201 -> start(r.body());
          case 507, 503 -> NONE;
          default -> throw new CompletionException(new IllegalStateException("alloc: HTTP " + r.status() + " " + r.body()));
        });
  }

  @Override
  public CompletionStage<ErrorCode> freeAsync(long addr) {
    return call(HttpRequest.DELETE(base + "/v1/areas/" + Unsigned.hex(addr)))
        .thenApply(r -> switch (r.status()) {
          case 204 -> null;
          case 404 -> ErrorCode.ENOENT;
          case 400 -> ErrorCode.EINVAL;
          default -> throw new CompletionException(new IllegalStateException("free: HTTP " + r.status() + " " + r.body()));
        });
  }

  @Override
  public CompletionStage<Long> findAsync(long addr) {
    return call(HttpRequest.GET(base + "/v1/areas/" + Unsigned.hex(addr)))
        .thenApply(r -> r.status() == 200 ? start(r.body()) : NONE);
  }

  @Override
  public CompletionStage<Integer> purgeAsync() {
    return call(HttpRequest.POST(base + "/v1/purge"))
        .thenApply(r -> Api.read(r.body(), Api.Purged.class).released());
  }

  @Override
  public CompletionStage<Void> quiesce() {
    return call(HttpRequest.GET(base + "/health/ready")).thenApply(r -> null);
  }

  @Override
  public void close() {
    system.terminate();
  }

  /** The part of {@code GET /v1/space} the bench needs. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  record SpaceGeometry(InfoJson.GeometryJson geometry) {}

  /** A response with its whole body read: status and text. */
  private record Reply(int status, String body) {}

  private CompletionStage<Reply> call(HttpRequest request) {
    // A member with authentication on (vmap.http.auth) needs a bearer token: VMAP_TOKEN, if set.
    String token = System.getenv("VMAP_TOKEN");
    if (token != null && !token.isBlank()) {
      request = request.addHeader(akka.http.javadsl.model.headers.Authorization.oauth2(token.strip()));
    }
    return http.singleRequest(request).thenCompose((HttpResponse r) -> r.entity().toStrict(TIMEOUT_MS, system)
        .thenApply(e -> new Reply(r.status().intValue(), e.getData().utf8String())));
  }

  private static long start(String body) {
    return Api.read(body, AreaJson.class).toArea().start();
  }
}
