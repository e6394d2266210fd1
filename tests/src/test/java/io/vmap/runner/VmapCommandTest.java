package io.vmap.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The vmap command in-process: replay output, one-line usage errors, info, a short demo. */
class VmapCommandTest {

  @TempDir Path dir;

  record Run(int exit, String out, String err) {
    List<String> lines() {
      return out.lines().toList();
    }
  }

  static Run vmap(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    int exit = VmapCommand.commandLine(o, e).execute(args);
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private Path file(String name, String text) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  // One node over [0x100000, 0x200000): a single global allocator, placement is lowest fit.
  // The threshold (fls(1) * 32 MiB / 4 KiB = 8192 pages) is never reached, so only `purge` purges.
  @Test
  void replayOneNodeMatchesTheDesignByHand() throws IOException {
    Path ops = file("one.txt", String.join("\n",
        "# lowest fit, aligned fit, the gap below it",
        "alloc 0x1000",
        "alloc 0x2000 align=0x4000",
        "alloc 0x3000",
        "find 0x105fff",
        "find 0x106000",
        "",
        "free 0x104000   # lazily freed: not reusable, not found",
        "free 0x104000",
        "find 0x104000",
        "free 0x100800",
        "info",
        "alloc 0x2000",
        "purge",
        "info",
        "alloc 0x2000",
        "alloc 0x100000",
        "alloc 0",
        ""));
    Run r = vmap("replay", "--nodes", "1", "--space", "0x100000:0x200000", ops.toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals(List.of(
        "0x0000000000100000",
        "0x0000000000104000",
        "0x0000000000101000",
        "0x0000000000104000 0x0000000000106000",
        "none",
        "ok",
        "ENOENT",
        "none",
        "EINVAL 0x0000000000100800 is inside area 0x0000000000100000-0x0000000000101000 but not its start",
        "busy=2 lazy=1 free=1024000",
        "0x0000000000106000",
        "purged 1",
        "busy=3 lazy=0 free=1024000",
        "0x0000000000104000",
        "ENOSPC",
        "EINVAL size 0"), r.lines());
  }

  // Two nodes, 64 KiB zones over [0x100000, 0x200000): node 0 owns 0x100000, 0x120000, ...;
  // node 1 owns 0x110000, 0x130000, ... A 128 KiB area fits in no shard and must span zones.
  @Test
  void replayTwoNodesFromStdinSpansZonesAndFailsFast() {
    String ops = String.join("\n",
        "alloc 0x1000",
        "alloc 0x1000 node=1",
        "alloc 0x20000",
        "find 0x125000",
        "alloc 0x1000 policy=fail-fast node=1",
        "alloc 0x1000 vstart=0x150000 vend=0x151000 policy=fail-fast",
        "alloc 0x1000 vstart=0x150000 vend=0x151000",
        "free 0x111000",
        "find 0x125000",
        "info",
        "purge",
        "info",
        "alloc 0x20000",
        "alloc 0x1000 node=2",
        "");
    InputStream stdin = System.in;
    Run r;
    try {
      System.setIn(new ByteArrayInputStream(ops.getBytes(StandardCharsets.UTF_8)));
      r = vmap("replay", "--nodes", "2", "--zone", "0x10000", "--space", "0x100000:0x200000", "-");
    } finally {
      System.setIn(stdin);
    }
    assertEquals(0, r.exit(), r.err());
    assertEquals(List.of(
        "0x0000000000100000",
        "0x0000000000110000",
        "0x0000000000111000",
        "0x0000000000111000 0x0000000000131000",
        "0x0000000000131000",
        "EAGAIN",
        "0x0000000000150000",
        "ok",
        "none",
        "busy=4 lazy=1 free=901120",
        "purged 1",
        "busy=4 lazy=0 free=1032192",
        "0x0000000000111000",
        "EINVAL node 2 is not in 0..1"), r.lines());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "--page 3000 OPS                  | page 3000 is not a power of two",
    "--space 0x200000:0x100000 OPS    | space start 0x0000000000200000 is not below its end 0x0000000000100000",
    "--nodes 0 OPS                    | nodes 0 is not in 1..4096",
    "--zone 4096 --nodes 2 OPS        | more than 2147483648; use a larger zone",
    "--zone 2048 OPS                  | zone 2048 is smaller than page 4096",
    "--page 4k OPS                    | '4k' is not a decimal or 0x hex number",
    "--space 0x100000 OPS             | '0x100000' is not START:END",
    "--lazy-max-pages -1 OPS          | '-1' is not a decimal or 0x hex number",
    "MISSING                          | cannot read",
    "DIR                              | is a directory",
    "--frob OPS                       | Unknown option: '--frob'",
  })
  void badReplayOptionsAreOneLineAndExit2(String args, String reason) throws IOException {
    Path ops = file("ops.txt", "alloc 4096\n");
    String[] words = ("replay " + args.trim())
        .replace("OPS", ops.toString())
        .replace("MISSING", dir.resolve("missing.txt").toString())
        .replace("DIR", dir.toString())
        .split(" ");
    Run r = vmap(words);
    assertEquals(2, r.exit());
    assertEquals("", r.out());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().startsWith("vmap replay: "), r.err());
    assertTrue(r.err().contains(reason), r.err());
  }

