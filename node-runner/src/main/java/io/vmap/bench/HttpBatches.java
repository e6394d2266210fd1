package io.vmap.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vmap.http.api.Api;
import io.vmap.http.api.BatchResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The bench's calls coalesced into {@code POST /v1/areas/batch} requests (group commit on the
 * client's side, as {@code VmapClient} does towards a node): a call goes out at once, in a batch of
 * its own, while fewer than {@code maxInFlight} batches are in flight; otherwise it waits in the
 * queue, and the queue (up to {@code maxOps} operations) goes out as one batch when a batch is
 * answered. So an idle member costs no added latency and a busy one gets big batches.
 *
 * <p>Invariants: every call is in exactly one of the queue, one batch in flight, or completed;
 * {@code inFlight} counts the batches sent and not yet completed, never above {@code maxInFlight}.
 * While a batch's answers are being completed (on the client's loop thread) it still counts as in
 * flight, so the calls its callbacks start queue up and go out together afterwards instead of one
 * batch each. A batch's results come in its operations' order; each one is what the single route
 * would have answered (its status, area or error), read by the same rules as {@link HttpTarget}'s
 * single calls, and a failed batch (a timeout, a non-200 answer) fails every call in it.
 */
final class HttpBatches {

  private static final byte[] PREFIX = ascii("{\"ops\":[");

  private final BenchHttpClient client;
  private final byte[] head;
  private final int maxOps;
  private final int maxInFlight;
  private final Object lock = new Object();
  /** Guarded by {@link #lock}. */
  private ArrayList<Call> queue = new ArrayList<>();
  /** Guarded by {@link #lock}. */
  private int inFlight;

  /** One call: its operation's JSON, its future and how to read its result. */
  private record Call(byte[] op, String kind, CompletableFuture<Object> future) {}

  /**
   * @param head the request up to the Content-Length's value ({@code POST /v1/areas/batch ...})
   */
  HttpBatches(BenchHttpClient client, byte[] head, int maxOps, int maxInFlight) {
    this.client = client;
    this.head = head;
    this.maxOps = maxOps;
    this.maxInFlight = maxInFlight;
  }

  /** {@code kind} is alloc, free or find; {@code op} that operation's JSON object. */
  @SuppressWarnings("unchecked")
  <T> CompletableFuture<T> submit(String kind, byte[] op) {
    CompletableFuture<Object> f = new CompletableFuture<>();
    List<Call> batch = null;
    synchronized (lock) {
      queue.add(new Call(op, kind, f));
      if (inFlight < maxInFlight) batch = take();
    }
    if (batch != null) send(batch);
    return (CompletableFuture<T>) f;
  }

  /** The next batch from the queue, counted in flight (holding the lock). */
  private List<Call> take() {
    List<Call> batch;
    if (queue.size() <= maxOps) {
      batch = queue;
      queue = new ArrayList<>();
    } else {
      batch = new ArrayList<>(queue.subList(0, maxOps));
      queue.subList(0, maxOps).clear();
    }
    inFlight++;
    return batch;
  }

  private void send(List<Call> batch) {
    int length = PREFIX.length + 2 + batch.size() - 1;
    for (Call c : batch) length += c.op().length;
    byte[] body = new byte[length];
    System.arraycopy(PREFIX, 0, body, 0, PREFIX.length);
    int n = PREFIX.length;
    for (int i = 0; i < batch.size(); i++) {
      if (i > 0) body[n++] = ',';
      byte[] op = batch.get(i).op();
      System.arraycopy(op, 0, body, n, op.length);
      n += op.length;
    }
    body[n++] = ']';
    body[n] = '}';
    byte[] digits = ascii(Integer.toString(length));
    byte[] request = new byte[head.length + digits.length + 4 + length];
    System.arraycopy(head, 0, request, 0, head.length);
    System.arraycopy(digits, 0, request, head.length, digits.length);
    int at = head.length + digits.length;
    request[at] = '\r';
    request[at + 1] = '\n';
    request[at + 2] = '\r';
    request[at + 3] = '\n';
    System.arraycopy(body, 0, request, at + 4, length);
    client.send(request, "POST /v1/areas/batch", (status, b, off, len) -> {
      if (status != 200) throw new IllegalStateException("batch: HTTP " + status + " " + HttpTarget.text(b, off, len));
      List<Result> results = results(b, off, len);
      if (results.size() != batch.size()) {
        throw new IllegalStateException("batch: " + (results == null ? "no" : results.size()) + " results for "
            + batch.size() + " operations");
      }
      return results;
    }).whenComplete((results, error) -> {
      try {
        for (int i = 0; i < batch.size(); i++) {
          Call c = batch.get(i);
          if (error != null) c.future().completeExceptionally(error);
          else complete(c, results.get(i));
        }
      } finally {
        // whatever happened above, the batch is over: the queue must not wait for it
        List<Call> next = null;
        synchronized (lock) {
          inFlight--;
          if (!queue.isEmpty()) next = take();
        }
        if (next != null) send(next);
      }
    });
  }

