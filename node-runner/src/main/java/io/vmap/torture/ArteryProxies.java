package io.vmap.torture;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Small TCP proxies in front of the Artery ports of cluster members on one machine, so that a test
 * can cut a member off from the others. Each member advertises the proxy's port as its canonical
 * port ({@code akka.remote.artery.canonical.port}) and listens on another
 * ({@code akka.remote.artery.bind.port}); its proxy forwards one to the other. Every connection a
 * member opens to another member therefore passes the other's proxy, which finds out from
 * {@code /proc} which member opened it ({@link SocketOwners}).
 *
 * <p>{@link #isolate} cuts one member off both ways: every open connection between it and any
 * other process is closed, and new ones are accepted and closed at once (a refusal), until {@link
 * #heal}. Connections among the others, and HTTP (not proxied), are untouched. Members are
 * numbered by the caller; {@link #OBSERVER} is this JVM, always on the side of the majority.
 */
public final class ArteryProxies implements AutoCloseable {

  /** The member number of this JVM's own connections (a cluster member the test runs in-process). */
  public static final int OBSERVER = -1;

  private final Map<Integer, Proxy> proxies = new ConcurrentHashMap<>();
  /** Process id -> member number, for the processes now running. */
  private final Map<Long, Integer> members = new ConcurrentHashMap<>();
  private volatile Set<Integer> isolated = Set.of();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong cut = new AtomicLong();

  public ArteryProxies() {
    members.put(ProcessHandle.current().pid(), OBSERVER);
  }

  /** Forwards 127.0.0.1:{@code listenPort} to 127.0.0.1:{@code targetPort}, the Artery port of {@code member}. */
  public void add(int member, int listenPort, int targetPort) throws IOException {
    Proxy p = new Proxy(member, listenPort, targetPort);
    if (proxies.putIfAbsent(member, p) != null) {
      p.close();
      throw new IllegalArgumentException("member " + member + " has a proxy already");
    }
    p.start();
  }

  /** {@code pid} is now {@code member}'s process (after a start or restart). */
  public void register(long pid, int member) {
    members.values().remove(member);
    members.put(pid, member);
  }

  /** Cuts {@code member} off from every other member (and the observer), both ways. */
  public void isolate(int member) {
    if (member == OBSERVER) throw new IllegalArgumentException("the observer stays with the majority");
    isolated = Set.of(member);
    for (Proxy p : proxies.values()) p.enforce();
  }

  /** Lets every connection through again. */
  public void heal() {
    isolated = Set.of();
  }

  /** Connections refused because of a cut so far. */
  public long refused() {
    return refused.get();
  }

  /** Open connections closed by {@link #isolate}. */
  public long cut() {
    return cut.get();
  }

  @Override
  public void close() {
    for (Proxy p : proxies.values()) p.close();
    proxies.clear();
  }

  /** Whether a connection from process {@code pid} (-1: unknown) to {@code target} may exist now. */
  private boolean allowed(long pid, int target) {
    Set<Integer> cutOff = isolated;
    if (cutOff.isEmpty()) return true;
    Integer source = pid < 0 ? null : members.get(pid);
    // While a cut is on, a connection whose opener is unknown is refused: the partition is strict.
    if (source == null) return false;
    return cutOff.contains(source) == cutOff.contains(target);
  }

  /** One proxy: an accept thread, and two copying threads per connection. */
  private final class Proxy {
    final int member;
    final int listenPort;
    final int targetPort;
    final ServerSocket server;
    final List<Link> links = new CopyOnWriteArrayList<>();
    volatile boolean closed;

    Proxy(int member, int listenPort, int targetPort) throws IOException {
      this.member = member;
      this.listenPort = listenPort;
      this.targetPort = targetPort;
      this.server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort));
    }

    void start() {
      Thread t = new Thread(this::acceptLoop, "artery-proxy-" + member);
      t.setDaemon(true);
      t.start();
    }

    private void acceptLoop() {
      while (!closed) {
        Socket in;
        try {
          in = server.accept();
        } catch (IOException e) {
          if (closed) return;
          continue;
        }
        long pid = opener(in);
        if (!allowed(pid, member)) {
          refused.incrementAndGet();
          quietly(in);
          continue;
        }
        Socket out = new Socket();
        try {
          out.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 2000);
          in.setTcpNoDelay(true);
          out.setTcpNoDelay(true);
        } catch (IOException e) {
          // The member is down: its caller sees the connection close, as if refused.
          quietly(in);
          quietly(out);
          continue;
        }
        Link l = new Link(pid, in, out);
        links.add(l);
        l.start("artery-proxy-" + member + "-" + in.getPort());
        // A cut may have begun while this one was being set up.
        if (!allowed(pid, member)) {
          cut.incrementAndGet();
          l.close();
        }
      }
    }

    /** The process that opened {@code in} (this machine only), or -1. */
    private long opener(Socket in) {
      OptionalLong pid = SocketOwners.connectedFrom(in.getPort(), listenPort, members.keySet());
      return pid.orElse(-1);
    }

    void enforce() {
      for (Link l : links) {
        if (!allowed(l.pid, member)) {
          cut.incrementAndGet();
          l.close();
        }
      }
    }

    void close() {
      closed = true;
      quietly(server);
      for (Link l : new ArrayList<>(links)) l.close();
    }

    /** One proxied connection. */
    private final class Link {
      final long pid;
      final Socket in;
      final Socket out;

      Link(long pid, Socket in, Socket out) {
        this.pid = pid;
        this.in = in;
        this.out = out;
      }

      void start(String name) {
        Thread up = new Thread(() -> pump(in, out), name + "-up");
        Thread down = new Thread(() -> pump(out, in), name + "-down");
        up.setDaemon(true);
        down.setDaemon(true);
        up.start();
        down.start();
      }

      private void pump(Socket from, Socket to) {
        byte[] buf = new byte[64 * 1024];
        try {
          InputStream is = from.getInputStream();
          OutputStream os = to.getOutputStream();
          for (int n; (n = is.read(buf)) >= 0; ) {
            os.write(buf, 0, n);
          }
        } catch (IOException e) {
          // closed by the other pump, a cut or the peer
        } finally {
          close();
        }
      }

      void close() {
        links.remove(this);
        quietly(in);
        quietly(out);
      }
    }
  }

  private static void quietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // closing anyway
    }
  }
}
