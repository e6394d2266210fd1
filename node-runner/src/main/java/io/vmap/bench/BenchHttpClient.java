package io.vmap.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The bench's HTTP/1.1 client, in the spirit of {@code wrk}: keep-alive connections, one request in
 * flight per connection, non-blocking sockets and one {@link Selector} (one thread) per event loop.
 * It exists because a load generator that shares the CPUs with the member it measures must cost
 * much less per request than the member does (Akka HTTP's pooled client cost more).
 *
 * <p>Invariants:
 * <ul>
 *   <li>Each calling thread is served by one loop ({@link #send} picks the caller's: a loop thread
 *       its own, any other thread the loop assigned to it on its first call, at most {@code loops}
 *       loops, then round robin). A loop owns its connections; a connection is either idle (in its
 *       loop's idle stack) or carries exactly one request, its {@link Pending}.
 *   <li>The caller writes its request on the socket itself (a small request on an idle keep-alive
 *       connection leaves in one non-blocking write; a remainder is left to the loop). Only the
 *       loop's thread reads, parses and completes futures, so the callbacks of a response run on the
 *       loop thread, and a request sent from such a callback goes out without any thread hand-off.
 *   <li>A pending request is completed exactly once, by whoever takes it out of its connection
 *       first (the response, the timeout sweep, a failed write, the connection's or the client's
 *       close). A connection is reused only after a complete response ({@code Content-Length} or no
 *       body) that did not ask to close; anything else closes it.
 *   <li>Every request has a deadline ({@code timeout}); the loop sweeps deadlines at least every
 *       quarter of the timeout (at most every second), so a member that never answers fails the call
 *       with a {@link TimeoutException} and never hangs the caller.
 * </ul>
 *
 * <p>Responses are parsed by status line, {@code Content-Length} and {@code Connection: close}; the
 * member's API answers with strict entities only, so a chunked response is an error that says so.
 */
final class BenchHttpClient implements AutoCloseable {

  /** Reads a complete response body ({@code len} bytes of {@code buf} from {@code off}) into a result. */
  @FunctionalInterface
  interface Answer<T> {
    T read(int status, byte[] buf, int off, int len) throws Exception;
  }

  /** A response larger than this is an error (the bench's answers are tiny; a batch's are ~100 KB). */
  static final int MAX_RESPONSE = 64 << 20;

  private final InetSocketAddress address;
  private final String base;
  private final long timeoutNanos;
  private final int connectTimeoutMillis;
  private final int maxLoops;
  private final List<Loop> loops = new ArrayList<>();
  private final ThreadLocal<Loop> assigned = new ThreadLocal<>();
  private int nextShared;
  private volatile boolean closed;

  /**
   * @param loops the number of event loops (threads): one per bench worker
   * @param timeout the longest a request waits for its response, and a connect for its connection
   */
  BenchHttpClient(String host, int port, int loops, long timeout, TimeUnit unit) {
    this.address = new InetSocketAddress(host, port);
    this.base = "http://" + host + ":" + port;
    this.timeoutNanos = unit.toNanos(timeout);
    this.connectTimeoutMillis = (int) Math.max(1, Math.min(unit.toMillis(timeout), 10_000));
    this.maxLoops = Math.max(1, loops);
  }

  /**
   * Sends {@code request} (a complete HTTP/1.1 request: head and body) and completes with what
   * {@code answer} makes of the response, on the loop's thread; exceptionally with what it threw,
   * with a {@link TimeoutException} after the timeout, or with an {@link IOException} naming the
   * target if it cannot be reached or drops the connection.
   *
   * @param what the request in error messages, e.g. {@code POST /v1/areas}
   */
  <T> CompletableFuture<T> send(byte[] request, String what, Answer<T> answer) {
    CompletableFuture<T> f = new CompletableFuture<>();
    if (closed) {
      f.completeExceptionally(new IllegalStateException(what + ": the bench's HTTP client is closed"));
      return f;
    }
    Loop loop = loop();
    if (loop.died != null) {
      f.completeExceptionally(new IllegalStateException(what + ": the bench's HTTP loop failed: " + loop.died, loop.died));
      return f;
    }
    Connection c;
    try {
      c = loop.idleOrOpen();
    } catch (IOException e) {
      f.completeExceptionally(new IOException(what + ": cannot connect to " + base + ": " + e.getMessage(), e));
      return f;
    }
    Pending<T> p = new Pending<>(f, answer, what, System.nanoTime() + timeoutNanos);
    c.pending.set(p);
    c.write(request);
    return f;
  }

  /** Connections opened so far (each one a TCP connect; keep-alive reuses them). */
  int connectionsOpened() {
    int n = 0;
    synchronized (loops) {
      for (Loop l : loops) n += l.opened;
    }
    return n;
  }

  /** Stops every loop; requests still pending fail with {@link IllegalStateException}. */
  @Override
  public void close() {
    closed = true;
    List<Loop> all;
    synchronized (loops) {
      all = List.copyOf(loops);
    }
    for (Loop l : all) l.selector.wakeup();
    for (Loop l : all) {
      try {
        l.thread.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private Loop loop() {
    if (Thread.currentThread() instanceof LoopThread t && t.loop.client() == this) return t.loop;
    Loop l = assigned.get();
    if (l != null) return l;
    synchronized (loops) {
      if (loops.size() < maxLoops) {
        try {
          l = new Loop(loops.size());
        } catch (IOException e) {
          throw new IllegalStateException("cannot open a selector: " + e.getMessage(), e);
        }
        loops.add(l);
        l.thread.start();
      } else {
        l = loops.get(nextShared++ % loops.size());
      }
    }
    assigned.set(l);
    return l;
  }

  // ------------------------------------------------------------------------------------------

  /** A request in flight: its future, how to read its answer, its deadline (System.nanoTime()). */
  private static final class Pending<T> {
    final CompletableFuture<T> future;
    final Answer<T> answer;
    final String what;
    final long deadline;
    private T value;
    private Throwable error;

    Pending(CompletableFuture<T> future, Answer<T> answer, String what, long deadline) {
      this.future = future;
      this.answer = answer;
      this.what = what;
      this.deadline = deadline;
    }

    /** Reads the answer while the buffer still holds it; {@link #finish} completes afterwards. */
    void read(int status, byte[] buf, int off, int len) {
      try {
        value = answer.read(status, buf, off, len);
      } catch (Throwable t) {
        error = t;
      }
    }

    void finish() {
      if (error != null) future.completeExceptionally(error);
      else future.complete(value);
    }

    void fail(Throwable t) {
      future.completeExceptionally(t);
    }
  }

  private static final class LoopThread extends Thread {
    final Loop loop;

    LoopThread(Loop loop, String name) {
      super(loop, name);
      this.loop = loop;
      setDaemon(true);
    }
  }

  /** One selector, its thread and its connections. */
  private final class Loop implements Runnable {
    final Selector selector;
    final LoopThread thread;
    /** Idle connections, most recently used on top (guarded by itself). */
    private final ArrayDeque<Connection> idle = new ArrayDeque<>();
    /** Every open connection, for the deadline sweep and the close. */
    final Set<Connection> open = ConcurrentHashMap.newKeySet();
    /** Guarded by {@link #loops}. */
    int opened;
    /** Why this loop stopped before the client closed (then every call through it fails at once). */
    volatile Throwable died;

    Loop(int index) throws IOException {
      this.selector = Selector.open();
      this.thread = new LoopThread(this, "vmap-bench-http-" + index);
    }

    BenchHttpClient client() {
      return BenchHttpClient.this;
    }

    Connection idleOrOpen() throws IOException {
      synchronized (idle) {
        Connection c = idle.pollFirst();
        if (c != null) return c;
      }
      SocketChannel ch = SocketChannel.open();
      try {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.socket().connect(address, connectTimeoutMillis);
        ch.configureBlocking(false);
        Connection c = new Connection(this, ch);
        // Since JDK 11 a registration does not wait for a select in progress; the wakeup makes the
        // selector poll the new key before its first response arrives.
        c.key = ch.register(selector, SelectionKey.OP_READ, c);
        open.add(c);
        synchronized (loops) {
          opened++;
        }
        selector.wakeup();
        return c;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }

    void release(Connection c) {
      synchronized (idle) {
        idle.push(c);
      }
    }

    void forget(Connection c) {
      open.remove(c);
      synchronized (idle) {
        idle.remove(c);
      }
    }

    @Override
    public void run() {
      long tick = Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(timeoutNanos) / 4, 1_000));
      long nextSweep = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(tick);
      try {
        while (!closed) {
          selector.select(this::ready, tick);
          long now = System.nanoTime();
          if (now - nextSweep >= 0) {
            for (Connection c : open) c.expire(now);
            nextSweep = now + TimeUnit.MILLISECONDS.toNanos(tick);
          }
        }
      } catch (IOException | RuntimeException e) {
        died = e;
        for (Connection c : open) c.failAndClose(new IllegalStateException("the bench's HTTP loop failed: " + e, e));
      } finally {
        for (Connection c : open) c.failAndClose(new IllegalStateException("the bench's HTTP client is closed"));
        try {
          selector.close();
        } catch (IOException e) {
          // closing anyway
        }
      }
    }

    private void ready(SelectionKey k) {
      Connection c = (Connection) k.attachment();
      try {
        if (k.isWritable()) c.flush();
        if (k.isReadable()) c.readable();
      } catch (java.nio.channels.CancelledKeyException e) {
        // closed meanwhile (by a caller whose write failed, or above): its close failed its request
      }
    }
  }

  /** One keep-alive connection and the parse state of its response. */
  private final class Connection {
    final Loop loop;
    final SocketChannel ch;
    SelectionKey key;
    final AtomicReference<Pending<?>> pending = new AtomicReference<>();
    /** The request being written; touched by the caller, then (for a remainder) by the loop. */
    private ByteBuffer out = ByteBuffer.allocateDirect(1024);
    /** The response so far (loop thread only). */
    private ByteBuffer in = ByteBuffer.allocate(8192);
    private int scanned;
    private int headEnd = -1;
    private int status;
    private int bodyLength;
    private boolean closeAfter;

    Connection(Loop loop, SocketChannel ch) {
      this.loop = loop;
      this.ch = ch;
    }

    /** Writes a request on this connection, whose pending request is already set (any thread). */
    void write(byte[] request) {
      if (out.capacity() < request.length) out = ByteBuffer.allocateDirect(Math.max(request.length, 2 * out.capacity()));
      out.clear();
      out.put(request).flip();
      try {
        ch.write(out);
        if (out.hasRemaining()) {
          key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
          loop.selector.wakeup();
        }
      } catch (IOException | RuntimeException e) {
        failAndClose(new IOException("the connection to " + base + " failed: " + e, e));
      }
    }

    /** The loop writes what the caller could not. */
    void flush() {
      try {
        ch.write(out);
        if (!out.hasRemaining()) key.interestOps(SelectionKey.OP_READ);
      } catch (IOException | RuntimeException e) {
        failAndClose(new IOException("the connection to " + base + " failed: " + e, e));
      }
    }

    void readable() {
      int n;
      try {
        n = ch.read(in);
      } catch (IOException e) {
        failAndClose(new IOException("the connection to " + base + " failed: " + e.getMessage(), e));
        return;
      }
      if (n < 0) {
        failAndClose(new IOException(base + " closed the connection" + (in.position() > 0 ? " in a response" : "")));
        return;
      }
      if (n > 0) parse();
    }

    private void parse() {
      byte[] a = in.array();
      int pos = in.position();
      if (headEnd < 0) {
        int end = headEnd(a, scanned, pos);
        if (end < 0) {
          scanned = Math.max(0, pos - 3);
          if (!in.hasRemaining()) grow(2 * in.capacity());
          return;
        }
        String bad = head(a, end);
        if (bad != null) {
          failAndClose(new IOException(base + ": " + bad));
          return;
        }
        headEnd = end + 4;
        if ((long) headEnd + bodyLength > MAX_RESPONSE) {
          failAndClose(new IOException(base + ": a response of " + bodyLength + " bytes is over " + MAX_RESPONSE));
          return;
        }
        if (in.capacity() < headEnd + bodyLength) {
          grow(headEnd + bodyLength);
          a = in.array();
        }
      }
      int complete = headEnd + bodyLength;
      if (pos < complete) return;
      Pending<?> p = pending.getAndSet(null);
      if (p == null || pos > complete) {
        // bytes nobody asked for (a request is never pipelined): the connection is out of step
        failAndClose(new IOException(base + ": " + (pos - complete) + " bytes after a response"));
        if (p != null) p.fail(new IOException(base + ": bytes after the response to " + p.what));
        return;
      }
      p.read(status, a, headEnd, bodyLength);
      boolean reuse = !closeAfter;
      in.clear();
      scanned = 0;
      headEnd = -1;
      if (reuse) loop.release(this);
      else close();
      p.finish();
    }

    /** Status and framing from the head {@code a[0, end)}; an error message, or null. */
    private String head(byte[] a, int end) {
      // "HTTP/1.1 201 Created"
      if (end < 12 || a[0] != 'H' || a[1] != 'T' || a[2] != 'T' || a[3] != 'P' || a[4] != '/' || a[8] != ' ') {
        return "not an HTTP/1.x status line: '" + new String(a, 0, Math.min(end, 40), java.nio.charset.StandardCharsets.ISO_8859_1) + "'";
      }
      int s = 0;
      for (int i = 9; i < 12; i++) {
        if (a[i] < '0' || a[i] > '9') return "bad status code in '" + new String(a, 0, Math.min(end, 40), java.nio.charset.StandardCharsets.ISO_8859_1) + "'";
        s = s * 10 + (a[i] - '0');
      }
      status = s;
      bodyLength = -1;
      closeAfter = a[7] == '0'; // HTTP/1.0 closes unless told otherwise; the member speaks 1.1
      int line = lineEnd(a, 0, end) + 2;
      while (line < end) {
        int eol = lineEnd(a, line, end);
        int colon = line;
        while (colon < eol && a[colon] != ':') colon++;
        int v = colon + 1;
        while (v < eol && (a[v] == ' ' || a[v] == '\t')) v++;
        int ve = eol;
        while (ve > v && (a[ve - 1] == ' ' || a[ve - 1] == '\t')) ve--;
        if (named(a, line, colon, "content-length")) {
          long n = 0;
          if (v == ve) return "empty Content-Length";
          for (int i = v; i < ve; i++) {
            if (a[i] < '0' || a[i] > '9' || n > MAX_RESPONSE) return "bad Content-Length";
            n = n * 10 + (a[i] - '0');
          }
          if (n > MAX_RESPONSE) return "a response of " + n + " bytes is over " + MAX_RESPONSE;
          bodyLength = (int) n;
        } else if (named(a, line, colon, "transfer-encoding")) {
          return "Transfer-Encoding '" + new String(a, v, ve - v, java.nio.charset.StandardCharsets.ISO_8859_1)
              + "' (the bench's client reads Content-Length only; the member's API sends strict bodies)";
        } else if (named(a, line, colon, "connection")) {
          String value = new String(a, v, ve - v, java.nio.charset.StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT);
          if (value.contains("close")) closeAfter = true;
          else if (value.contains("keep-alive")) closeAfter = false;
        }
        line = eol + 2;
      }
      if (bodyLength < 0) {
        // No body without a length: 1xx, 204 and 304 (RFC 9112 6.3); anything else would be read to the close.
        if (s == 204 || s == 304 || s < 200) bodyLength = 0;
        else return "HTTP " + s + " without Content-Length (the bench's client needs one)";
      }
      return null;
    }

    private void grow(int capacity) {
      ByteBuffer b = ByteBuffer.allocate(Math.max(capacity, 2 * in.capacity()));
      in.flip();
      b.put(in);
      in = b;
    }

    /** Fails the pending request, if it is still this connection's, once its deadline passed (loop thread). */
    void expire(long now) {
      Pending<?> p = pending.get();
      if (p != null && now - p.deadline > 0 && pending.compareAndSet(p, null)) {
        // the late answer could still arrive: this connection is out of step for good
        close();
        p.fail(new TimeoutException(p.what + ": no answer from " + base + " in "
            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"));
      }
    }

    void failAndClose(Throwable t) {
      close();
      Pending<?> p = pending.getAndSet(null);
      if (p != null) p.fail(p.what.isEmpty() ? t : new IOException(p.what + ": " + t.getMessage(), t));
    }

    void close() {
      loop.forget(this);
      try {
        ch.close();
      } catch (IOException e) {
        // closed anyway
      }
    }
  }

  /** The index of the first CRLFCRLF in {@code a[from, to)}, or -1. */
  static int headEnd(byte[] a, int from, int to) {
    for (int i = from; i + 3 < to; i++) {
      if (a[i + 3] == '\n' && a[i + 2] == '\r' && a[i + 1] == '\n' && a[i] == '\r') return i;
    }
    return -1;
  }

  private static int lineEnd(byte[] a, int from, int end) {
    for (int i = from; i + 1 < end + 2; i++) if (a[i] == '\r' && a[i + 1] == '\n') return i;
    return end;
  }

  /** Whether {@code a[from, to)} is the lowercase {@code name} in any case. */
  private static boolean named(byte[] a, int from, int to, String name) {
    if (to - from != name.length()) return false;
    for (int i = 0; i < name.length(); i++) {
      int c = a[from + i];
      if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
      if (c != name.charAt(i)) return false;
    }
    return true;
  }
}
