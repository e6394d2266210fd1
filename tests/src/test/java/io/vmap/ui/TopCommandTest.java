package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.client.VmapSettings;
import io.vmap.http.LiveMember;
import io.vmap.runner.VmapCommand;
import io.vmap.space.Geometry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code vmap top --url ... --once} against a live member with known areas, in-process. */
class TopCommandTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static LiveMember m;

  @BeforeAll
  static void start() throws Exception {
    m = new LiveMember("top", VmapSettings.defaults().withGeometry(new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2), null));
    m.alloc("{\"size\":65536,\"node\":0,\"tag\":\"full\"}");
    m.alloc("{\"size\":32768,\"node\":1}");
  }

  @AfterAll
  static void stop() throws Exception {
    m.close();
  }

  record Run(int exit, String out, String err) {}

  static Run vmap(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = VmapCommand.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void oneFrameOfAMember() {
    Run r = vmap("top", "--url", m.base + "/", "--once", "--width", "100", "--no-color");
    assertEquals(0, r.exit(), r.err());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.get(0).contains(m.base) && lines.get(0).contains("2 nodes"), lines.get(0));
    assertFalse(r.out().contains("\033["), "no escape sequences with --no-color");
    int map = -1;
    for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith("space map ")) map = i;
    assertTrue(map > 0, r.out());
    assertEquals("█▓··············", lines.get(map + 1), "zone 0 all busy, zone 1 half (under three quarters), the rest free");
    assertTrue(r.out().contains("purge: phase idle"), r.out());
    for (String l : lines) assertTrue(l.length() <= 100, "wider than --width: " + l);
  }

  @Test
  void badOptionsAreOneLineUsageErrors() {
    Run r = vmap("top", "--url", "ftp://x", "--once");
    assertEquals(2, r.exit());
    assertEquals("vmap top: url 'ftp://x' is not an http(s)://host:port address", r.err().trim());
    r = vmap("top", "--url", m.base, "--once", "--width", "10");
    assertEquals(2, r.exit());
    assertEquals("vmap top: width 10 is not in 40..1000", r.err().trim());
    r = vmap("top", "--url", m.base, "--once", "--interval", "0");
    assertEquals(2, r.exit());
  }

  @Test
  void anUnreachableMemberFailsWithTheReason() throws Exception {
    int port = io.vmap.torture.FreePorts.next();
    Run r = vmap("top", "--url", "http://127.0.0.1:" + port, "--once");
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.err().startsWith("vmap top: cannot read http://127.0.0.1:" + port), r.err());
  }
}
