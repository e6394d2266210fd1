package io.vmap.http;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Scheduler;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.AskPattern;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.Location;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import io.vmap.chaos.Inspector;
import io.vmap.chaos.NodeBooks;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.http.api.Api;
import io.vmap.http.api.InvalidValue;
import io.vmap.http.api.NodesJson;
import io.vmap.http.api.Wire;
import io.vmap.http.ui.PurgeView;
import io.vmap.http.ui.SpaceModel;
import io.vmap.http.ui.Traffic;
import io.vmap.protocol.ClientProtocol;
import io.vmap.space.Geometry;
import io.vmap.state.ErrorCode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * What an operator looks at, served by every member: the page ({@code GET /ui}, static assets from
 * the jar's {@code ui/}), the JSON views it draws ({@code GET /v1/space}, {@code /v1/space/areas},
 * {@code /v1/nodes}, {@code /v1/purge/status}) and the API's description ({@code GET
 * /v1/openapi.json}). {@link #observe} counts the allocator requests per vmap node for
 * {@code /v1/nodes} and for {@code /metrics} ({@link Metrics#nodeRequest}). Mounted by {@link
 * VmapRoutes} inside its error handling, so failures here get
 * the API's JSON error shape.
 */
final class UiRoutes extends AllDirectives {

  /** The OpenAPI document in the jar. */
  static final String OPENAPI = "openapi/vmap-openapi.json";

  /** Asset names under /ui/: one segment, no dot-dot. */
  private static final Pattern ASSET = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}");

  /** Inspections finished less than this ago are shared between viewers (the page and vmap top poll every second or two). */
  static final Duration SNAPSHOT_TTL = Duration.ofMillis(500);

  private final VmapClient client;
  private final HealthProbe probe;
  private final Metrics metrics;
  private final Traffic traffic = new Traffic();
  private final PurgeView purge = new PurgeView();

  private CompletableFuture<SpaceModel> snapshot;
  /** When {@link #snapshot} completed (System.nanoTime()). */
  private volatile long snapshotDoneAt;

  UiRoutes(VmapClient client, HealthProbe probe, Metrics metrics) {
    this.client = client;
    this.probe = probe;
    this.metrics = metrics;
  }

  Route route() {
    return concat(pathPrefix("v1", () -> views(UnaryOperator.identity())), page());
  }

  /**
   * The JSON views under {@code /v1} (mounted there by the caller); {@code guard} wraps each view
   * that shows the whole space (every tenant's areas), once its path has matched: with
   * authentication on, an admin check. The API description is for every caller.
   */
  Route views(UnaryOperator<Route> guard) {
    return concat(
        path("openapi.json", () -> get(() -> getFromResource(OPENAPI, ContentTypes.APPLICATION_JSON))),
        pathPrefix("space", () -> concat(
            pathEnd(() -> get(() -> guard.apply(spaceRoute()))),
            path("areas", () -> get(() -> guard.apply(areasRoute()))))),
        path("nodes", () -> get(() -> guard.apply(view(this::nodes)))),
        path(PathMatchers.segment("purge").slash("status"), () -> get(() ->
            guard.apply(parameterOptional("stuckAfter", stuck -> view(s -> purgeStatus(stuck)))))));
  }

  /** The page and its static assets ({@code /ui}): no data of their own, so open to every caller. */
  Route page() {
    return pathPrefix("ui", () -> concat(
        pathEndOrSingleSlash(() -> get(() -> getFromResource("ui/index.html", ContentTypes.TEXT_HTML_UTF8))),
        path(PathMatchers.segment(ASSET), name -> get(() -> getFromResource("ui/" + name)))));
  }

  private Route spaceRoute() {
    return parameterOptional("from", from -> parameterOptional("to", to -> parameterOptional("cells", cells ->
        view(s -> space(s, from, to, cells)))));
  }

  private Route areasRoute() {
    return parameterOptional("from", from -> parameterOptional("to", to -> parameterOptional("limit", limit ->
        view(s -> areas(s, from, to, limit)))));
  }

  /** {@code inner} with every allocator request ({@code /v1/areas...}) counted for its node and operation. */
  Route observe(Supplier<Route> inner) {
    return extractRequest(req -> {
      long t0 = System.nanoTime();
      return mapResponse(resp -> {
        account(req, resp, System.nanoTime() - t0);
        return resp;
      }, inner);
    });
  }

  // ------------------------------------------------------------------ the views

  private CompletionStage<HttpResponse> space(Scheduler s, Optional<String> from, Optional<String> to, Optional<String> cells) {
    Geometry g = client.geometry();
    long a = from.map(f -> address(f, "from")).orElse(g.vstart());
    long b = to.map(t -> address(t, "to")).orElse(g.vend());
    int n = cells.map(c -> count(c, "cells", SpaceModel.MAX_CELLS)).orElse(SpaceModel.DEFAULT_CELLS);
    return model(s).thenApply(m -> VmapRoutes.json(StatusCodes.OK, m.cells(a, b, n)));
  }

  private CompletionStage<HttpResponse> areas(Scheduler s, Optional<String> from, Optional<String> to, Optional<String> limit) {
    Geometry g = client.geometry();
    long a = from.map(f -> address(f, "from")).orElse(g.vstart());
    long b = to.map(t -> address(t, "to")).orElse(g.vend());
    int n = limit.map(c -> count(c, "limit", SpaceModel.MAX_AREAS)).orElse(SpaceModel.DEFAULT_AREAS);
    return model(s).thenApply(m -> VmapRoutes.json(StatusCodes.OK, m.areas(a, b, n)));
  }

  private CompletionStage<HttpResponse> nodes(Scheduler s) {
    return model(s).thenApply(m -> {
      List<NodesJson.OpTraffic> ops = new ArrayList<>();
      for (String op : List.of("alloc", "free", "find")) ops.add(new NodesJson.OpTraffic(op, traffic.stats("op:" + op)));
      return VmapRoutes.json(StatusCodes.OK, new NodesJson(SpaceModel.geometryJson(m.geometry()),
          m.nodes(k -> traffic.stats("node:" + k)), traffic.stats("node:unattributed"), ops, Traffic.WINDOW_SECONDS,
          Instant.now().toString()));
    });
  }

  private CompletionStage<HttpResponse> purgeStatus(Optional<String> stuckAfter) {
    Duration stuck = stuckAfter.map(t -> Duration.ofMillis(seconds(t, "stuckAfter", 86_400) * 1000L)).orElse(PurgeView.STUCK_AFTER);
    return client.purgeStatus().thenApply(st -> VmapRoutes.json(StatusCodes.OK, purge.view(st, Instant.now(), stuck)));
  }

  /**
   * Every node's books: an inspection still under way is joined, a finished one is shared for
   * {@link #SNAPSHOT_TTL}, so viewers polling together never pile inspections onto the nodes.
   */
  private synchronized CompletionStage<SpaceModel> model(Scheduler scheduler) {
    long now = System.nanoTime();
    if (snapshot != null && !snapshot.isDone()) return snapshot;
    if (snapshot != null && !snapshot.isCompletedExceptionally() && now - snapshotDoneAt < SNAPSHOT_TTL.toNanos()) {
      return snapshot;
    }
    Geometry g = client.geometry();
    List<CompletableFuture<NodeBooks>> asks = new ArrayList<>();
    for (int k = 0; k < g.nodes(); k++) {
      asks.add(AskPattern.<ClientProtocol.Command, ClientProtocol.NodeReport>ask(client.node(k),
              (ActorRef<ClientProtocol.NodeReport> r) -> new ClientProtocol.Inspect(r), client.timeout(), scheduler)
          .thenApply(Inspector::of).toCompletableFuture());
    }
    snapshot = CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
        .thenApply(v -> new SpaceModel(g, asks.stream().map(CompletableFuture::join).toList(), Instant.now()));
    snapshot.whenComplete((m, e) -> snapshotDoneAt = System.nanoTime());
    return snapshot;
  }

  // ------------------------------------------------------------------ plumbing

  /** A view: refused while not ready, its failures answered in the API's error shape. */
  private Route view(java.util.function.Function<Scheduler, CompletionStage<HttpResponse>> action) {
    return extractActorSystem(system -> {
      Scheduler scheduler = Adapter.toTyped(system).scheduler();
      return completeWithFuture(run(() -> action.apply(scheduler)));
    });
  }

  private CompletionStage<HttpResponse> run(Supplier<CompletionStage<HttpResponse>> action) {
    CompletionStage<HttpResponse> s;
    try {
      if (!probe.ready()) {
        throw new VmapException(ErrorCode.EAGAIN, "not ready (" + probe.detail() + "); retry later or on another member");
      }
      s = action.get();
    } catch (RuntimeException e) {
      s = CompletableFuture.failedFuture(e);
    }
    return s.exceptionally(UiRoutes::failure);
  }

  private static HttpResponse failure(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    if (t instanceof VmapException ve) return VmapRoutes.error(ve.code(), ve.reason());
    if (t instanceof IllegalArgumentException e) return VmapRoutes.error(ErrorCode.EINVAL, e.getMessage());
    if (t instanceof java.util.concurrent.TimeoutException || t instanceof akka.pattern.AskTimeoutException) {
      return VmapRoutes.error(ErrorCode.ETIMEDOUT, "a vmap node did not answer in time; retry");
    }
    return VmapRoutes.error(StatusCodes.INTERNAL_SERVER_ERROR, "EIO",
        "internal error (" + t.getClass().getSimpleName() + "); see the server log");
  }

  private void account(HttpRequest req, HttpResponse resp, long nanos) {
    String path = req.getUri().path();
    if (!path.startsWith("/v1/areas")) return;
    String method = req.method().value();
    String op;
    String segment;
    if (path.equals("/v1/areas") && method.equals("POST")) {
      op = "alloc";
      segment = resp.getHeader(Location.class).map(l -> l.getUri().path()).map(UiRoutes::lastSegment).orElse(null);
    } else if (path.startsWith("/v1/areas/") && (method.equals("GET") || method.equals("DELETE"))) {
      op = method.equals("GET") ? "find" : "free";
      segment = lastSegment(path);
    } else {
      return;
    }
    boolean error = resp.status().intValue() >= 400;
    String node = "unattributed";
    if (segment != null) {
      try {
        node = Integer.toString(client.geometry().nodeOf(io.vmap.space.Unsigned.parse(segment)));
      } catch (NumberFormatException e) {
        // a malformed address: counted, but for no node
      }
    }
    account(op, node, nanos, error);
  }

  /**
   * Counts one allocator operation for vmap node {@code node} (a number or "unattributed"): a
   * single request's ({@link #observe}) or one of a batch's ({@link Batches}), alike.
   */
  void account(String op, String node, long nanos, boolean error) {
    traffic.record("op:" + op, nanos, error);
    traffic.record("node:" + node, nanos, error);
    metrics.nodeRequest(node, op, nanos, error);
  }

  private static String lastSegment(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  private static long address(String text, String field) {
    try {
      return Wire.parseUnsigned(null, text, field);
    } catch (InvalidValue e) {
      throw new Api.BadJson(e.getOriginalMessage());
    }
  }

  private static long seconds(String text, String field, long max) {
    long v = address(text, field);
    if (Long.compareUnsigned(v, max) > 0) throw new Api.BadJson(field + ": " + Long.toUnsignedString(v) + " is not in 0.." + max);
    return v;
  }

  private static int count(String text, String field, int max) {
    long v = address(text, field);
    if (v < 1 || v > max) throw new Api.BadJson(field + ": " + Long.toUnsignedString(v) + " is not in 1.." + max);
    return (int) v;
  }
}
