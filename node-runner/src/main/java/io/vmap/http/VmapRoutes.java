package io.vmap.http;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.Location;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.ExceptionHandler;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.RejectionHandler;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import io.vmap.client.AllocOptions;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.http.api.AllocRequest;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.http.api.InfoJson;
import io.vmap.state.ErrorCode;
import io.vmap.state.Principal;
import io.vmap.space.Unsigned;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The route tree of {@link VmapHttpServer}; one instance per server. */
final class VmapRoutes extends AllDirectives {

  private static final Logger LOG = LoggerFactory.getLogger(VmapHttpServer.class);

  static final ContentType PROMETHEUS = ContentTypes.parse(Metrics.CONTENT_TYPE);

  private final VmapClient client;
  private final Authentication auth;
  private final HealthProbe probe;
  private final Metrics metrics;
  /** Null: leave akka.http.server.request-timeout as configured. */
  private final Duration requestTimeout;
  private final Duration scrapeTimeout;
  /** vmap.limits.http: body sizes, batch operations, operations in flight. */
  private final HttpLimits limits;
  private final InFlight inFlight;
  /** The operator page and its JSON views (/ui, /v1/space, /v1/nodes, ...). */
  private final UiRoutes ui;

  VmapRoutes(VmapClient client, Authentication auth, HealthProbe probe, Metrics metrics, Duration requestTimeout,
      Duration scrapeTimeout, HttpLimits limits) {
    this.client = client;
    this.auth = auth;
    this.limits = limits;
    this.inFlight = new InFlight(limits.inFlightOps());
    this.probe = probe;
    this.metrics = metrics;
    this.requestTimeout = requestTimeout;
    this.scrapeTimeout = scrapeTimeout;
    this.ui = new UiRoutes(client, probe, metrics);
  }

  Route route() {
    // Built once: every leaf extracts from the request, so per-request work happens only there.
    Route api = endpoints();
    ExceptionHandler exceptions = exceptionHandler();
    RejectionHandler rejections = rejectionHandler();
    Route handledRoute = handleExceptions(exceptions, () -> handleRejections(rejections, () -> api));
    Supplier<Route> handled = () -> handledRoute;
    Route timed =
        requestTimeout == null
            ? withRequestTimeoutResponse(VmapRoutes::timeoutResponse, handled)
            : withRequestTimeout(
                scala.concurrent.duration.Duration.create(requestTimeout.toMillis(), TimeUnit.MILLISECONDS),
                VmapRoutes::timeoutResponse, handled);
    return mapResponse(r -> { metrics.response(r.status().intValue()); return r; }, () -> timed);
  }

  private Route endpoints() {
    // Without authentication every request is the same principal: the tree is built once.
    Route open = auth.enabled() ? null : v1(Principal.SYSTEM);
    return concat(
        // The operator page itself is static; the JSON it draws is under /v1 (admin only with authentication on).
        ui.page(),
        // Every /v1 request is authenticated first (401 before anything else, even a 404).
        pathPrefix("v1", () -> open != null ? open : auth.authenticated(this::v1)),
        pathPrefix("health", () -> concat(
            path("alive", () -> get(() -> extractRequest(r -> complete(alive())))),
            path("ready", () -> get(() -> extractRequest(r -> complete(readiness())))))),
        // Every tenant's usage is in the metrics: an admin's business once there are tenants.
        path("metrics", () -> get(() -> auth.enabled()
            ? auth.authenticated(p -> auth.admin(p, this::metrics))
            : metrics())));
  }

  private Route metrics() {
    return extractRequest(r -> completeWithFuture(scrape()));
  }

  private static final java.util.regex.Pattern NOT_BATCH = java.util.regex.Pattern.compile("(?!batch$)[^/]+");

  /**
   * The API as {@code principal} sees it: its client acts for it. The operator views show every
   * tenant's areas, so they answer an admin only (403 EPERM for a tenant).
   */
  private Route v1(Principal principal) {
    VmapClient client = this.client.as(principal);
    return concat(
        ui.views(view -> auth.admin(principal, () -> view)),
        ui.observe(() -> api(principal, client)));
  }

