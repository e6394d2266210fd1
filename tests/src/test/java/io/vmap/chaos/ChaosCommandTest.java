package io.vmap.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.http.javadsl.ServerBinding;
import com.sun.net.httpserver.HttpServer;
import io.vmap.client.AllocOptions;
import io.vmap.client.Vmap;
import io.vmap.http.HealthProbe;
import io.vmap.http.VmapHttpServer;
import io.vmap.cli.Cli;
import io.vmap.runner.VmapCommand;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vmap chaos} and {@code vmap check} in-process. */
@org.junit.jupiter.api.Tag("integration")
class ChaosCommandTest {

  static {
    ChaosTestSupport.tuneCommonPool();
  }

  @TempDir Path dir;

  record Run(int exit, String out, String err) {
    List<String> lines() {
      return out.lines().toList();
    }

    String last() {
      List<String> l = lines();
      return l.isEmpty() ? "" : l.get(l.size() - 1);
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

  @Test
  void chaosRunsTheWorkloadUnderFaultsAndEndsWithTheViolationCount() throws IOException {
    Path history = dir.resolve("history.txt");
    Run r = vmap("chaos", "--ops", "3000", "--seed", "7", "--nodes", "3", "--clients", "32", "--history", history.toString());
    assertEquals(0, r.exit(), r.out() + r.err());
    assertEquals("vmap chaos: seed 7", r.lines().get(0));
    assertEquals("violations: 0", r.last());
    assertTrue(r.out().contains("ops: 3000 in "), r.out());
    assertTrue(r.out().matches("(?s).*faults injected: [1-9]\\d* \\(dropped \\d+, duplicated \\d+, delayed \\d+, reordered \\d+\\).*"),
        r.out());
    assertTrue(r.out().contains("retries: "), r.out());
    List<String> h = Files.readAllLines(history);
    assertTrue(h.size() > 6000 && h.get(0).startsWith("# vmap chaos history"), h.size() + " lines");
  }

  @Test
  void chaosRefusesBadOptions() {
    Run r = vmap("chaos", "--drop", "1.5");
    assertEquals(Cli.USAGE, r.exit());
    assertEquals("vmap chaos: drop 1.5 is not a probability in 0..1", r.err().trim());
    assertEquals("", r.out());
    r = vmap("chaos", "--nodes", "0");
    assertEquals(Cli.USAGE, r.exit());
    assertTrue(r.err().contains("nodes 0 is not in 1..64"), r.err());
  }

  @Test
  void checkEmbeddedRunsAShortWorkloadThenTheFullFsck() throws IOException {
    Path conf = dir.resolve("small.conf");
    Files.writeString(conf, "vmap.space { start = \"0x100000\", end = \"0x500000\", zone = 64 KiB, nodes = 4 }\n"
        + "vmap.purge.lazy-max-pages = 64\n");
    Run r = vmap("check", "--config", conf.toString(), "--ops", "1500", "--seed", "3");
    assertEquals(0, r.exit(), r.out() + r.err());
    assertTrue(r.lines().get(0).startsWith("vmap check: embedded allocator, config "), r.out());
    assertTrue(r.out().contains("history: "), r.out());
    assertEquals("violations: 0", r.last());
  }

  @Test
  void checkReadsALiveServersInfo() throws Exception {
    Vmap vmap = Vmap.start(ChaosTestSupport.config(2,
        "vmap.space.start = \"0x100000\"\nvmap.space.end = \"0x180000\"\nvmap.client.ask-timeout = 5s\n"));
    try {
      for (int i = 0; i < 20; i++) vmap.client().alloc(AllocOptions.size(4096L * (1 + i % 3)).tag("t" + i)).toCompletableFuture().join();
      // One spanning area: its parts are split between the nodes by zone.
      vmap.client().alloc(AllocOptions.size(0x18000)).toCompletableFuture().join();
      ServerBinding b = VmapHttpServer.start(vmap.system(), vmap.client(), "127.0.0.1", 0, HealthProbe.always())
          .toCompletableFuture().join();
      Run r = vmap("check", "--url", "http://127.0.0.1:" + b.localAddress().getPort());
      assertEquals(0, r.exit(), r.out() + r.err());
      assertTrue(r.out().contains("total: busy=21"), r.out());
      assertEquals("violations: 0", r.last());
    } finally {
      vmap.close();
    }
  }

  /** A server answering a fixed /v1/info body. */
  private static HttpServer fake(String json) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext("/v1/info", ex -> {
      byte[] body = json.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream o = ex.getResponseBody()) {
        o.write(body);
      }
    });
    s.start();
    return s;
  }

  @Test
  void checkReportsABrokenSystemAndExitsNonZero() throws IOException {
    // Two nodes of 64 KiB zones over 512 KiB: two areas overlap, one is held by the wrong node,
    // and node 0's free bytes leave 4 KiB unaccounted for.
    String json = "{\"geometry\":{\"vstart\":\"0x0000000000100000\",\"vend\":\"0x0000000000180000\",\"page\":4096,"
        + "\"zone\":65536,\"nodes\":2,\"spaceBytes\":524288},"
        + "\"busy\":[{\"start\":\"0x0000000000100000\",\"end\":\"0x0000000000102000\",\"size\":8192,\"node\":0,\"tag\":\"a\"},"
        + "{\"start\":\"0x0000000000101000\",\"end\":\"0x0000000000102000\",\"size\":4096,\"node\":0,\"tag\":\"b\"},"
        + "{\"start\":\"0x0000000000110000\",\"end\":\"0x0000000000111000\",\"size\":4096,\"node\":0,\"tag\":\"c\"}],"
        + "\"lazy\":[],\"nodes\":[{\"node\":0,\"busy\":3,\"lazy\":0,\"freeBytes\":253952,\"freeBlocks\":1,"
        + "\"largestFreeBlock\":61440,\"reservations\":0,\"reservedBytes\":0,\"heldParts\":0},"
        + "{\"node\":1,\"busy\":0,\"lazy\":0,\"freeBytes\":258048,\"freeBlocks\":4,\"largestFreeBlock\":65536,"
        + "\"reservations\":0,\"reservedBytes\":0,\"heldParts\":0}],"
        + "\"purge\":{\"epoch\":3,\"phase\":\"idle\",\"lazyPages\":0,\"thresholdPages\":64,\"subscribers\":0,"
        + "\"epochsRun\":3,\"areasReleased\":9,\"holders\":[]}}";
    HttpServer s = fake(json);
    try {
      Run r = vmap("check", "--url", "http://127.0.0.1:" + s.getAddress().getPort() + "/", "--wait", "0");
      assertEquals(Cli.FAILED, r.exit(), r.out() + r.err());
      assertTrue(r.out().contains("overlap"), r.out());
      assertTrue(r.out().contains("not nodeOf(start) = 1"), r.out());
      assertTrue(r.out().contains("node 0: free 253952"), r.out());
      assertTrue(r.last().matches("violations: [1-9]\\d*"), r.last());
    } finally {
      s.stop(0);
    }
  }

  @Test
  void checkOfAnUnreachableServerIsAFailureNotAUsageError() {
    Run r = vmap("check", "--url", "http://127.0.0.1:1");
    assertEquals(Cli.FAILED, r.exit());
    assertTrue(r.err().startsWith("vmap check: cannot reach http://127.0.0.1:1/v1/info"), r.err());
    Run bad = vmap("check", "--url", "nonsense");
    assertEquals(Cli.USAGE, bad.exit());
  }
}
