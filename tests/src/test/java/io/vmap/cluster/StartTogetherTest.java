package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmap.runner.VmapCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three members of {@code cluster-config/three-local.conf} started at the same moment on a fresh
 * --data-dir (no database yet): all three become ready and serve one allocator. Before, this could
 * fail two ways: the purge coordinator singleton, started before the member's sharding region,
 * died at once ("Shard type [vmap-node] must be started first") and no member ever became ready;
 * and H2 refused some of the processes opening the new file at once (lock file, server not yet
 * listening, the schema's DDL racing). Then {@code vmap check --url} checks the running cluster
 * through /v1/info and /v1/fsck and finds nothing wrong.
 */
@Tag("integration")
class StartTogetherTest {

  @TempDir Path dir;

  @Test
  void threeMembersStartedAtOnceOnANewDatabaseAllServeAndCheckClean() throws Exception {
    try (LaunchedMembers m = new LaunchedMembers(dir, 3)) {
      Path data = m.cluster.dataDir();
      assertTrue(!Files.exists(data.resolve("vmap-journal.mv.db")), "a fresh directory, no database");
      long t0 = System.nanoTime();
      for (int i = 0; i < 3; i++) m.start(i, data);
      for (int i = 0; i < 3; i++) m.awaitReady(i, Duration.ofSeconds(240));
      System.err.printf("start-together: three members ready %.1f s after their start%n", (System.nanoTime() - t0) / 1e9);

      // One allocator: what one member allocates, the others find; spanning areas too.
      List<JsonNode> areas = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        for (long size : new long[] {8192, (1L << 20) + 4096}) {
          HttpResponse<String> r = m.alloc(i, size, "together-" + i + "-" + size);
          assertEquals(201, r.statusCode(), r.body());
          areas.add(LaunchedMembers.JSON.readTree(r.body()));
        }
      }
      for (JsonNode a : areas) {
        for (int i = 0; i < 3; i++) {
          HttpResponse<String> r = m.findSettled(i, a.get("start").asText(), Duration.ofSeconds(60));
          assertEquals(200, r.statusCode(), r.body());
          assertEquals(a.get("end").asText(), LaunchedMembers.JSON.readTree(r.body()).get("end").asText());
        }
      }
      assertEquals(204, m.free(1, areas.get(0).get("start").asText(), "together-free").statusCode());

      // vmap check --url: the full books of every node over HTTP, clean.
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int rc = VmapCommand.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8)).execute("check", "--url", m.url(2));
      String said = out.toString(StandardCharsets.UTF_8);
      assertEquals(0, rc, said + err.toString(StandardCharsets.UTF_8));
      assertTrue(said.contains("books: 8 nodes, "), said);
      assertTrue(said.endsWith("violations: 0\n"), said);
    }
  }
}
