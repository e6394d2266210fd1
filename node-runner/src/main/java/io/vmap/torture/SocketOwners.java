package io.vmap.torture;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;

/**
 * Which local process owns a TCP socket, from Linux's {@code /proc}: the process at the other end
 * of a loopback connection (so a proxy can tell which member opened it), and the process listening
 * on a port (the member serving the H2 database). Only the processes named as candidates are
 * searched, and only sockets of this network namespace are seen.
 */
final class SocketOwners {

  private static final Path PROC = Path.of("/proc");
  private static final String ESTABLISHED = "01";
  private static final String LISTEN = "0A";

  private SocketOwners() {}

  /** Whether this system has {@code /proc/net/tcp} (Linux). */
  static boolean available() {
    return Files.isReadable(PROC.resolve("net/tcp"));
  }

  /**
   * The candidate process holding the connected socket with local port {@code localPort} and
   * remote port {@code remotePort} (the peer of a connection accepted on {@code remotePort}), or
   * empty if none of them does.
   */
  static OptionalLong connectedFrom(int localPort, int remotePort, Collection<Long> candidates) {
    long inode = inode(localPort, remotePort, ESTABLISHED);
    return inode <= 0 ? OptionalLong.empty() : holder(inode, candidates);
  }

  /** The candidate process listening on {@code port}, or empty. */
  static OptionalLong listening(int port, Collection<Long> candidates) {
    long inode = inode(port, 0, LISTEN);
    return inode <= 0 ? OptionalLong.empty() : holder(inode, candidates);
  }

  /** The inode of the socket in {@code state} with these ports (remote 0: any), or -1. */
  private static long inode(int localPort, int remotePort, String state) {
    for (String table : List.of("net/tcp", "net/tcp6")) {
      List<String> lines;
      try {
        lines = Files.readAllLines(PROC.resolve(table));
      } catch (IOException e) {
        continue;
      }
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).trim().split("\\s+");
        if (f.length < 10 || !f[3].equals(state)) continue;
        if (port(f[1]) != localPort) continue;
        if (remotePort != 0 && port(f[2]) != remotePort) continue;
        long inode = Long.parseLong(f[9]);
        if (inode > 0) return inode;
      }
    }
    return -1;
  }

  /** "0100007F:1F90" -> 8080 */
  private static int port(String address) {
    return Integer.parseInt(address.substring(address.indexOf(':') + 1), 16);
  }

  private static OptionalLong holder(long inode, Collection<Long> candidates) {
    String wanted = "socket:[" + inode + "]";
    for (long pid : candidates) {
      try (DirectoryStream<Path> fds = Files.newDirectoryStream(PROC.resolve(Long.toString(pid)).resolve("fd"))) {
        for (Path fd : fds) {
          try {
            if (Files.readSymbolicLink(fd).toString().equals(wanted)) return OptionalLong.of(pid);
          } catch (IOException e) {
            // closed meanwhile
          }
        }
      } catch (IOException e) {
        // the process is gone
      }
    }
    return OptionalLong.empty();
  }
}
