package io.vmap.http;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.server.Route;
import com.typesafe.config.Config;
import io.vmap.client.VmapClient;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/**
 * The HTTP API of an allocator: a thin JSON layer over {@link VmapClient}.
 *
 * <pre>{@code
 * Vmap vmap = Vmap.start(settings);
 * ServerBinding b = VmapHttpServer.start(vmap.system(), vmap.client(), "127.0.0.1", 8080, HealthProbe.always())
 *     .toCompletableFuture().join();
 * }</pre>
 *
 * <p>Endpoints: {@code POST /v1/areas}, {@code GET|DELETE /v1/areas/{addr}}, {@code GET /v1/info},
 * {@code POST /v1/purge}, {@code GET /health/alive}, {@code GET /health/ready}, {@code GET /metrics}.
 * Every error is {@code {"error":"<ErrorCode>","reason":"..."}} with 507 (ENOSPC), 503 (EAGAIN),
 * 400 (EINVAL), 404 (ENOENT), 504 (ETIMEDOUT), 429 (EDQUOT), 403 (EPERM) or 401 (EACCES).
 *
 * <p>{@link HttpSecurity} (from {@code vmap.http} unless given) switches on HTTPS and bearer-token
 * authentication: each request then acts for the token's tenant ({@link VmapClient#as}).
 *
 * <p>The binding is registered with coordinated shutdown (unbound, then in-flight requests get up to
 * {@link #SHUTDOWN_DEADLINE}) so terminating the ActorSystem stops the server too.
 */
public final class VmapHttpServer {

  /** How long in-flight requests get when the ActorSystem shuts down. */
  public static final Duration SHUTDOWN_DEADLINE = Duration.ofSeconds(5);

  /** Bound on the scrape-time {@code info()} call of {@code GET /metrics}. */
  public static final Duration SCRAPE_INFO_TIMEOUT = Duration.ofSeconds(5);

  /** Added to {@code vmap.client.ask-timeout} so the client's ETIMEDOUT normally answers first. */
  static final Duration TIMEOUT_MARGIN = Duration.ofSeconds(5);

  private VmapHttpServer() {}

  /** Binds {@code host:port} (0 = any free port: read {@link ServerBinding#localAddress()}). */
  public static CompletionStage<ServerBinding> start(
      ActorSystem<?> system, VmapClient client, String host, int port, HealthProbe ready) {
    return start(system, client, host, port, ready, new Metrics());
  }

  /**
   * As {@link #start(ActorSystem, VmapClient, String, int, HealthProbe)}, counting into {@code
   * metrics}, protected as {@code vmap.http} in the system's configuration says.
   */
  public static CompletionStage<ServerBinding> start(
      ActorSystem<?> system, VmapClient client, String host, int port, HealthProbe ready, Metrics metrics) {
    return start(system, client, host, port, ready, metrics, HttpSecurity.from(system.settings().config()));
  }

  /** As above, with HTTPS and authentication as {@code security} says. */
  public static CompletionStage<ServerBinding> start(
      ActorSystem<?> system, VmapClient client, String host, int port, HealthProbe ready, Metrics metrics,
      HttpSecurity security) {
    Route route = routes(system, client, ready, metrics, security.auth());
    var server = Http.get(system).newServerAt(host, port);
    if (security.https() != null) server = server.enableHttps(security.https());
    return server
        .bind(route)
        .thenApply(b -> b.addToCoordinatedShutdown(SHUTDOWN_DEADLINE, system));
  }

  /**
   * Initializes Akka HTTP's {@code javadsl.model.Uri} while the routes are built, on one thread,
   * before any request. Its static initializer needs its subclass {@code JavaUri}, whose
   * initialization needs it first: two threads that touch them first at the same moment deadlock
   * for good. Two allocations answered at once, each building its {@code Location} header on a
   * pool thread, did that to a member under TortureTest (thread dump: one thread in {@code
   * Uri.<clinit>} waiting for {@code JavaUri}, the other in {@code Location.create} waiting for
   * {@code Uri}), and its HTTP server stopped answering.
   */
  private static void initializeUriClasses() {
    akka.http.javadsl.model.headers.Location.create(akka.http.javadsl.model.Uri.create("/"));
  }

  /** The route tree alone, to mount it in another server or test it without binding ({@code vmap.http.auth}). */
  public static Route routes(ActorSystem<?> system, VmapClient client, HealthProbe ready, Metrics metrics) {
    return routes(system, client, ready, metrics, HttpSecurity.from(system.settings().config()).auth());
  }

  /** The route tree, every request authenticated by {@code auth}. */
  public static Route routes(ActorSystem<?> system, VmapClient client, HealthProbe ready, Metrics metrics,
      Authentication auth) {
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(ready, "ready");
    Objects.requireNonNull(metrics, "metrics");
    Objects.requireNonNull(auth, "auth");
    initializeUriClasses();
    return new VmapRoutes(client, auth, ready, metrics, requestTimeout(system.settings().config()), SCRAPE_INFO_TIMEOUT,
        HttpLimits.from(system.settings().config()))
        .route();
  }

  /**
   * The HTTP request timeout: {@code akka.http.server.request-timeout}, raised to
   * {@code vmap.client.ask-timeout} + 5 s so that a slow allocation (a synchronous purge) answers
   * with the client's own ETIMEDOUT instead of being cut by the server. Null = keep the configured
   * value (infinite, or no client timeout configured).
   */
  static Duration requestTimeout(Config c) {
    String key = "akka.http.server.request-timeout";
    if (!c.hasPath(key) || c.getString(key).trim().equalsIgnoreCase("infinite")) return null;
    Duration http = c.getDuration(key);
    if (!c.hasPath("vmap.client.ask-timeout")) return null;
    Duration wanted = c.getDuration("vmap.client.ask-timeout").plus(TIMEOUT_MARGIN);
    return wanted.compareTo(http) > 0 ? wanted : null;
  }
}