  private Route api(Principal principal, VmapClient client) {
    return concat(
        path(PathMatchers.segment("areas").slash("batch"), () -> post(() ->
            withSizeLimit(limits.batchBodyBytes(), () ->
                entity(Unmarshaller.entityToString(), body -> op("batch", () -> batch(client, body)))))),
        path("areas", () -> post(() ->
            withSizeLimit(limits.bodyBytes(), () ->
                optionalHeaderValueByName("Idempotency-Key", key ->
                    entity(Unmarshaller.entityToString(), body -> op("alloc", () -> alloc(client, body, key))))))),
        // Any segment but "batch" is an address: GET or DELETE /v1/areas/batch is 405, not a bad address.
        path(PathMatchers.segment("areas").slash(PathMatchers.segment(NOT_BATCH)), addr -> concat(
            get(() -> op("find", () -> find(client, addr))),
            delete(() ->
                parameterOptional("requestId", qid ->
                    optionalHeaderValueByName("Idempotency-Key", key -> op("free", () -> free(client, addr, qid, key))))))),
        path("info", () -> get(() ->
            parameterOptional("format", format ->
                optionalHeaderValueByName("Accept", accept -> op("info", () -> info(client, format, accept)))))),
        // Every tenant's usage and quota for an admin, a tenant's own row for a tenant (the dashboard's view).
        path("tenants", () -> get(() -> op("tenants", () -> tenants(client)))),
        path("purge", () -> post(() -> auth.admin(principal, () -> op("purge", () -> purge(client))))),
        // Every node's books: the whole space, so an admin's only.
        path("fsck", () -> fsckRoute(principal, client)));
  }

  // ------------------------------------------------------------------ operations

  private CompletionStage<HttpResponse> alloc(VmapClient client, String body, Optional<String> key) {
    AllocOptions o = Api.read(body, AllocRequest.class).toOptions(client.geometry(), key, client::anyHome);
    return client.alloc(o).thenApply(a ->
        json(StatusCodes.CREATED, AreaJson.of(a.area(), a.node()))
            .addHeader(Location.create("/v1/areas/" + Unsigned.hex(a.start()))));
  }

  /** A batch of {@code client}'s principal; the limit on operations in flight is the member's, shared by all. */
  private CompletionStage<HttpResponse> batch(VmapClient client, String body) {
    return new Batches(client, client::anyHome, limits.batchOps(), inFlight, ui::account).run(body).thenApply(r -> json(StatusCodes.OK, r));
  }

  private CompletionStage<HttpResponse> find(VmapClient client, String segment) {
    long addr = Api.pathAddress(segment);
    return client.find(addr).thenApply(area -> {
      if (area.isEmpty()) throw new VmapException(ErrorCode.ENOENT, "no busy area contains " + Unsigned.hex(addr));
      return json(StatusCodes.OK, AreaJson.of(area.get(), client.geometry().nodeOf(area.get().start())));
    });
  }

  private CompletionStage<HttpResponse> free(VmapClient client, String segment, Optional<String> queryId,
      Optional<String> key) {
    long addr = Api.pathAddress(segment);
    String q = queryId.map(id -> Api.requestId(id, "requestId")).orElse(null);
    String id = Api.reconcileIds(q, key, "requestId");
    CompletionStage<?> s = id == null ? client.free(addr) : client.free(addr, id);
    return s.thenApply(area -> HttpResponse.create().withStatus(StatusCodes.NO_CONTENT));
  }

  private CompletionStage<HttpResponse> info(VmapClient client, Optional<String> format, Optional<String> accept) {
    boolean asJson;
    if (format.isPresent()) {
      asJson = switch (format.get().toLowerCase(Locale.ROOT)) {
        case "json" -> true;
        case "text" -> false;
        default -> throw new VmapException(ErrorCode.EINVAL, "format: must be json or text, got '" + format.get() + "'");
      };
    } else {
      asJson = accept.map(a -> a.toLowerCase(Locale.ROOT).contains("application/json")).orElse(false);
    }
    return client.info().thenApply(i -> asJson
        ? json(StatusCodes.OK, InfoJson.of(i))
        : HttpResponse.create().withStatus(StatusCodes.OK).withEntity(ContentTypes.TEXT_PLAIN_UTF8, i.render()));
  }

  private CompletionStage<HttpResponse> tenants(VmapClient client) {
    return client.tenants().thenApply(rows -> json(StatusCodes.OK, io.vmap.http.api.TenantsJson.of(rows)));
  }

  private CompletionStage<HttpResponse> purge(VmapClient client) {
    // VmapClient.purge logs it on io.vmap.audit, for HTTP and embedded callers alike.
    return client.purge().thenApply(n -> json(StatusCodes.OK, new Api.Purged(n)));
  }

  /**
   * {@code GET /v1/fsck[?node=K]}: every node's books, or node K's ({@link FsckBooks}); gzip when
   * asked (the free lists of the default geometry are about 44 MB of JSON).
   */
  private Route fsckRoute(Principal principal, VmapClient client) {
    return get(() -> auth.admin(principal, () -> encodeResponse(() -> parameterOptional("node", node ->
        extractActorSystem(sys -> op("fsck", () ->
            FsckBooks.of(client, akka.actor.typed.javadsl.Adapter.toTyped(sys).scheduler(), node)
                .thenApply(books -> json(StatusCodes.OK, books))))))));
  }

