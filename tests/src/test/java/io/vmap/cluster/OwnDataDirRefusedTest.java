package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Project issue 10, the user's setup: members of {@code cluster-config/three-local.conf}, each with
 * its OWN {@code --data-dir}, six HTTP clients allocating and freeing through them (two members
 * here: the second stands for every member started that way, and CI's 15 minutes count each JVM).
 * Before, a shard handed to a member whose journal had never seen its history served as if empty:
 * acknowledged areas answered 404 to their free. Now a member with another journal refuses to
 * host vmap nodes: it exits with status 78 and a message naming both journals and the fix, the
 * cluster keeps serving from the first member, every acknowledged area is still there and every
 * free of one is answered 204. Started again with the cluster's --data-dir, a refused member joins
 * and serves the same areas.
 */
@Tag("integration")
class OwnDataDirRefusedTest {

  @TempDir Path dir;

  @Test
  void aMemberWithItsOwnDataDirRefusesToHostNodesAndNothingAcknowledgedIsLost() throws Exception {
    try (LaunchedMembers m = new LaunchedMembers(dir, 2)) {
      Path a = dir.resolve("data-a");
      m.start(0, a);
      m.awaitReady(0, Duration.ofSeconds(180));

      Load load = new Load(m, 6);
      load.start();
      load.awaitAcked(100, Duration.ofSeconds(120));

      // The natural reading of a per-member flag: a data directory of its own.
      Process second = m.start(1, dir.resolve("data-b"));
      assertEquals(78, m.awaitExit(second, Duration.ofSeconds(180)), "exit status of the member with its own dir");
      String said = m.output(second);
      JsonNode identity = clusterIdentity(a);
      assertTrue(said.contains("this member's journal is not the cluster's"), said);
      assertTrue(said.contains("cluster's journal:     " + identity.get("id").asText()), "names the cluster's id:\n" + said);
      assertTrue(said.contains("this member's journal: none (jdbc:h2:file:" + dir.resolve("data-b")), "names its own:\n" + said);
      assertTrue(said.contains("--data-dir " + a), "says which --data-dir to use:\n" + said);
      // The refused members wrote nothing: their journals still have no identity.
      assertFalse(Files.exists(dir.resolve("data-b/vmap-journal.mv.db")) && hasIdentity(dir.resolve("data-b")),
          "a refused member must not create an identity in its journal");

      int before = load.acked.get();
      load.awaitAcked(before + 100, Duration.ofSeconds(120));

      // The fix the message names: the cluster's --data-dir. The member joins and serves.
      Process again = m.start(1, a);
      m.awaitReady(1, Duration.ofSeconds(180));
      load.awaitAcked(load.acked.get() + 100, Duration.ofSeconds(120));
      load.stop();

      assertEquals(List.of(), load.lostFrees, "frees of acknowledged areas answered 404");
      assertEquals(List.of(), load.errors, "unexpected answers");
      // Every acknowledged area not freed is still there, through both serving members.
      for (Map.Entry<String, String> e : load.live.entrySet()) {
        for (int member : new int[] {0, 1}) {
          HttpResponse<String> r = m.findSettled(member, e.getKey(), Duration.ofSeconds(60));
          assertEquals(200, r.statusCode(), "acknowledged area " + e.getKey() + " lost (member " + member + "): " + r.body());
          assertEquals(e.getValue(), LaunchedMembers.JSON.readTree(r.body()).get("end").asText());
        }
      }
      JsonNode info = m.getJson(1, "/v1/info?format=json");
      assertTrue(info.get("totals").get("accountsForSpace").asBoolean(), info.get("totals").toString());
      assertTrue(again.isAlive());
      System.err.printf("own-data-dir: %d allocations and %d frees acknowledged, %d live checked, %d unknown outcomes%n",
          load.acked.get(), load.freed.get(), load.live.size(), load.uncertain.size() + load.unknown.get());
    }
  }

  /** The identity stored in the H2 journal under {@code dataDir}, read by the test through JDBC. */
  private static JsonNode clusterIdentity(Path dataDir) throws Exception {
    String line = identityLine(dataDir);
    assertTrue(line != null, "no journal identity in " + dataDir);
    String[] w = line.split(" ", 5);
    return LaunchedMembers.JSON.createObjectNode().put("id", w[1]).put("journal", w[4]);
  }

  private static boolean hasIdentity(Path dataDir) throws Exception {
    return identityLine(dataDir) != null;
  }

  /** Reads the journal through the running member's H2 server (auto-server), like another member. */
  private static String identityLine(Path dataDir) throws Exception {
    String url = "jdbc:h2:file:" + dataDir.resolve("vmap-journal") + ";AUTO_SERVER=TRUE;IFEXISTS=TRUE";
    try (var c = java.sql.DriverManager.getConnection(url, "vmap", "vmap");
        var s = c.prepareStatement("select \"event_payload\" from \"event_journal\" where \"persistence_id\" = ?")) {
      s.setString(1, "vmap-node-cluster-identity");
      try (var r = s.executeQuery()) {
        return r.next() ? new String(r.getBytes(1), java.nio.charset.StandardCharsets.UTF_8) : null;
      }
    } catch (java.sql.SQLException e) {
      int code = e.getErrorCode();
      if (code == 90146 || code == 42102 || code == 42103 || code == 42104) return null; // no database, or no table
      throw e;
    }
  }

  /**
   * Six clients allocating and freeing through every member (a refused member answers nothing:
   * connection refused or 503). Remembers what was acknowledged, and every free of an acknowledged
   * area that was answered 404: the symptom of the issue.
   */
  private static final class Load {
    final LaunchedMembers m;
    final List<Thread> threads = new ArrayList<>();
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicInteger acked = new AtomicInteger();
    final AtomicInteger freed = new AtomicInteger();
    final AtomicInteger unknown = new AtomicInteger();
    /** Acknowledged and not freed: start -> end (hex). */
    final Map<String, String> live = new ConcurrentHashMap<>();
    final List<String> lostFrees = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Frees with an unknown outcome (a 5xx other than 503, or no answer): start -> request id. */
    final Map<String, String> uncertain = new ConcurrentHashMap<>();

    Load(LaunchedMembers m, int clients) {
      this.m = m;
      for (int c = 0; c < clients; c++) {
        int client = c;
        threads.add(new Thread(() -> run(client), "client-" + c));
      }
    }

    void start() {
      threads.forEach(Thread::start);
    }

    /** Stops the clients and settles the frees whose outcome was unknown (same request id: first answer). */
    void stop() throws Exception {
      stop.set(true);
      for (Thread t : threads) t.join();
      for (Map.Entry<String, String> u : uncertain.entrySet()) {
        if (!live.containsKey(u.getKey())) continue;
        HttpResponse<String> r = m.free(0, u.getKey(), u.getValue());
        if (r.statusCode() == 204) live.remove(u.getKey());
        else if (r.statusCode() == 404) lostFrees.add(u.getKey() + " (retried free): " + r.body());
        else errors.add("retried free of " + u.getKey() + ": " + r.statusCode() + " " + r.body());
      }
    }

    void awaitAcked(int atLeast, Duration max) {
      m.awaitAssert(max, () -> assertTrue(acked.get() >= atLeast, acked.get() + " < " + atLeast + "; errors " + errors));
    }

    private void run(int client) {
      Random random = new Random(client);
      ConcurrentLinkedQueue<String> mine = new ConcurrentLinkedQueue<>();
      int i = 0;
      while (!stop.get()) {
        int member = (client + i++) % m.size();
        try {
          if (mine.size() > 10 && random.nextInt(3) == 0) {
            String start = mine.poll();
            HttpResponse<String> r;
            try {
              r = m.free(member, start, "free-" + client + "-" + start);
            } catch (IOException e) {
              mine.add(start); // unknown outcome: free it again later, with the same request id
              if (!(e instanceof ConnectException)) uncertain.put(start, "free-" + client + "-" + start);
              continue;
            }
            if (r.statusCode() == 204) {
              live.remove(start);
              uncertain.remove(start);
              freed.incrementAndGet();
            } else if (r.statusCode() == 404) {
              lostFrees.add(start + " via member " + member + ": " + r.body());
              live.remove(start);
            } else {
              mine.add(start); // not served (a refused member's 503): free it later elsewhere
              if (r.statusCode() != 503) uncertain.put(start, "free-" + client + "-" + start);
            }
          } else {
            long size = random.nextInt(10) == 0 ? (1L << 20) + 4096L * random.nextInt(64) : 4096L * (1 + random.nextInt(16));
            HttpResponse<String> r = m.alloc(member, size, "a-" + client + "-" + i);
            if (r.statusCode() == 201) {
              JsonNode a = LaunchedMembers.JSON.readTree(r.body());
              live.put(a.get("start").asText(), a.get("end").asText());
              mine.add(a.get("start").asText());
              acked.incrementAndGet();
            } else if (r.statusCode() == 503 || r.statusCode() == 507) {
              // not ready (a refused or starting member), or full: nothing was acknowledged
            } else if (r.statusCode() >= 500) {
              unknown.incrementAndGet();
            } else {
              errors.add("alloc via member " + member + ": " + r.statusCode() + " " + r.body());
            }
          }
        } catch (ConnectException e) {
          // a member not running: nothing was sent
        } catch (IOException e) {
          unknown.incrementAndGet();
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }
}
