package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmap.torture.Observer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first of the seed nodes, restarted, never forms a second cluster on the cluster's journal
 * (io.vmap.cluster.SeedJoin). Akka lets the first seed node form a new cluster when no other seed
 * answers within seed-node-timeout; before, a restarted first seed whose peers were slow to answer
 * formed one next to the running cluster, both owning every vmap node of one journal.
 *
 * <p>Three real members; the restarted one is cut off at its Artery proxy until it has waited past
 * seed-node-timeout (it says so), so the old rule would certainly have formed a cluster. Healed, it
 * joins the running cluster (the observer, a member of that cluster, sees it Up) and serves what was
 * acknowledged before. And a restart of a whole (two-member) cluster: no member forms it by itself; the one
 * started with {@code --form-cluster} does, on the same journal identity, and every area is there.
 */
@Tag("integration")
class FirstSeedRestartTest {

  /** Waits, not timing assertions: three JVMs on a loaded 2-CPU machine can take minutes. */
  private static final Duration READY = Duration.ofMinutes(10);
  private static final Duration WAIT = Duration.ofMinutes(5);
  /** What a member whose journal has history says once it has waited past seed-node-timeout. */
  private static final String NEVER_FORMS = "so it never forms a new cluster";
  /** What Akka logs when a member forms a new cluster. */
  private static final String FORMS = "and forming new cluster";

  @TempDir Path dir;

  @Test
  void aRestartedFirstSeedThatCannotReachTheOthersJoinsThemAndNeverFormsASecondCluster() throws Exception {
    try (LaunchedMembers m = new LaunchedMembers(dir, 3, true)) {
      m.cluster.startAll(READY);
      try (Observer observer = Observer.join(m.cluster, READY)) {
        List<JsonNode> areas = allocate(m, "before");

        m.cluster.kill(0); // the first seed node
        observer.awaitGone(0, WAIT);
        // Restarted where it can reach no other member: past seed-node-timeout, Akka would form a cluster.
        m.cluster.proxies().isolate(0);
        Process again = m.start(0);
        m.awaitAssert(WAIT, () -> assertTrue(m.output(again).contains(NEVER_FORMS) || m.output(again).contains(FORMS),
            "member 0 neither formed a cluster nor said it would not:\n" + m.output(again)));
        assertFalse(m.output(again).contains(FORMS), "the restarted first seed formed a new cluster:\n" + m.output(again));
        assertNotEquals(200, m.status(0, "/health/ready"), "member 0 ready while it can reach no other member");

        m.cluster.proxies().heal();
        observer.awaitUp(0, WAIT); // in the observer's cluster: the running one
        m.awaitReady(0, READY);
        assertFound(m, areas, 0);
        assertTrue(again.isAlive());
        assertFalse(m.output(again).contains(FORMS), m.output(again));
      }
    }
  }

  @Test
  void aWholeClusterRestartFormsOnlyWithFormClusterOnTheSameJournal() throws Exception {
    try (LaunchedMembers m = new LaunchedMembers(dir, 2)) {
      Process first = m.start(0);
      m.awaitReady(0, READY);
      m.start(1);
      m.awaitReady(1, READY);
      List<JsonNode> areas = allocate(m, "before");
      String identity = identityOf(m.output(first));

      for (int i : new int[] {1, 0}) assertTrue(m.cluster.terminate(i, WAIT), "member " + i + " stopped on SIGTERM");

      // Every member down, started again as usual: none forms the cluster by itself.
      List<Process> waiting = new ArrayList<>();
      for (int i : new int[] {1, 0}) waiting.add(m.start(i));
      Process seed = waiting.get(1);
      m.awaitOutput(seed, NEVER_FORMS, WAIT);
      m.awaitOutput(seed, "start one of them with --form-cluster", WAIT);
      assertFalse(m.output(seed).contains(FORMS), m.output(seed));
      for (int i = 0; i < m.size(); i++) assertNotEquals(200, m.status(i, "/health/ready"), "member " + i + " ready, no cluster");

      // The explicit step: one member (here the first seed) with --form-cluster.
      assertTrue(m.cluster.terminate(0, WAIT));
      Process formed = m.start(0, m.cluster.dataDir(), "--form-cluster");
      for (int i = 0; i < m.size(); i++) m.awaitReady(i, READY);
      assertTrue(m.output(formed).contains(FORMS), "the member with --form-cluster formed it:\n" + m.output(formed));
      assertEquals(identity, identityOf(m.output(formed)), "the cluster formed again on the same journal");
      for (int i = 0; i < m.size(); i++) assertFound(m, areas, i);
      assertFalse(m.output(waiting.get(0)).contains(FORMS), m.output(waiting.get(0)));
    }
  }

  /** Two areas through each member, one of them spanning zones; acknowledged (asked again while 503/504). */
  private static List<JsonNode> allocate(LaunchedMembers m, String tag) throws Exception {
    List<JsonNode> areas = new ArrayList<>();
    for (int i = 0; i < m.size(); i++) {
      for (long size : new long[] {8192, (1L << 20) + 4096}) {
        HttpResponse<String> r = m.allocSettled(i, size, tag + "-" + i + "-" + size, WAIT);
        assertEquals(201, r.statusCode(), r.body());
        areas.add(LaunchedMembers.JSON.readTree(r.body()));
      }
    }
    return areas;
  }

  private static void assertFound(LaunchedMembers m, List<JsonNode> areas, int member) throws Exception {
    for (JsonNode a : areas) {
      HttpResponse<String> r = m.findSettled(member, a.get("start").asText(), WAIT);
      assertEquals(200, r.statusCode(), "acknowledged " + a + " via member " + member + ": " + r.body());
      assertEquals(a.get("end").asText(), LaunchedMembers.JSON.readTree(r.body()).get("end").asText());
    }
  }

  /** The journal identity a member verified, from its log ("this member's journal is the cluster's, ID (..."). */
  private static String identityOf(String output) {
    Matcher matcher = Pattern.compile("journal is the cluster's, (\\S+) \\(").matcher(output);
    assertTrue(matcher.find(), "no verified journal identity in:\n" + output);
    return matcher.group(1);
  }
}
