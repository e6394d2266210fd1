package io.vmap.http;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A member for the operator views' tests: an embedded allocator in an ActorSystem of its own with
 * the HTTP API on a free loopback port, and plain java.net.http helpers.
 */
public final class LiveMember implements AutoCloseable {

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public final ActorSystem<Void> system;
  public final Vmap vmap;
  public final Readiness readiness = Readiness.initiallyReady();
  private final ServerBinding binding;
  public final String base;

  public LiveMember(String name, VmapSettings settings) throws Exception {
    this(name, settings, ConfigFactory.empty());
  }

  /** A member whose configuration is {@code extra} over reference.conf (e.g. {@code vmap.http.auth}). */
  public LiveMember(String name, VmapSettings settings, com.typesafe.config.Config extra) throws Exception {
    // A generous logger start-up timeout: the default 5 s is hit on a loaded 2-core build machine.
    system = ActorSystem.create(Behaviors.empty(), name,
        extra.withFallback(ConfigFactory.parseString("akka.logger-startup-timeout = 60s")).withFallback(ConfigFactory.load()));
    vmap = Vmap.embed(system, settings);
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, readiness, new Metrics())
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + binding.localAddress().getPort();
  }

  /** An answer: status, body, headers. */
  public record Resp(int status, String body, HttpResponse<String> raw) {
    public JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }

    public String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }
  }

  public Resp send(String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) b.header("Content-Type", "application/json");
    for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Resp(r.statusCode(), r.body(), r);
  }

  /** GET {@code path}, asserting 200, as JSON. */
  public JsonNode get(String path) throws Exception {
    Resp r = send("GET", path, null);
    if (r.status() != 200) throw new AssertionError("GET " + path + ": " + r.status() + " " + r.body());
    return r.json();
  }

  /** POST /v1/areas with {@code body}, asserting 201; the area's start. */
  public String alloc(String body) throws Exception {
    Resp r = send("POST", "/v1/areas", body);
    if (r.status() != 201) throw new AssertionError("alloc " + body + ": " + r.status() + " " + r.body());
    return r.json().get("start").asText();
  }

  @Override
  public void close() throws Exception {
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vmap.close();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