  @Test
  void infoPrintsTheZoneCountsOfAConfigFile() throws IOException {
    Path conf = file("small.conf", String.join("\n",
        "vmap.space { start = 0x10000000, end = 0x20000000, zone = 1 MiB, nodes = 3 }",
        "vmap.purge.lazy-max-pages = 1000",
        ""));
    Run r = vmap("info", "--config", conf.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("0x0000000010000000:0x0000000020000000 (268435456 bytes, 256 MiB)"), r.out());
    assertTrue(r.out().matches("(?s).*zones in space: +256 .*"), r.out());
    assertTrue(r.out().matches("(?s).*zones per node: +85\\.\\.86 \\(1 node owns 86\\).*"), r.out());
    assertTrue(r.out().contains("lazy-max-pages 1000 (set)"), r.out());
  }

  @Test
  void infoSaysWhenTheAutoThresholdIsHalfASmallSpace() throws IOException {
    // 64 MiB over 4 nodes: fls(4) * 32 MiB = 96 MiB would exceed the space; half its pages instead.
    Path conf = file("tiny.conf", "vmap.space { start = 0x100000000, end = 0x104000000, zone = 1 MiB, nodes = 4 }\n");
    Run r = vmap("info", "--config", conf.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("lazy-max-pages 8192 (auto: half the space's 16384 pages, below fls(4) x 32 MiB / 4096 = 24576)"),
        r.out());
  }

  @Test
  void infoRejectsABadConfigWithTheKey() throws IOException {
    Path conf = file("bad.conf", "vmap.space.nodes = 0\n");
    Run r = vmap("info", "--config", conf.toString());
    assertEquals(2, r.exit());
    assertEquals("", r.out());
    assertEquals("vmap info: vmap.space: nodes 0 is not in 1..4096", r.err().strip());

    Run missing = vmap("info", "--config", dir.resolve("nope.conf").toString());
    assertEquals(2, missing.exit());
    assertTrue(missing.err().startsWith("vmap info: cannot read config file"), missing.err());
  }

  @Test
  void shortDemoAccountsForTheWholeSpace() {
    Run r = vmap("demo", "--ops", "2000", "--nodes", "4", "--threads", "2", "--seed", "7");
    assertEquals(0, r.exit(), r.out() + r.err());
    assertTrue(r.out().contains("accounting: free + busy + lazy + reserved = 35184372088832 == space 35184372088832: ok"),
        r.out());
    assertTrue(r.out().contains("errors: 0"), r.out());
    assertTrue(r.out().matches("(?s).*alloc +latency: p50 .*"), r.out());
  }

  @Test
  void demoRejectsBadCounts() {
    Run r = vmap("demo", "--threads", "0");
    assertEquals(2, r.exit());
    assertEquals("vmap demo: threads 0 is not in 1..1024", r.err().strip());
  }
}
