package io.vmap.torture;

import io.vmap.chaos.ChaosWorkload;
import io.vmap.chaos.History;
import io.vmap.http.api.AllocRequest;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.state.ErrorCode;
import io.vmap.workload.Generator;
import io.vmap.workload.LiveAreas;
import io.vmap.workload.Op;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Clients of a {@link LocalCluster} over HTTP, each operation recorded in a {@link History}: a mixed
 * load (the chaos workload's {@link ChaosWorkload#mix}: allocations of 1 page to a few zones, some
 * aligned, windowed, homed, fail-fast or spanning zones; frees; finds; purges) from {@code clients}
 * threads, each with one request in flight, spreading attempts over every member.
 *
 * <p>Every allocation carries a request id (also its tag) and every free one: an attempt whose
 * outcome is unknown (504, a connection lost after sending, a 500) is recorded as a timeout and
 * retried with the same id on the next member; so is one refused because its member is down or not
 * ready (connection refused, 503 "not ready"), which took no effect, but to the history it is
 * only "unknown". A definite answer (success, ENOSPC, EAGAIN of a fail-fast allocation, ENOENT)
 * ends the operation. An operation still unknown after {@code retryFor} waits for {@link #drain}.
 */
public final class HttpLoad implements AutoCloseable {

  /** How one HTTP attempt ended. */
  public enum Kind {
    /** 2xx. */
    OK,
    /** A definite error answer of the allocator (ENOSPC, fail-fast EAGAIN, ENOENT, EINVAL). */
    ANSWER,
    /** The member is down or not ready: refused before doing anything. */
    UNAVAILABLE,
    /** No answer in time or the connection broke: the operation may or may not have taken effect. */
    TIMEOUT,
    /** 500: an internal error, outcome unknown. */
    INTERNAL
  }

  private record Result(Kind kind, int status, String body, String error) {
    String reason() {
      return error != null ? error : status + " " + body;
    }
  }

  /** An operation whose outcome is still unknown after its retries. */
  private sealed interface Pending {}

  private record PendingAlloc(String id, Op.Alloc alloc) implements Pending {}

  private record PendingFree(LiveAreas.Held held) implements Pending {}

  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();

  private final LocalCluster cluster;
  private final History history;
  private final Geometry g;
  private final Generator generator;
  private final long seed;
  private final int clients;
  private final Duration requestTimeout;
  private final Duration retryFor;
  private final String prefix;
  private final LiveAreas live = new LiveAreas();
  private final List<Pending> pending = new ArrayList<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();
  /** Attempts by member and kind: [member * kinds + kind]. */
  private final AtomicLongArray attempts;
  private final AtomicLong completed = new AtomicLong();
  /** Operations (not attempts) by {@link History.Kind}. */
  private final AtomicLongArray operations = new AtomicLongArray(History.Kind.values().length);
  private final AtomicLong allocated = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();

  /**
   * @param requestTimeout how long one HTTP attempt may take (more than the members' HTTP timeout)
   * @param retryFor how long an operation is retried before it waits for {@link #drain}
   */
  public HttpLoad(LocalCluster cluster, History history, long seed, int clients, Duration requestTimeout,
      Duration retryFor) {
    this.cluster = cluster;
    this.history = history;
    this.g = history.geometry();
    this.generator = new Generator(g, ChaosWorkload.mix(g, 0.6));
    this.seed = seed;
    this.clients = clients;
    this.requestTimeout = requestTimeout;
    this.retryFor = retryFor;
    this.prefix = "t" + Long.toHexString(seed) + "-";
    this.attempts = new AtomicLongArray(cluster.size() * Kind.values().length);
  }

  // ------------------------------------------------------------------ running

  /** Starts the client threads; they run until {@link #stop}. */
  public void start() {
    SplittableRandom root = new SplittableRandom(seed);
    for (int c = 0; c < clients; c++) {
      SplittableRandom rnd = root.split();
      int client = c;
      Thread t = new Thread(() -> client(client, rnd), "torture-client-" + c);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /** Stops issuing operations and waits until every client's last one is done. */
  public void stop() {
    stop.set(true);
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    threads.clear();
  }

  @Override
  public void close() {
    stop();
  }

  private void client(int c, SplittableRandom rnd) {
    long n = 0;
    int[] next = {c % cluster.size()};
    while (!stop.get()) {
      Op op = generator.next(rnd, live);
      History.Kind kind = op instanceof Op.Alloc ? History.Kind.ALLOC
          : op instanceof Op.Free ? History.Kind.FREE
          : op instanceof Op.Find ? History.Kind.FIND
          : History.Kind.PURGE;
      operations.incrementAndGet(kind.ordinal());
      if (op instanceof Op.Alloc a) {
        alloc(prefix + "c" + c + "-" + (n++), a, next, retryFor);
      } else if (op instanceof Op.Free f) {
        free(f.held(), next, retryFor);
      } else if (op instanceof Op.Find f) {
        find(f.addr(), nextMember(next));
      } else {
        purge(nextMember(next));
      }
      completed.incrementAndGet();
    }
  }

  /** Operations done so far (each counted once, however many attempts it took). */
  public long completed() {
    return completed.get();
  }

  /** Operations of the load proper of {@code kind} (each counted once, however many attempts it took). */
  public long operations(History.Kind kind) {
    return operations.get(kind.ordinal());
  }

  /** Allocations answered with an area so far. */
  public long allocated() {
    return allocated.get();
  }

  /** Attempts after the first of an operation (same request id). */
  public long retries() {
    return retries.get();
  }

  /** Attempts that ended as {@code kind} at member {@code member}. */
  public long attempts(int member, Kind kind) {
    return attempts.get(member * Kind.values().length + kind.ordinal());
  }

  /** Attempts that ended as {@code kind}, at any member. */
  public long attempts(Kind kind) {
    long n = 0;
    for (int m = 0; m < cluster.size(); m++) n += attempts(m, kind);
    return n;
  }

  /** Waits until {@code more} further operations are done; false if {@code max} passes first. */
  public boolean awaitProgress(long more, Duration max) {
    long target = completed.get() + more;
    long deadline = System.nanoTime() + max.toNanos();
    while (completed.get() < target) {
      if (System.nanoTime() > deadline) return false;
      LocalCluster.pause(50);
    }
    return true;
  }

  /** Areas allocated, acknowledged and not freed; call after {@link #stop}. */
  public List<LiveAreas.Held> live() {
    List<LiveAreas.Held> all = live.takeAll();
    for (LiveAreas.Held h : all) live.add(h);
    return all;
  }

  /** Operations still unknown after their retries. */
  public synchronized int pending() {
    return pending.size();
  }

  /**
   * Retries every operation still unknown until it has an answer or {@code max} passes; returns
   * how many are still unknown.
   */
  public int drain(Duration max) {
    List<Pending> todo;
    synchronized (this) {
      todo = new ArrayList<>(pending);
      pending.clear();
    }
    int[] next = {0};
    for (Pending p : todo) {
      if (p instanceof PendingAlloc a) alloc(a.id(), a.alloc(), next, max);
      else free(((PendingFree) p).held(), next, max);
    }
    return pending();
  }

  /** Frees every live area (retrying unknown outcomes for up to {@code max}); returns how many stay unknown. */
  public int freeAll(Duration max) {
    int[] next = {0};
    for (LiveAreas.Held h : live.takeAll()) free(h, next, max);
    return pending();
  }

  // ------------------------------------------------------------------ operations

  private void alloc(String id, Op.Alloc a, int[] next, Duration retry) {
    History.AllocRequest req = new History.AllocRequest(a.size(), a.align(), a.vstart(), a.vend(), id);
    String body = Api.write(new AllocRequest(a.size(), a.align() == 0 ? null : a.align(), a.vstart(), a.vend(), id,
        a.failFast() ? "fail-fast" : null, id, a.home() == null ? null : (long) a.home()));
    long deadline = System.nanoTime() + retry.toNanos();
    for (int attempt = 0; ; attempt++) {
      if (attempt > 0) retries.incrementAndGet();
      int m = nextMember(next);
      History.Op op = history.alloc(id, req);
      Result r = send(m, HttpRequest.newBuilder(cluster.uri(m, "/v1/areas"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)), a.failFast());
      switch (r.kind()) {
        case OK -> {
          Area area = Api.read(r.body(), AreaJson.class).toArea();
          op.ok(area);
          live.add(new LiveAreas.Held(area, id));
          allocated.incrementAndGet();
          return;
        }
        case ANSWER -> {
          op.fail(code(r), r.body());
          return;
        }
        default -> op.timeout(r.reason());
      }
      if (System.nanoTime() > deadline) {
        synchronized (this) {
          pending.add(new PendingAlloc(id, a));
        }
        return;
      }
      backOff(r, attempt);
    }
  }

  private void free(LiveAreas.Held h, int[] next, Duration retry) {
    String id = "free-" + h.requestId();
    long start = h.area().start();
    long deadline = System.nanoTime() + retry.toNanos();
    for (int attempt = 0; ; attempt++) {
      if (attempt > 0) retries.incrementAndGet();
      int m = nextMember(next);
      History.Op op = history.free(id, start, h.area());
      Result r = send(m, HttpRequest.newBuilder(cluster.uri(m, "/v1/areas/" + Unsigned.hex(start) + "?requestId=" + id))
          .DELETE(), false);
      switch (r.kind()) {
        case OK -> {
          op.ok(null);
          live.released(h.area());
          return;
        }
        case ANSWER -> {
          op.fail(code(r), r.body());
          live.released(h.area());
          return;
        }
        default -> op.timeout(r.reason());
      }
      if (System.nanoTime() > deadline) {
        synchronized (this) {
          pending.add(new PendingFree(h));
        }
        return;
      }
      backOff(r, attempt);
    }
  }

  private void find(long addr, int m) {
    History.Op op = history.find(addr);
    Result r = send(m, HttpRequest.newBuilder(cluster.uri(m, "/v1/areas/" + Unsigned.hex(addr))).GET(), false);
    if (r.kind() == Kind.OK) op.ok(Api.read(r.body(), AreaJson.class).toArea());
    else if (r.kind() == Kind.ANSWER && r.status() == 404) op.ok(null);
    else if (r.kind() == Kind.ANSWER) op.fail(code(r), r.body());
    else op.timeout(r.reason());
  }

  /** A lookup's answer: whether the member answered, and the area it found (null: none). */
  public record Found(boolean answered, Area area) {}

  /** Looks {@code addr} up at member {@code m}, recorded in the history like any find. */
  public Found findAt(int m, long addr) {
    History.Op op = history.find(addr);
    Result r = send(m, HttpRequest.newBuilder(cluster.uri(m, "/v1/areas/" + Unsigned.hex(addr))).GET(), false);
    if (r.kind() == Kind.OK) {
      Area a = Api.read(r.body(), AreaJson.class).toArea();
      op.ok(a);
      return new Found(true, a);
    }
    if (r.kind() == Kind.ANSWER && r.status() == 404) {
      op.ok(null);
      return new Found(true, null);
    }
    op.timeout(r.reason());
    return new Found(false, null);
  }

  private void purge(int m) {
    History.Op op = history.purge();
    Result r = send(m, HttpRequest.newBuilder(cluster.uri(m, "/v1/purge")).POST(HttpRequest.BodyPublishers.noBody()),
        false);
    if (r.kind() == Kind.OK) op.okCount(Api.read(r.body(), Api.Purged.class).released());
    else if (r.kind() == Kind.ANSWER) op.fail(code(r), r.body());
    else op.timeout(r.reason());
  }

  /** A purge at member {@code m}, recorded; whether it was answered. */
  public boolean purgeAt(int m) {
    long before = attempts(m, Kind.OK);
    purge(m);
    return attempts(m, Kind.OK) > before;
  }

  // ------------------------------------------------------------------ HTTP

  /** The next member to try, skipping those whose process is not running (if any runs). */
  private int nextMember(int[] next) {
    int n = cluster.size();
    for (int k = 0; k < n; k++) {
      int m = next[0]++ % n;
      if (next[0] >= n) next[0] = 0;
      if (cluster.alive(m)) return m;
    }
    return next[0]++ % n;
  }

  private Result send(int m, HttpRequest.Builder b, boolean failFast) {
    Result r;
    try {
      HttpResponse<String> res = HTTP.send(b.timeout(requestTimeout).build(), HttpResponse.BodyHandlers.ofString());
      int s = res.statusCode();
      String body = res.body();
      Kind k;
      if (s / 100 == 2) k = Kind.OK;
      else if (s == 503) k = failFast && !body.contains("not ready") ? Kind.ANSWER : Kind.UNAVAILABLE;
      else if (s == 504) k = Kind.TIMEOUT;
      else if (s == 400 || s == 404 || s == 507) k = Kind.ANSWER;
      else k = Kind.INTERNAL;
      r = new Result(k, s, body, null);
    } catch (ConnectException e) {
      r = new Result(Kind.UNAVAILABLE, 0, "", "connection refused: " + e.getMessage());
    } catch (IOException e) {
      r = new Result(Kind.TIMEOUT, 0, "", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      r = new Result(Kind.TIMEOUT, 0, "", "interrupted");
    }
    attempts.incrementAndGet(m * Kind.values().length + r.kind().ordinal());
    return r;
  }

  private static ErrorCode code(Result r) {
    try {
      return ErrorCode.valueOf(Api.read(r.body(), Api.Error.class).error());
    } catch (RuntimeException e) {
      return ErrorCode.EINVAL;
    }
  }

  /** A refused attempt goes to the next member at once, unless every member refused lately. */
  private void backOff(Result r, int attempt) {
    if (r.kind() == Kind.UNAVAILABLE && attempt % cluster.size() != cluster.size() - 1) return;
    LocalCluster.pause(Math.min(1000, 50L << Math.min(4, attempt / cluster.size())));
  }
}
