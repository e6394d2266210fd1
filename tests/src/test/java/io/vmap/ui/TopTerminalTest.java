package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vmap top} without --url, as a person runs it: its own JVM in a pseudo-terminal
 * (util-linux {@code script}), the embedded allocator with its light workload, frames redrawn until
 * it is stopped. It must clear the screen and draw a full frame again and again, in colour (a
 * terminal), with the workload's requests showing up.
 */
@Tag("integration")
class TopTerminalTest {

  static final String CLEAR = "\033[H\033[2J";

  @TempDir Path dir;

  @Test
  void embeddedTopRedrawsFramesInATerminal() throws Exception {
    Path conf = dir.resolve("small.conf");
    Files.writeString(conf, "include file(\"" + repo().resolve("cluster-config/embedded.conf") + "\")\n"
        + "vmap.space { start = \"0x100000000\", end = \"0x104000000\", page = 4096, zone = 1 MiB, nodes = 4 }\n");
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String cmd = String.join(" ", quote(javaBin), "-Xmx512m", "-cp", quote(cp), "io.vmap.runner.VmapCommand", "top",
        "--config", quote(conf.toString()), "--interval", "0.5", "--width", "100", "--rate", "50");
    ProcessBuilder pb = new ProcessBuilder("script", "-qfec", cmd, "/dev/null");
    pb.redirectErrorStream(true);
    pb.environment().put("TERM", "xterm");
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new AssertionError("util-linux 'script' is needed to give vmap top a terminal: " + e.getMessage(), e);
    }
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    Thread reader = new Thread(() -> copy(p.getInputStream(), seen), "top-output");
    reader.setDaemon(true);
    reader.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    String text = "";
    try {
      // Three frames, the last one with traffic (the light workload runs through the HTTP API).
      while (System.nanoTime() < deadline && p.isAlive()) {
        synchronized (seen) {
          text = seen.toString(StandardCharsets.UTF_8);
        }
        String[] frames = text.split(java.util.regex.Pattern.quote(CLEAR), -1);
        if (frames.length >= 4 && frames[frames.length - 2].contains("purge: phase")
            && frames[frames.length - 2].matches("(?s).*alloc [1-9][0-9.]*/s.*")
            && nodesWithTraffic(frames[frames.length - 2]) == 4) {
          break;
        }
        Thread.sleep(100);
      }
    } finally {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
      p.waitFor();
    }
    String[] frames = text.split(java.util.regex.Pattern.quote(CLEAR), -1);
    assertTrue(frames.length >= 4, "fewer than three frames in a terminal:\n" + text);
    String last = frames[frames.length - 2];
    assertTrue(last.contains("vmap top") && last.contains("embedded http://127.0.0.1:"), last);
    assertTrue(last.contains("4 nodes") && last.contains("space map "), last);
    assertTrue(last.matches("(?s).*alloc [1-9][0-9.]*/s.*"), "the light workload's allocations show: " + last);
    assertEquals(4, nodesWithTraffic(last), "every node serves some of the workload's requests: " + last);
    // Busy cells are red, mostly lazy ones yellow: which one dominates depends on the workload's moment.
    assertTrue(last.contains("\033[31m") || last.contains("\033[33m"), "colour in a terminal: " + last);
    assertTrue(text.contains("operator page http://127.0.0.1:"), "where the page is: " + text);
  }

  /** Rows of the node table whose req/s (third column from the right) is not zero. */
  static int nodesWithTraffic(String frame) {
    int n = 0;
    for (String line : frame.split("\n")) {
      String[] t = line.trim().split("\\s+");
      if (t.length >= 10 && t[0].matches("[0-9]+") && t[t.length - 3].matches("[0-9.]+")
          && Double.parseDouble(t[t.length - 3]) > 0) {
        n++;
      }
    }
    return n;
  }

  private static void copy(InputStream in, ByteArrayOutputStream out) {
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        synchronized (out) {
          out.write(buf, 0, n);
        }
      }
    } catch (IOException e) {
      // the process ended
    }
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  private static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }
}
