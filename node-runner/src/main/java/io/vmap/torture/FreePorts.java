package io.vmap.torture;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ports for members that `vmap torture` and the tests start on this machine.
 *
 * <p>A port from {@code new ServerSocket(0)} lies in the kernel's ephemeral range (32768-60999 on
 * Linux), the range it also draws the local port of every outgoing connection from. Between choosing
 * such a port and a member binding it, or between a kill -9 and the restart on the same port, any
 * client socket on the machine can take it, and the member fails with "Address already in use".
 * Ports below the ephemeral range are only ever taken by an explicit bind, so they stay ours.
 */
public final class FreePorts {

  /** The lowest port handed out: above the well-known and most registered service ports. */
  static final int LOWEST = 10_000;

  private static final int EPHEMERAL_LOW = ephemeralLow();

  /**
   * Where this JVM's next candidate lies. A random start keeps two JVMs that choose ports at the
   * same moment (a test fork and a `vmap torture` run) apart; the bind check settles the rest.
   */
  private static final AtomicInteger NEXT =
      new AtomicInteger(ThreadLocalRandom.current().nextInt(EPHEMERAL_LOW - LOWEST));

  private FreePorts() {}

  /** A port below the ephemeral range that nothing listens on now, never the same twice in this JVM. */
  public static int next() throws IOException {
    int span = EPHEMERAL_LOW - LOWEST;
    for (int tries = 0; tries < span; tries++) {
      int port = LOWEST + Math.floorMod(NEXT.getAndIncrement(), span);
      if (bindable(port)) return port;
    }
    throw new IOException("no free port in " + LOWEST + ".." + (EPHEMERAL_LOW - 1));
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(port));
      return true;
    } catch (IOException taken) {
      return false;
    }
  }

  /** The low end of {@code net.ipv4.ip_local_port_range}; 32768, Linux's default, elsewhere. */
  private static int ephemeralLow() {
    try {
      String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      int low = Integer.parseInt(range.split("\\s+")[0]);
      return low > LOWEST + 1_000 ? low : 32_768;
    } catch (IOException | RuntimeException unreadable) {
      return 32_768;
    }
  }
}