  /**
   * Runs one allocator operation: refuses it while not ready, times it, counts its result and turns
   * every failure into the JSON error shape (never a stack trace).
   */
  private Route op(String op, Supplier<CompletionStage<HttpResponse>> action) {
    // Built inside an extraction so that the action runs once per request, never at route build time.
    return extractRequestContext(ctx -> completeWithFuture(run(op, action)));
  }

  private CompletionStage<HttpResponse> run(String op, Supplier<CompletionStage<HttpResponse>> action) {
    long t0 = System.nanoTime();
    // A batch counts its operations itself (Batches), once its body is read.
    int weight = op.equals("batch") ? 0 : 1;
    boolean counted = false;
    CompletionStage<HttpResponse> s;
    try {
      if (!probe.ready()) {
        throw new VmapException(ErrorCode.EAGAIN, "not ready (" + probe.detail() + "); retry later or on another member");
      }
      inFlight.acquire(weight);
      counted = true;
      s = action.get();
    } catch (RuntimeException e) {
      s = CompletableFuture.failedFuture(e);
    }
    boolean release = counted;
    return s.handle((resp, err) -> {
      if (release) inFlight.release(weight);
      long dt = System.nanoTime() - t0;
      if (err == null) {
        metrics.record(op, "ok", dt);
        return resp;
      }
      Throwable c = unwrap(err);
      if (c instanceof Api.BadJson bad) c = new VmapException(ErrorCode.EINVAL, bad.getMessage());
      if (c instanceof VmapException ve) {
        metrics.record(op, ve.code().name(), dt);
        if (ve.code() == ErrorCode.ETIMEDOUT) {
          // The library's reason is Akka's ask-timeout text (actor paths, hints): keep it in the log.
          LOG.debug("{} timed out: {}", op, ve.reason());
          return error(ErrorCode.ETIMEDOUT, "no answer from the allocator in time for " + op
              + "; it may still take effect: retry with the same requestId");
        }
        return error(ve.code(), ve.reason());
      }
      LOG.error("{} failed unexpectedly", op, c);
      metrics.record(op, "EIO", dt);
      return error(StatusCodes.INTERNAL_SERVER_ERROR, "EIO", "internal error (" + c.getClass().getSimpleName() + "); see the server log");
    });
  }

  // ------------------------------------------------------------------ health and metrics

  private HttpResponse alive() {
    boolean ok;
    try {
      ok = probe.alive();
    } catch (RuntimeException e) {
      ok = false;
    }
    return json(ok ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE, new Api.Alive(ok));
  }

  private HttpResponse readiness() {
    boolean ok;
    String detail;
    try {
      ok = probe.ready();
      detail = probe.detail();
    } catch (RuntimeException e) {
      ok = false;
      detail = "readiness probe failed: " + e;
    }
    return json(ok ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE, new Api.Ready(ok, detail));
  }

