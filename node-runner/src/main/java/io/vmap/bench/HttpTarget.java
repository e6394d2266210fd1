package io.vmap.bench;

import io.vmap.cli.UsageException;

import io.vmap.http.api.AllocRequest;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.http.api.InfoJson;
import io.vmap.state.ErrorCode;
import io.vmap.space.Unsigned;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * {@code --target http://host:port}: a running member (or {@code vmap node}) through its JSON API,
 * so each call adds an HTTP round trip, JSON and, in a cluster, sharding hops to the allocator's.
 * The space is the member's: the bench reads its geometry from {@code GET /v1/info}.
 */
final class HttpTarget implements BenchTarget {

  private final String base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final long page;
  private final int nodes;

  HttpTarget(String base) {
    this.base = base;
    try {
      InfoJson.GeometryJson g = Api.read(send(HttpRequest.newBuilder(uri("/v1/info?format=json")).GET()).body(),
          InfoJson.class).geometry();
      if (g == null || g.page() == null || g.nodes() == null) throw new Api.BadJson("no geometry");
      this.page = g.page();
      this.nodes = g.nodes();
    } catch (IOException | RuntimeException e) {
      throw new UsageException("target '" + base + "' does not answer GET /v1/info: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UsageException("interrupted");
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
    return async(HttpRequest.newBuilder(uri("/v1/areas")).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)))
        .thenApply(r -> switch (r.statusCode()) {
          case 201 -> start(r.body());
          case 507, 503 -> NONE;
          default -> throw new CompletionException(new IllegalStateException("alloc: HTTP " + r.statusCode() + " " + r.body()));
        });
  }

  @Override
  public CompletionStage<ErrorCode> freeAsync(long addr) {
    return async(HttpRequest.newBuilder(uri("/v1/areas/" + Unsigned.hex(addr))).DELETE())
        .thenApply(r -> switch (r.statusCode()) {
          case 204 -> null;
          case 404 -> ErrorCode.ENOENT;
          case 400 -> ErrorCode.EINVAL;
          default -> throw new CompletionException(new IllegalStateException("free: HTTP " + r.statusCode() + " " + r.body()));
        });
  }

  @Override
  public CompletionStage<Long> findAsync(long addr) {
    return async(HttpRequest.newBuilder(uri("/v1/areas/" + Unsigned.hex(addr))).GET())
        .thenApply(r -> r.statusCode() == 200 ? start(r.body()) : NONE);
  }

  @Override
  public CompletionStage<Integer> purgeAsync() {
    return async(HttpRequest.newBuilder(uri("/v1/purge")).POST(HttpRequest.BodyPublishers.noBody()))
        .thenApply(r -> Api.read(r.body(), Api.Purged.class).released());
  }

  @Override
  public CompletionStage<Void> quiesce() {
    return async(HttpRequest.newBuilder(uri("/health/ready")).GET()).thenApply(r -> null);
  }

  @Override
  public void close() {}

  private CompletionStage<HttpResponse<String>> async(HttpRequest.Builder b) {
    return http.sendAsync(authorized(b).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> send(HttpRequest.Builder b) throws IOException, InterruptedException {
    return http.send(authorized(b).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A member with authentication on (vmap.http.auth) needs a bearer token: VMAP_TOKEN, if set. */
  private static HttpRequest.Builder authorized(HttpRequest.Builder b) {
    String token = System.getenv("VMAP_TOKEN");
    return token == null || token.isBlank() ? b : b.header("Authorization", "Bearer " + token.strip());
  }

  private URI uri(String path) {
    return URI.create(base + path);
  }

  private static long start(String body) {
    return Api.read(body, AreaJson.class).toArea().start();
  }
}
