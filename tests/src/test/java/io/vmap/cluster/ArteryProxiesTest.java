package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.torture.ArteryProxies;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The partition proxy on its own: connections pass until a member is cut off, then the open ones
 * are closed and new ones refused, in both directions (the connecting process is this JVM, told
 * apart from /proc), until healed.
 */
class ArteryProxiesTest {

  private static final long SELF = ProcessHandle.current().pid();

  private ServerSocket echo;
  private ArteryProxies proxies;
  private int port;

  @BeforeEach
  void start() throws IOException {
    // No skip: as Torture.run refuses, this fails where it cannot tell who connects.
    assertTrue(Files.isReadable(Path.of("/proc/net/tcp")),
        "partitions need Linux's /proc/net/tcp to tell who connects, and it is not readable here: run this test on Linux");
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::serveEcho, "echo");
    t.setDaemon(true);
    t.start();
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    proxies = new ArteryProxies();
    proxies.add(0, port, echo.getLocalPort());
    proxies.register(SELF, 1); // this JVM plays member 1, connecting to member 0
  }

  @AfterEach
  void stop() throws IOException {
    if (proxies != null) proxies.close();
    if (echo != null) echo.close();
  }

  @Test
  void cuttingOffTheTargetClosesOpenConnectionsAndRefusesNewOnesUntilHealed() throws IOException {
    try (Socket open = connect()) {
      assertEquals('a', roundTrip(open, 'a'));
      proxies.isolate(0);
      assertEquals(-1, readWithin(open), "the open connection is closed by the cut");
      try (Socket refused = connect()) {
        assertEquals(-1, readWithin(refused), "a new connection is closed at once");
      }
      assertEquals(1, proxies.refused());
      assertTrue(proxies.cut() >= 1, "cut " + proxies.cut());
    }
    proxies.heal();
    try (Socket again = connect()) {
      assertEquals('b', roundTrip(again, 'b'));
    }
  }

  @Test
  void cuttingOffTheOpenerCutsItsConnectionsToOthersToo() throws IOException {
    try (Socket open = connect()) {
      assertEquals('a', roundTrip(open, 'a'));
      proxies.isolate(1);
      assertEquals(-1, readWithin(open));
      try (Socket refused = connect()) {
        assertEquals(-1, readWithin(refused));
      }
    }
  }

  @Test
  void aCutBetweenOthersLeavesTheseConnectionsAlone() throws IOException {
    try (Socket open = connect()) {
      proxies.isolate(2);
      assertEquals('c', roundTrip(open, 'c'));
      try (Socket fresh = connect()) {
        assertEquals('d', roundTrip(fresh, 'd'));
      }
    }
    assertEquals(0, proxies.refused());
  }

  private Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
    s.setSoTimeout(10_000);
    return s;
  }

  private static int roundTrip(Socket s, char c) throws IOException {
    s.getOutputStream().write(c);
    s.getOutputStream().flush();
    return s.getInputStream().read();
  }

  /** The next byte, or -1 at the end of the stream; a timeout fails the test. */
  private static int readWithin(Socket s) throws IOException {
    try {
      return s.getInputStream().read();
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the connection stayed open", e);
    } catch (IOException e) {
      return -1; // reset: closed as well
    }
  }

  private void serveEcho() {
    while (!echo.isClosed()) {
      try {
        Socket s = echo.accept();
        Thread t = new Thread(() -> {
          try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            for (int b; (b = in.read()) >= 0; ) {
              out.write(b);
              out.flush();
            }
          } catch (IOException e) {
            // closed
          }
        }, "echo-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }
}
