package io.vmap.bench;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.vmap.cli.UsageException;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.http.api.InfoJson;
import io.vmap.state.ErrorCode;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * {@code --target http://host:port}: a running member (or {@code vmap node}) through its JSON API,
 * so each call adds an HTTP round trip, JSON and, in a cluster, sharding hops to the allocator's.
 * The space is the member's: the bench reads its geometry from {@code GET /v1/space?cells=1}
 * (small whatever the number of areas; {@code /v1/info} lists every area).
 *
 * <p>The client is {@link BenchHttpClient}: keep-alive HTTP/1.1 connections, one request in flight
 * each, one selector thread per bench worker that completes the calls' futures itself (so a chain's
 * next request leaves from that thread, with no hand-off), requests written from pre-built byte
 * templates. The bench shares the CPUs with the member it measures when both run on one machine, so
 * its cost per request matters: Akka HTTP's pooled client (until this class) drove one member at
 * 5.6-6.3k ops/s where {@code wrk} got 20k, the JDK's {@code HttpClient} (a hand-off to its
 * executor per response) at 3k. BENCHMARKS.md, "The bench's HTTP client", has the figures.
 *
 * <p>Answers: an allocation is 201 (the area), 507 or 503 (no space: {@link #NONE}); a free is 204,
 * 404 (ENOENT) or 400 (EINVAL); a lookup 200 or 404 ({@link #NONE}). Any other status fails the call
 * with an {@link IllegalStateException} carrying the status and the member's error body, which the
 * bench counts as the case's error. A call unanswered after 60 s fails with a timeout.
 * A member with authentication on (vmap.http.auth) gets the bearer token of {@code VMAP_TOKEN}.
 *
 * <p>{@code --target http://host:port/v1/areas/batch} sends the same calls through the batch
 * endpoint instead, coalesced while earlier batches are in flight ({@link HttpBatches}); each
 * call's result is read from its item by the rules above. Purges and readiness stay single calls.
 */
final class HttpTarget implements BenchTarget {

  static final long TIMEOUT_MS = 60_000;

  private static final byte[] CRLF = bytes("\r\n");

  private final String base;
  private final BenchHttpClient client;
  private final long page;
  private final int nodes;
  /** "POST /v1/areas ..." up to the Content-Length's value. */
  private final byte[] allocHead;
  private final byte[] freeHead = bytes("DELETE /v1/areas/");
  private final byte[] findHead = bytes("GET /v1/areas/");
  /** " HTTP/1.1", Host and Authorization, the empty line: the tail of a request without a body. */
  private final byte[] tail;
  private final byte[] purge;
  private final byte[] ready;
  /** Non-null for {@code http://host:port/v1/areas/batch}: the calls go out in batches. */
  private final HttpBatches batches;

  /** Operations in one batch request at most (the member's own limit, vmap.limits.http.batch-ops, is larger). */
  static final int BATCH_OPS = 1000;
  /** Batch requests in flight at most, each on its own connection (as {@code wrk -c4} in scripts/http-bench.sh). */
  static final int BATCHES_IN_FLIGHT = 4;

  /**
   * {@code base} is {@code http://host:port}, or {@code http://host:port/v1/areas/batch} for calls
   * coalesced into batches ({@link HttpBatches}); one event loop per bench worker ({@code loops}).
   */
  HttpTarget(String base, int loops) {
    this(base, loops, TIMEOUT_MS);
  }

  HttpTarget(String base, int loops, long timeoutMillis) {
    this.base = base;
    URI uri = URI.create(base);
    boolean batch = "/v1/areas/batch".equals(uri.getPath());
    String token = System.getenv("VMAP_TOKEN");
    String headers = "Host: " + uri.getHost() + ":" + uri.getPort() + "\r\n"
        + (token != null && !token.isBlank() ? "Authorization: Bearer " + token.strip() + "\r\n" : "");
    this.allocHead = bytes("POST /v1/areas HTTP/1.1\r\n" + headers + "Content-Type: application/json\r\nContent-Length: ");
    this.tail = bytes(" HTTP/1.1\r\n" + headers + "\r\n");
    this.purge = bytes("POST /v1/purge HTTP/1.1\r\n" + headers + "Content-Length: 0\r\n\r\n");
    this.ready = bytes("GET /health/ready HTTP/1.1\r\n" + headers + "\r\n");
    this.client = new BenchHttpClient(uri.getHost(), uri.getPort(), loops, timeoutMillis, TimeUnit.MILLISECONDS);
    this.batches = !batch ? null : new HttpBatches(client,
        bytes("POST /v1/areas/batch HTTP/1.1\r\n" + headers + "Content-Type: application/json\r\nContent-Length: "),
        BATCH_OPS, BATCHES_IN_FLIGHT);
    try {
      InfoJson.GeometryJson g = client.send(bytes("GET /v1/space?cells=1 HTTP/1.1\r\n" + headers + "\r\n"),
              "GET /v1/space?cells=1", (status, b, off, len) -> {
                if (status != 200) throw new IllegalStateException("HTTP " + status + " " + text(b, off, len));
                return Api.read(text(b, off, len), SpaceGeometry.class).geometry();
              })
          .get(2 * timeoutMillis + 10_000, TimeUnit.MILLISECONDS); // the client's own timeout comes first
      if (g == null || g.page() == null || g.nodes() == null) throw new Api.BadJson("no geometry");
      this.page = g.page();
      this.nodes = g.nodes();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      client.close();
      throw new UsageException("interrupted");
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      client.close();
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new UsageException("target '" + base + "' does not answer GET /v1/space: " + cause.getMessage());
    }
  }

  @Override
  public String name() {
    return base;
  }

  @Override
  public String describe() {
    return batches != null
        ? base + ": a member's batch endpoint (" + nodes + " nodes); calls coalesced into batches of up to " + BATCH_OPS
            + " operations, " + BATCHES_IN_FLIGHT + " in flight"
        : base + ": a member's HTTP API (" + nodes + " nodes); each call = HTTP/1.1 + JSON + the member's client";
  }

  @Override
  public long page() {
    return page;
  }

  @Override
  public CompletionStage<Long> allocAsync(long size, long align, int hint) {
    if (batches != null) return batches.submit("alloc", allocOp(size, align, hint < 0 ? -1 : hint % nodes));
    return client.send(allocRequest(size, align, hint < 0 ? -1 : hint % nodes), "POST /v1/areas",
        (status, b, off, len) -> allocValue(status, () -> start(b, off, len), () -> text(b, off, len)));
  }

  @Override
  public CompletionStage<ErrorCode> freeAsync(long addr) {
    if (batches != null) return batches.submit("free", addressOp(FREE_OP, addr));
    return client.send(addressRequest(freeHead, addr), "DELETE /v1/areas/{addr}",
        (status, b, off, len) -> freeValue(status, () -> text(b, off, len)));
  }

  @Override
  public CompletionStage<Long> findAsync(long addr) {
    if (batches != null) return batches.submit("find", addressOp(FIND_OP, addr));
    return client.send(addressRequest(findHead, addr), "GET /v1/areas/{addr}",
        (status, b, off, len) -> findValue(status, () -> start(b, off, len), () -> text(b, off, len)));
  }

  // How a status becomes a call's result, one rule for a single call and a batch's item: the
  // value, or an error naming the status and what came with it ({@code what}: the body, or the
  // item's error and reason).

  /** 201: the area's start; 507 (ENOSPC) or 503 (EAGAIN): no space, {@link #NONE}. */
  static long allocValue(int status, LongSupplier start, Supplier<String> what) {
    return switch (status) {
      case 201 -> start.getAsLong();
      case 507, 503 -> NONE;
      default -> throw new IllegalStateException("alloc: HTTP " + status + " " + what.get());
    };
  }

  /** 204: freed (null); 404: ENOENT; 400: EINVAL. */
  static ErrorCode freeValue(int status, Supplier<String> what) {
    return switch (status) {
      case 204 -> null;
      case 404 -> ErrorCode.ENOENT;
      case 400 -> ErrorCode.EINVAL;
      default -> throw new IllegalStateException("free: HTTP " + status + " " + what.get());
    };
  }

  /** 200: the area's start; 404: not found, {@link #NONE}. */
  static long findValue(int status, LongSupplier start, Supplier<String> what) {
    return switch (status) {
      case 200 -> start.getAsLong();
      case 404 -> NONE;
      default -> throw new IllegalStateException("find: HTTP " + status + " " + what.get());
    };
  }

  @Override
  public CompletionStage<Integer> purgeAsync() {
    return client.send(purge, "POST /v1/purge", (status, b, off, len) -> {
      if (status != 200) throw new IllegalStateException("purge: HTTP " + status + " " + text(b, off, len));
      return Api.read(text(b, off, len), Api.Purged.class).released();
    });
  }

  @Override
  public CompletionStage<Void> quiesce() {
    return client.send(ready, "GET /health/ready", (status, b, off, len) -> null);
  }

  @Override
  public void close() {
    client.close();
  }

  /** Connections the client opened so far (keep-alive: one per request in flight at most). */
  int connectionsOpened() {
    return client.connectionsOpened();
  }

  /** The part of {@code GET /v1/space} the bench needs. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  record SpaceGeometry(InfoJson.GeometryJson geometry) {}

  /**
   * {@code POST /v1/areas} with the JSON of {@code AllocRequest.of(size, align, node)}:
   * {@code {"size":4096,"align":8192,"node":3}}, align left out when 0, node when negative.
   */
  byte[] allocRequest(long size, long align, int node) {
    Bytes body = allocFields(new Bytes(64).ascii("{"), size, align, node).ascii("}");
    return new Bytes(allocHead.length + 8 + body.n).put(allocHead, allocHead.length).unsigned(body.n)
        .put(CRLF, 2).put(CRLF, 2).put(body.a, body.n).array();
  }

  /** A batch's alloc operation: the JSON of {@code BatchRequest.Op.alloc(size, align, node)}. */
  byte[] allocOp(long size, long align, int node) {
    return allocFields(new Bytes(64).ascii("{\"op\":\"alloc\","), size, align, node).ascii("}").array();
  }

  /** {@code "size":4096,"align":8192,"node":3}: align left out when 0, node when negative. */
  private static Bytes allocFields(Bytes b, long size, long align, int node) {
    b.ascii("\"size\":").unsigned(size);
    if (align != 0) b.ascii(",\"align\":").unsigned(align);
    if (node >= 0) b.ascii(",\"node\":").unsigned(node);
    return b;
  }

  static final byte[] FREE_OP = bytes("{\"op\":\"free\",\"addr\":\"");
  static final byte[] FIND_OP = bytes("{\"op\":\"find\",\"addr\":\"");

  /** A batch's free or find operation: {@code {"op":"free","addr":"0x..."}}. */
  static byte[] addressOp(byte[] head, long addr) {
    return new Bytes(head.length + 20).put(head, head.length).hex(addr).ascii("\"}").array();
  }

  /** {@code head} + the address as 0x and 16 hex digits (Unsigned.hex) + the tail. */
  byte[] addressRequest(byte[] head, long addr) {
    return new Bytes(head.length + 18 + tail.length).put(head, head.length).hex(addr).put(tail, tail.length).array();
  }

  private static long start(byte[] b, int off, int len) {
    return Api.read(text(b, off, len), AreaJson.class).toArea().start();
  }

  static String text(byte[] b, int off, int len) {
    return new String(b, off, len, StandardCharsets.UTF_8);
  }

  private static byte[] bytes(String ascii) {
    return ascii.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** A request's bytes, appended in place (no Strings on the way). */
  private static final class Bytes {
    byte[] a;
    int n;

    Bytes(int capacity) {
      a = new byte[capacity];
    }

    Bytes put(byte[] src, int len) {
      if (n + len > a.length) a = Arrays.copyOf(a, Math.max(n + len, 2 * a.length));
      System.arraycopy(src, 0, a, n, len);
      n += len;
      return this;
    }

    Bytes ascii(String s) {
      if (n + s.length() > a.length) a = Arrays.copyOf(a, Math.max(n + s.length(), 2 * a.length));
      for (int i = 0; i < s.length(); i++) a[n++] = (byte) s.charAt(i);
      return this;
    }

    /** Decimal digits of {@code v} read as unsigned. */
    Bytes unsigned(long v) {
      if (v < 0) return ascii(Long.toUnsignedString(v));
      int digits = 1;
      for (long x = v; x >= 10; x /= 10) digits++;
      if (n + digits > a.length) a = Arrays.copyOf(a, Math.max(n + digits, 2 * a.length));
      for (int i = n + digits - 1; i >= n; i--, v /= 10) a[i] = (byte) ('0' + v % 10);
      n += digits;
      return this;
    }

    /** {@code 0x} and 16 lowercase hex digits. */
    Bytes hex(long v) {
      if (n + 18 > a.length) a = Arrays.copyOf(a, Math.max(n + 18, 2 * a.length));
      a[n++] = '0';
      a[n++] = 'x';
      for (int shift = 60; shift >= 0; shift -= 4) a[n++] = (byte) Character.forDigit((int) (v >>> shift) & 0xf, 16);
      return this;
    }

    byte[] array() {
      return n == a.length ? a : Arrays.copyOf(a, n);
    }
  }
}