  private static final JsonFactory JSON = new JsonFactory();

  /**
   * The results of a {@link BatchResponse}, read with Jackson's streaming parser straight from the
   * bytes: of an area only its start. Reading the whole DTOs (every area's start, end and size
   * through the API's unsigned/hex deserializers) was 43% of the bench's samples in batch mode,
   * twice the member's CPU per operation. Anything unexpected is an error naming what was found.
   */
  static List<Result> results(byte[] b, int off, int len) throws IOException {
    List<Result> out = new ArrayList<>();
    try (JsonParser p = JSON.createParser(b, off, len)) {
      expect(p.nextToken() == JsonToken.START_OBJECT, p, "a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        if (!"results".equals(field)) {
          p.skipChildren();
          continue;
        }
        expect(t == JsonToken.START_ARRAY, p, "results: an array");
        while (p.nextToken() == JsonToken.START_OBJECT) {
          int status = -1;
          long start = BenchTarget.NONE;
          boolean area = false;
          String error = null;
          String reason = null;
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            switch (name) {
              case "status" -> status = p.getIntValue();
              case "error" -> error = p.getText();
              case "reason" -> reason = p.getText();
              case "area" -> {
                expect(v == JsonToken.START_OBJECT, p, "area: an object");
                area = true;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                  String f = p.currentName();
                  p.nextToken();
                  if ("start".equals(f)) start = address(p.getText());
                  else p.skipChildren();
                }
              }
              default -> p.skipChildren();
            }
          }
          out.add(new Result(status, area, start, error, reason));
        }
      }
    }
    return out;
  }

  private static void expect(boolean ok, JsonParser p, String what) throws IOException {
    if (!ok) throw new IOException("batch answer: expected " + what + ", got " + p.currentToken());
  }

  /** An address as the API writes it: 0x and hex digits (anything else: the API's own parser). */
  private static long address(String text) {
    if (text.length() > 2 && text.length() <= 18 && text.charAt(0) == '0' && text.charAt(1) == 'x') {
      return Long.parseUnsignedLong(text, 2, text.length(), 16);
    }
    return Api.pathAddress(text);
  }

  /** One result by the single calls' rules (HttpTarget's class comment). */
  private static void complete(Call c, Result r) {
    try {
      c.future().complete(value(c.kind(), r));
    } catch (RuntimeException e) {
      c.future().completeExceptionally(e);
    }
  }

  /** One result of a batch: a {@link BatchResponse.Result} with only its area's start. */
  record Result(int status, boolean area, long start, String error, String reason) {}

  /** The item's result by {@link HttpTarget}'s rules for a single call of its kind. */
  private static Object value(String kind, Result r) {
    Supplier<String> what = () -> "in a batch: " + r.error() + (r.reason() == null ? "" : " " + r.reason());
    LongSupplier start = () -> {
      if (!r.area()) throw new IllegalStateException(kind + ": HTTP " + r.status() + " in a batch without an area");
      return r.start();
    };
    return switch (kind) {
      case "alloc" -> HttpTarget.allocValue(r.status(), start, what);
      case "free" -> HttpTarget.freeValue(r.status(), what);
      default -> HttpTarget.findValue(r.status(), start, what);
    };
  }

  private static byte[] ascii(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
  }
}