  private CompletionStage<HttpResponse> scrape() {
    boolean ready;
    try {
      ready = probe.ready();
    } catch (RuntimeException e) {
      ready = false;
    }
    boolean r = ready;
    CompletableFuture<io.vmap.client.VmapInfo> info;
    try {
      info = client.info().toCompletableFuture().orTimeout(scrapeTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      info = CompletableFuture.failedFuture(e);
    }
    return info.handle((i, err) -> {
      if (err != null) {
        metrics.scrapeFailed();
        LOG.warn("metrics: info failed at scrape time: {}", unwrap(err).toString());
      }
      return HttpResponse.create().withStatus(StatusCodes.OK)
          .withEntity(PROMETHEUS, akka.util.ByteString.fromString(metrics.render(err == null ? i : null, r), java.nio.charset.StandardCharsets.UTF_8));
    });
  }

  // ------------------------------------------------------------------ errors

  static StatusCode statusOf(ErrorCode c) {
    return switch (c) {
      case ENOSPC -> StatusCodes.INSUFFICIENT_STORAGE;
      case EAGAIN -> StatusCodes.SERVICE_UNAVAILABLE;
      case EINVAL -> StatusCodes.BAD_REQUEST;
      case ENOENT -> StatusCodes.NOT_FOUND;
      case ETIMEDOUT -> StatusCodes.GATEWAY_TIMEOUT;
      // 4xx, not ENOSPC's 507: the tenant hit its own limit, the server is not out of space
      // (README "HTTP API").
      case EDQUOT -> StatusCodes.TOO_MANY_REQUESTS;
      case EPERM -> StatusCodes.FORBIDDEN;
      // The retry's first answer is gone: asking again cannot help (README "Decisions" 2).
      case ESTALE -> StatusCodes.GONE;
      // A reused request id with other parameters, as the Idempotency-Key draft and Stripe answer.
      case EEXIST -> StatusCodes.UNPROCESSABLE_ENTITY;
    };
  }

  private static String codeOf(int status) {
    return switch (status) {
      case 401 -> "EACCES";
      case 403 -> "EPERM";
      case 404 -> "ENOENT";
      case 429 -> "EDQUOT";
      case 503 -> "EAGAIN";
      case 504 -> "ETIMEDOUT";
      case 507 -> "ENOSPC";
      default -> status >= 500 ? "EIO" : "EINVAL";
    };
  }

  static HttpResponse error(ErrorCode c, String reason) {
    return error(statusOf(c), c.name(), reason);
  }

  static HttpResponse error(StatusCode status, String code, String reason) {
    return json(status, new Api.Error(code, reason == null ? "" : reason));
  }

  /** {@code dto} (a record of {@link io.vmap.http.api}) as the JSON body. */
  static HttpResponse json(StatusCode status, Object dto) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, Api.write(dto));
  }

  private static HttpResponse timeoutResponse(HttpRequest req) {
    return error(StatusCodes.GATEWAY_TIMEOUT, "ETIMEDOUT",
        "no answer within the HTTP request timeout for " + req.method().value() + " " + req.getUri().path()
            + "; the operation may still take effect: retry with the same requestId");
  }

  private RejectionHandler rejectionHandler() {
    return RejectionHandler.newBuilder()
        .handleNotFound(extractRequest(req -> complete(error(StatusCodes.NOT_FOUND, "ENOENT",
            "no such endpoint: " + req.method().value() + " " + req.getUri().path()))))
        .handle(akka.http.javadsl.server.MalformedRequestContentRejection.class, r ->
            extractRequest(req -> complete(bodyError(r.getCause(), req.getUri().path()))))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(VmapRoutes::asJsonError);
  }

  /** Akka's default rejection answers are plain text: keep the status, wrap the text as JSON. */
  private static HttpResponse asJsonError(HttpResponse r) {
    if (r.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) return r;
    String text = r.status().reason();
    if (!r.entity().isKnownEmpty() && r.entity() instanceof HttpEntity.Strict s) {
      text = s.getData().utf8String();
    }
    return r.withEntity(ContentTypes.APPLICATION_JSON, Api.write(new Api.Error(codeOf(r.status().intValue()), text)));
  }

  /**
   * An unreadable body of a request to {@code path}: too large (413, naming the limit of its route)
   * or not decodable (400), without the exception's text.
   */
  private HttpResponse bodyError(Throwable cause, String path) {
    if (cause instanceof akka.http.scaladsl.model.EntityStreamSizeException e) {
      return error(StatusCodes.PAYLOAD_TOO_LARGE, "EINVAL", "body: larger than the limit of " + e.limit()
          + " bytes (" + sizeLimitKey(e.limit(), path) + ")");
    }
    return error(StatusCodes.BAD_REQUEST, "EINVAL", "body: unreadable request content");
  }

  /** The setting that limits a body of {@code limit} bytes to {@code path}: its route's, else Akka HTTP's own. */
  private String sizeLimitKey(long limit, String path) {
    boolean batch = path.endsWith("/areas/batch");
    if (batch && limit == limits.batchBodyBytes()) return HttpLimits.PATH + ".batch-body-bytes";
    if (!batch && limit == limits.bodyBytes()) return HttpLimits.PATH + ".body-bytes";
    return "akka.http.server.parsing.max-content-length";
  }

  private ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(VmapException.class, e -> complete(error(e.code(), e.reason())))
        .match(Api.BadJson.class, e -> complete(error(ErrorCode.EINVAL, e.getMessage())))
        .match(akka.http.scaladsl.model.EntityStreamSizeException.class, e ->
            extractRequest(req -> complete(bodyError(e, req.getUri().path()))))
        .match(akka.http.scaladsl.model.IllegalRequestException.class, e -> {
          int status = e.status().intValue();
          return complete(error(StatusCodes.get(status), codeOf(status), e.info().formatPretty()));
        })
        .matchAny(t -> {
          LOG.error("unhandled exception in the HTTP API", t);
          return complete(error(StatusCodes.INTERNAL_SERVER_ERROR, "EIO",
              "internal error (" + t.getClass().getSimpleName() + "); see the server log"));
        })
        .build();
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
