package io.vmap.bench;

import static io.vmap.bench.BenchTarget.NONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.cli.UsageException;
import io.vmap.client.VmapSettings;
import io.vmap.http.LiveMember;
import io.vmap.http.api.AllocRequest;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.http.api.BatchRequest;
import io.vmap.http.api.BatchResponse;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.state.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bench's HTTP client ({@link BenchHttpClient}) and target ({@link HttpTarget}) against a tiny
 * scripted server (what it answers, byte by byte, is the test's) and against a real member: the
 * requests are the API's JSON, responses are parsed whatever their packet boundaries, every
 * non-success status becomes the call's error with the member's body, connections are kept alive
 * and reused, {@code Connection: close} is honoured, and a server that never answers fails the call
 * after the timeout instead of hanging it. No timing is asserted.
 */
@Timeout(120)
class BenchHttpClientTest {

  static final String AREA = "{\"start\":\"0xffffc90006000000\",\"end\":\"0xffffc90006001000\",\"size\":4096,\"node\":3,\"tag\":\"\"}";
  static final String SPACE = "{\"geometry\":{\"vstart\":\"0xffffc90000000000\",\"vend\":\"0xffffe90000000000\","
      + "\"page\":4096,\"zone\":33554432,\"nodes\":16,\"spaceBytes\":35184372088832},\"cells\":1}";

  /** A request as the scripted server read it. */
  record Request(String line, String head, String body) {}

  /**
   * A one-thread-per-connection HTTP/1.1 server that records each request and writes what
   * {@code script} returns for it (a whole raw response, a list of pieces flushed one by one, or
   * null: never answer).
   */
  static final class ScriptedServer implements AutoCloseable {
    final ServerSocket socket;
    final BlockingQueue<Request> requests = new LinkedBlockingQueue<>();
    final AtomicInteger accepted = new AtomicInteger();
    final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final Function<Request, List<String>> script;

    ScriptedServer(Function<Request, List<String>> script) throws IOException {
      this.script = script;
      this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::accept, "scripted-http");
      t.setDaemon(true);
      t.start();
    }

    String base() {
      return "http://127.0.0.1:" + socket.getLocalPort();
    }

    private void accept() {
      try {
        while (true) {
          Socket s = socket.accept();
          s.setTcpNoDelay(true);
          accepted.incrementAndGet();
          connections.add(s);
          Thread t = new Thread(() -> serve(s), "scripted-http-conn");
          t.setDaemon(true);
          t.start();
        }
      } catch (IOException e) {
        // closed
      }
    }

    private void serve(Socket s) {
      try (s) {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        while (true) {
          ByteArrayOutputStream head = new ByteArrayOutputStream();
          int c;
          while ((c = in.read()) >= 0) {
            head.write(c);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') break;
          }
          if (c < 0) return;
          String text = head.toString(StandardCharsets.ISO_8859_1);
          int length = 0;
          for (String line : text.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
          }
          String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
          Request r = new Request(text.substring(0, text.indexOf("\r\n")), text, body);
          requests.add(r);
          List<String> answer = script.apply(r);
          if (answer == null) continue; // never answers; the client times out
          for (String piece : answer) {
            if (piece.equals("CLOSE")) return;
            out.write(piece.getBytes(StandardCharsets.UTF_8));
            out.flush();
          }
        }
      } catch (IOException e) {
        // the client went away
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
      for (Socket s : connections) s.close();
    }
  }

  static String response(int status, String body, String... headers) {
    StringBuilder b = new StringBuilder("HTTP/1.1 ").append(status).append(" Whatever\r\nServer: scripted\r\n");
    for (String h : headers) b.append(h).append("\r\n");
    if (body != null) {
      b.append("Content-Type: application/json\r\nContent-Length: ")
          .append(body.getBytes(StandardCharsets.UTF_8).length).append("\r\n\r\n").append(body);
    } else {
      b.append("\r\n");
    }
    return b.toString();
  }

  /** The member's answers to the requests a target sends, plus {@code alloc} for POST /v1/areas. */
  static List<String> member(Request r, Function<Request, List<String>> rest) {
    if (r.line().startsWith("GET /v1/space?cells=1 ")) return List.of(response(200, SPACE));
    return rest.apply(r);
  }

  static <T> T await(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static Throwable failure(CompletionStage<?> s) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> s.toCompletableFuture().get(60, TimeUnit.SECONDS));
    return e.getCause();
  }

  // ------------------------------------------------------------------------------------------

  @Test
  void requestsCarryTheApisJson() throws Exception {
    try (ScriptedServer server = new ScriptedServer(r -> member(r, x -> List.of(response(201, AREA))));
         HttpTarget t = new HttpTarget(server.base(), 1)) {
      assertEquals("GET /v1/space?cells=1 HTTP/1.1", server.requests.take().line());
      long[][] cases = {{4096, 0, -1}, {4096, 4096, 3}, {100 * 4096, 1L << 40, 15}, {-1L, 0, 0}};
      for (long[] c : cases) {
        assertEquals(0xffffc90006000000L, (long) await(t.allocAsync(c[0], c[1], (int) c[2])));
        Request r = server.requests.take();
        assertEquals("POST /v1/areas HTTP/1.1", r.line());
        // what Akka HTTP's client sent before: Api.write of the same DTO
        assertEquals(Api.write(AllocRequest.of(c[0], c[1], (int) c[2])), r.body());
        assertTrue(r.head().contains("\r\nContent-Type: application/json\r\n"), r.head());
        assertTrue(r.head().contains("\r\nHost: 127.0.0.1:" + server.socket.getLocalPort() + "\r\n"), r.head());
      }
      for (long addr : new long[] {0xffffc90006000000L, 0, -1L, 0x1234L}) {
        byte[] free = t.addressRequest("DELETE /v1/areas/".getBytes(StandardCharsets.ISO_8859_1), addr);
        String text = new String(free, StandardCharsets.ISO_8859_1);
        assertTrue(text.startsWith("DELETE /v1/areas/" + Unsigned.hex(addr) + " HTTP/1.1\r\nHost: "), text);
        assertTrue(text.endsWith("\r\n\r\n"), text);
      }
    }
  }

  @Test
  void answersParseAcrossPacketsAndOneConnectionIsReused() throws Exception {
    // Every answer is written in pieces (status line, a header cut in two, the body in halves).
    Function<Request, List<String>> answers = r -> {
      String whole;
      if (r.line().startsWith("POST /v1/areas ")) whole = response(201, AREA, "Location: /v1/areas/0xffffc90006000000");
      else if (r.line().startsWith("DELETE /v1/areas/0xffffc90006000000 ")) whole = response(204, null);
      else if (r.line().startsWith("DELETE ")) whole = response(404, "{\"error\":\"ENOENT\",\"reason\":\"no such area\"}");
      else if (r.line().startsWith("GET /v1/areas/0xffffc90006000000 ")) whole = response(200, AREA);
      else if (r.line().startsWith("GET /v1/areas/")) whole = response(404, "{\"error\":\"ENOENT\",\"reason\":\"no busy area\"}");
      else if (r.line().startsWith("POST /v1/purge ")) whole = response(200, "{\"released\":7}");
      else whole = response(200, "{\"ready\":true}");
      int a = whole.indexOf("\r\n") + 2;
      int b = whole.indexOf("Content") + 4;
      int c = whole.length() - Math.min(3, whole.length() - b);
      if (b < a + 4 || c <= b) return List.of(whole.substring(0, a), whole.substring(a));
      return List.of(whole.substring(0, a), whole.substring(a, b), whole.substring(b, c), whole.substring(c));
    };
    try (ScriptedServer server = new ScriptedServer(r -> member(r, answers));
         HttpTarget t = new HttpTarget(server.base(), 1)) {
      assertEquals(4096, t.page());
      for (int i = 0; i < 20; i++) {
        assertEquals(0xffffc90006000000L, (long) await(t.allocAsync(4096, 4096, i)));
        assertEquals(0xffffc90006000000L, (long) await(t.findAsync(0xffffc90006000010L - 0x10)));
        assertEquals(NONE, (long) await(t.findAsync(0x10)));
        assertNull(await(t.freeAsync(0xffffc90006000000L)));
        assertEquals(ErrorCode.ENOENT, await(t.freeAsync(0x10)));
      }
      assertEquals(7, await(t.purgeAsync()));
      assertNull(await(t.quiesce()));
      // one request at a time from one thread: every one of them on the first connection
      assertEquals(1, server.accepted.get());
      assertEquals(1, t.connectionsOpened());
    }
  }

  @Test
  void everyOtherStatusIsTheCallsErrorWithTheMembersBody() throws Exception {
    Function<Request, List<String>> answers = r -> {
      String body = r.body();
      if (r.line().startsWith("POST /v1/areas ")) {
        if (body.contains("\"size\":1,")) return List.of(response(400, "{\"error\":\"EINVAL\",\"reason\":\"size: 1 is odd\"}"));
        if (body.contains("\"size\":2,")) return List.of(response(507, "{\"error\":\"ENOSPC\",\"reason\":\"full\"}"));
        if (body.contains("\"size\":3,")) return List.of(response(503, "{\"error\":\"EAGAIN\",\"reason\":\"busy\"}"));
        return List.of(response(500, "{\"error\":\"EIO\",\"reason\":\"the node crashed\"}"));
      }
      if (r.line().startsWith("DELETE /v1/areas/0x0000000000000001 ")) return List.of(response(404, "{\"error\":\"ENOENT\"}"));
      if (r.line().startsWith("DELETE /v1/areas/0x0000000000000002 ")) return List.of(response(400, "{\"error\":\"EINVAL\"}"));
      if (r.line().startsWith("DELETE ")) return List.of(response(401, "{\"error\":\"EACCES\",\"reason\":\"token\"}"));
      if (r.line().startsWith("GET /v1/areas/")) return List.of(response(500, "{\"error\":\"EIO\",\"reason\":\"lookup\"}"));
      return List.of(response(409, "{\"error\":\"EBUSY\",\"reason\":\"purging\"}"));
    };
    try (ScriptedServer server = new ScriptedServer(r -> member(r, answers));
         HttpTarget t = new HttpTarget(server.base(), 1)) {
      Throwable bad = failure(t.allocAsync(1, 4096, 0));
      assertInstanceOf(IllegalStateException.class, bad);
      assertEquals("alloc: HTTP 400 {\"error\":\"EINVAL\",\"reason\":\"size: 1 is odd\"}", bad.getMessage());
      assertEquals(NONE, (long) await(t.allocAsync(2, 4096, 0)));
      assertEquals(NONE, (long) await(t.allocAsync(3, 4096, 0)));
      assertTrue(failure(t.allocAsync(4, 4096, 0)).getMessage().contains("HTTP 500 {\"error\":\"EIO\",\"reason\":\"the node crashed\"}"));
      assertEquals(ErrorCode.ENOENT, await(t.freeAsync(1)));
      assertEquals(ErrorCode.EINVAL, await(t.freeAsync(2)));
      assertEquals("free: HTTP 401 {\"error\":\"EACCES\",\"reason\":\"token\"}", failure(t.freeAsync(3)).getMessage());
      assertEquals("find: HTTP 500 {\"error\":\"EIO\",\"reason\":\"lookup\"}", failure(t.findAsync(3)).getMessage());
      assertTrue(failure(t.purgeAsync()).getMessage().startsWith("purge: HTTP 409"));
      // errors are answers: the connection stays in use
      assertEquals(1, server.accepted.get());

      // Through the bench: every allocation failed with 500, so the case fails and reports the body.
      BenchConfig cfg = BenchConfig.defaults().withMask(1L << 0).withLoops(5).withWarmup(0);
      List<TestResult> results = BenchRunner.run(t, cfg, BenchRunner.Progress.none());
      assertEquals(1, results.size());
      assertEquals(0, results.get(0).passed());
      assertEquals(1, results.get(0).failed());
      assertEquals(1, results.get(0).errors().size(), results.get(0).errors().toString());
      assertTrue(results.get(0).errors().get(0).contains("alloc: HTTP 500 {\"error\":\"EIO\",\"reason\":\"the node crashed\"}"),
          results.get(0).errors().toString());
    }
  }

  @Test
  void aServerThatNeverAnswersTimesTheCallOut() throws Exception {
    try (ScriptedServer server = new ScriptedServer(r -> r.line().startsWith("GET /silent") ? null : List.of(response(204, null)));
         BenchHttpClient client = new BenchHttpClient("127.0.0.1", server.socket.getLocalPort(), 1, 300, TimeUnit.MILLISECONDS)) {
      byte[] silent = "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
      var call = client.send(silent, "GET /silent", (status, b, off, len) -> status);
      assertEquals("GET /silent HTTP/1.1", server.requests.take().line()); // it arrived; no answer will come
      Throwable t = failure(call);
      assertInstanceOf(TimeoutException.class, t);
      assertEquals("GET /silent: no answer from " + server.base() + " in 300 ms", t.getMessage());
      // the timed-out connection is dropped (its late answer could come); the next call gets a new one
      byte[] ok = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
      assertEquals(204, (int) await(client.send(ok, "GET /ok", (status, b, off, len) -> status)));
      assertEquals(2, server.accepted.get());
    }
    // The target's first call times out too: a usage error, not a hang.
    try (ScriptedServer server = new ScriptedServer(r -> null)) {
      UsageException e = assertThrows(UsageException.class, () -> new HttpTarget(server.base(), 1, 300));
      assertTrue(e.getMessage().startsWith("target '" + server.base() + "' does not answer GET /v1/space: "), e.getMessage());
      assertTrue(e.getMessage().contains("no answer from " + server.base() + " in 300 ms"), e.getMessage());
    }
  }

  @Test
  void closedConnectionsAndBadFramingFailCleanly() throws Exception {
    Function<Request, List<String>> answers = r -> {
      if (r.line().startsWith("GET /close ")) return List.of(response(200, "{}", "Connection: close"), "CLOSE");
      if (r.line().startsWith("GET /drop ")) return List.of("HTTP/1.1 200 OK\r\nContent-Le", "CLOSE");
      if (r.line().startsWith("GET /chunked ")) {
        return List.of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
      }
      return List.of(response(200, "{\"a\":1}"));
    };
    try (ScriptedServer server = new ScriptedServer(answers);
         BenchHttpClient client = new BenchHttpClient("127.0.0.1", server.socket.getLocalPort(), 1, 60, TimeUnit.SECONDS)) {
      BenchHttpClient.Answer<String> text = (status, b, off, len) -> status + " " + new String(b, off, len, StandardCharsets.UTF_8);
      assertEquals("200 {}", await(client.send(get("/close"), "GET /close", text)));
      assertEquals("200 {\"a\":1}", await(client.send(get("/x"), "GET /x", text)));
      assertEquals(2, server.accepted.get()); // Connection: close was honoured
      Throwable dropped = failure(client.send(get("/drop"), "GET /drop", text));
      assertInstanceOf(IOException.class, dropped);
      assertEquals("GET /drop: " + server.base() + " closed the connection in a response", dropped.getMessage());
      Throwable chunked = failure(client.send(get("/chunked"), "GET /chunked", text));
      assertTrue(chunked.getMessage().startsWith("GET /chunked: " + server.base() + ": Transfer-Encoding 'chunked'"), chunked.getMessage());
      assertEquals("200 {\"a\":1}", await(client.send(get("/x"), "GET /x", text)));
    }
    // Nothing listens: the call fails at once, naming the target.
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (BenchHttpClient client = new BenchHttpClient("127.0.0.1", port, 1, 60, TimeUnit.SECONDS)) {
      Throwable refused = failure(client.send(get("/x"), "GET /x", (s, b, o, l) -> s));
      assertTrue(refused.getMessage().startsWith("GET /x: cannot connect to http://127.0.0.1:" + port + ": "), refused.getMessage());
    }
  }

  static byte[] get(String path) {
    return ("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
  }

  // ------------------------------------------------------------------------------------------ batches

  /** The scripted member's batch answer: each op answered by its content, as the single routes would. */
  static List<String> batchAnswer(Request r) {
    BatchRequest req = Api.read(r.body(), BatchRequest.class);
    List<BatchResponse.Result> out = new java.util.ArrayList<>();
    for (BatchRequest.Op op : req.ops()) {
      switch (op.op()) {
        case "alloc" -> out.add(switch ((int) (long) op.size()) {
          case 1 -> BatchResponse.Result.failed(400, "EINVAL", "size: 1 is odd");
          case 2 -> BatchResponse.Result.failed(507, "ENOSPC", "full");
          default -> BatchResponse.Result.ok(201, new AreaJson(0x10000L * op.size(), 0x10000L * op.size() + 4096, 4096L, 0, ""));
        });
        case "free" -> out.add(op.addr() == 1 ? BatchResponse.Result.failed(404, "ENOENT", "no such area")
            : op.addr() == 2 ? BatchResponse.Result.failed(500, "EIO", "the node crashed")
            : new BatchResponse.Result(204, null, null, null));
        default -> out.add(op.addr() == 1 ? BatchResponse.Result.failed(404, "ENOENT", "no busy area")
            : BatchResponse.Result.ok(200, new AreaJson(op.addr() & ~0xfffL, (op.addr() & ~0xfffL) + 4096, 4096L, 0, "")));
      }
    }
    return List.of(response(200, Api.write(new BatchResponse(out))));
  }

  @Test
  void batchCallsAreTheApisOpsAndEachResultIsItsCalls() throws Exception {
    try (ScriptedServer server = new ScriptedServer(r -> member(r, BenchHttpClientTest::batchAnswer));
         HttpTarget t = new HttpTarget(server.base() + "/v1/areas/batch", 1)) {
      server.requests.take(); // the geometry
      assertTrue(t.describe().contains("batch endpoint"), t.describe());
      assertEquals(0x30000L, (long) await(t.allocAsync(3, 4096, 5)));
      Request r = server.requests.take();
      assertEquals("POST /v1/areas/batch HTTP/1.1", r.line());
      assertEquals(Api.write(new BatchRequest(List.of(BatchRequest.Op.alloc(3, 4096, 5)))), r.body());
      for (long[] c : new long[][] {{4096, 0, -1}, {100 * 4096, 1L << 40, 15}, {-1L, 0, 0}}) {
        assertEquals(Api.write(BatchRequest.Op.alloc(c[0], c[1], (int) c[2])),
            new String(t.allocOp(c[0], c[1], (int) c[2]), StandardCharsets.ISO_8859_1));
      }
      for (long a : new long[] {0, 1, -1L, 0xffffc90006000000L}) {
        assertEquals(Api.write(BatchRequest.Op.free(a)), new String(HttpTarget.addressOp(HttpTarget.FREE_OP, a), StandardCharsets.ISO_8859_1));
        assertEquals(Api.write(BatchRequest.Op.find(a)), new String(HttpTarget.addressOp(HttpTarget.FIND_OP, a), StandardCharsets.ISO_8859_1));
      }
      // item by item, as the single routes: errors carry the member's code and reason
      assertEquals("alloc: HTTP 400 in a batch: EINVAL size: 1 is odd", failure(t.allocAsync(1, 4096, 0)).getMessage());
      assertEquals(NONE, (long) await(t.allocAsync(2, 4096, 0)));
      assertNull(await(t.freeAsync(0x30000)));
      assertEquals(ErrorCode.ENOENT, await(t.freeAsync(1)));
      assertEquals("free: HTTP 500 in a batch: EIO the node crashed", failure(t.freeAsync(2)).getMessage());
      assertEquals(0x30000L, (long) await(t.findAsync(0x30010)));
      assertEquals(NONE, (long) await(t.findAsync(1)));
    }
  }

  @Test
  void callsWaitingForABatchGoOutAsOne() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    try (ScriptedServer server = new ScriptedServer(r -> member(r, x -> {
      try {
        release.await(); // the first batches are held until the test has queued more calls
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return batchAnswer(x);
    }));
         HttpTarget t = new HttpTarget(server.base() + "/v1/areas/batch", 1)) {
      server.requests.take(); // the geometry
      List<CompletionStage<Long>> calls = new java.util.ArrayList<>();
      for (int i = 0; i < HttpTarget.BATCHES_IN_FLIGHT; i++) calls.add(t.allocAsync(3 + i, 4096, -1));
      for (int i = 0; i < HttpTarget.BATCHES_IN_FLIGHT; i++) {
        assertEquals(1, Api.read(server.requests.take().body(), BatchRequest.class).ops().size());
      }
      // every batch is in flight (and held): these ten wait in the queue
      for (int i = 0; i < 10; i++) calls.add(t.allocAsync(100 + i, 4096, -1));
      release.countDown();
      Request next = server.requests.take();
      assertEquals(10, Api.read(next.body(), BatchRequest.class).ops().size(), next.body());
      for (int i = 0; i < calls.size(); i++) {
        long size = i < HttpTarget.BATCHES_IN_FLIGHT ? 3 + i : 100 + i - HttpTarget.BATCHES_IN_FLIGHT;
        assertEquals(0x10000L * size, (long) await(calls.get(i)));
      }
      assertTrue(server.accepted.get() <= HttpTarget.BATCHES_IN_FLIGHT, "connections: " + server.accepted.get());
    }
  }

  /** A real member: the bench's case passes, every request on at most a window's connections per worker. */
  @Test
  void aRealMemberRunsTheCaseOnKeptAliveConnections() throws Exception {
    long base = 0x100000;
    try (LiveMember m = new LiveMember("bench-http", VmapSettings.defaults()
            .withGeometry(new Geometry(base, base + 64 * 0x100000L, 4096, 0x100000, 2), null));
         HttpTarget t = new HttpTarget(m.base, 2)) {
      assertEquals(4096, t.page());
      long a = await(t.allocAsync(8192, 4096, 1));
      assertTrue(a >= base && a < base + 64 * 0x100000L, Unsigned.hex(a));
      assertEquals(a, (long) await(t.findAsync(a + 4096)));
      assertNull(await(t.freeAsync(a)));
      assertEquals(ErrorCode.ENOENT, await(t.freeAsync(a)));
      assertEquals(NONE, (long) await(t.findAsync(a)));
      assertTrue(await(t.purgeAsync()) >= 1);

      BenchConfig cfg = new BenchConfig(2, 200, 1, 1L << 0, false, 0, 2, null, 256, 8, 1,
          EmbeddedTarget.RequestIds.SESSION, 16, 0, false, false);
      List<TestResult> results = BenchRunner.run(t, cfg, BenchRunner.Progress.none());
      assertEquals(1, results.size());
      assertEquals(2, results.get(0).passed(), results.get(0).errors().toString());
      assertEquals(800, results.get(0).ops());
      // 2 workers x window 8 requests in flight at most, plus the first calls' connection
      assertTrue(t.connectionsOpened() <= 2 * 8 + 1, "connections: " + t.connectionsOpened());

      try (HttpTarget b = new HttpTarget(m.base + "/v1/areas/batch", 2)) {
        List<TestResult> batched = BenchRunner.run(b, cfg, BenchRunner.Progress.none());
        assertEquals(2, batched.get(0).passed(), batched.get(0).errors().toString());
        assertEquals(800, batched.get(0).ops());
        // at most BATCHES_IN_FLIGHT batches at once, whichever of the 2 loops sent them (a loop keeps its own connections)
        assertTrue(b.connectionsOpened() <= 2 * HttpTarget.BATCHES_IN_FLIGHT, "connections: " + b.connectionsOpened());
      }
    }
  }
}
