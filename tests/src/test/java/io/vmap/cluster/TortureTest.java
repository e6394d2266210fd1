package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.torture.HttpLoad;
import io.vmap.torture.Torture;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * CI's short versions of {@code vmap torture} (README "Torture tests"): three {@code vmap node}
 * processes under a recorded HTTP load, an observer member hosting the flush subscriber, then every
 * check (the history's rules, one owner per vmap node over the members' incarnations, every
 * acknowledged live area with its exact bounds, the books and {@code vmap check --url}, no leak
 * once everything is freed).
 *
 * <ul>
 *   <li>On H2, the three scenarios in one cluster ({@link Torture#mixed}, three rounds): kill -9 of
 *       the member serving the H2 database, which is also the oldest (purge coordinator and shard
 *       coordinator), a cut of the oldest at its Artery proxy until the split brain resolver downs
 *       it, SIGTERM of another; each restarted before the next round.
 *   <li>On PostgreSQL, one round of kill -9 of the oldest member, which hosts the purge coordinator
 *       and the shard coordinator while the journal stays up (the build starts the server; without
 *       one the test fails).
 * </ul>
 *
 * The long versions are {@code ./vmap torture kill|partition|rolling --rounds 10}.
 */
@Tag("integration")
class TortureTest {

  @Test
  void killCutAndTerminateMembersUnderLoadOnH2() throws Exception {
    Torture.Report r = Torture.mixed(TortureTests.settings(Torture.Journal.H2, 3, "mixed-h2"));
    TortureTests.assertClean(r);
    List<String> rounds = r.rounds();
    assertTrue(rounds.get(0).startsWith("round  1: kill -9") && rounds.get(0).contains("serves the H2 database")
        && rounds.get(0).contains("oldest: purge coordinator"), "round 1 kills the H2 server and the coordinators' host: " + rounds);
    assertTrue(rounds.get(1).startsWith("round  2: cut off") && rounds.get(1).contains("downed itself and exited"),
        "round 2's cut-off member downs itself: " + rounds);
    assertTrue(rounds.get(2).startsWith("round  3: SIGTERM"), rounds.toString());
    // Clients retrying with their request ids end every operation with a definite answer.
    assertEquals(0, r.unknown(), "operations without a definite answer after their retries");
    assertEquals(0, r.attempts().get(HttpLoad.Kind.INTERNAL), "internal errors (500)");
  }

  @Test
  void killMembersUnderLoadOnPostgres() throws Exception {
    TortureTests.requirePostgres();
    Torture.Report r = Torture.killNine(TortureTests.settings(Torture.Journal.POSTGRES, 1, "kill-postgres"));
    TortureTests.assertClean(r);
    assertTrue(r.rounds().stream().anyMatch(l -> l.contains("oldest: purge coordinator")),
        "the victim did not host the coordinators: " + r.rounds());
    assertEquals(0, r.unknown(), "operations without a definite answer after their retries");
  }
}
