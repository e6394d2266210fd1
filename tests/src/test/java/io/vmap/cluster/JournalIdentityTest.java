package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.File;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The journal identity's stored line, where a member's journal is, and the refusal's message: it
 * names both identities and the fix for the journal the cluster uses.
 */
class JournalIdentityTest {

  private static final JournalIdentity CLUSTER = new JournalIdentity("6f1c0c1e-0b9a-4f53-9d9e-5a3d6f2b8c11",
      Instant.parse("2026-11-27T10:00:00Z"), "akka://vmap@127.0.0.1:2551", "jdbc:h2:file:/srv/vmap/a/vmap-journal");

  @Test
  void theStoredLineReadsBackAsTheSameIdentity() {
    assertEquals("vmap-journal-identity/1 6f1c0c1e-0b9a-4f53-9d9e-5a3d6f2b8c11 2026-11-27T10:00:00Z "
        + "akka://vmap@127.0.0.1:2551 jdbc:h2:file:/srv/vmap/a/vmap-journal", CLUSTER.line());
    assertEquals(CLUSTER, JournalIdentity.parse(CLUSTER.line()));
    // A journal location may hold spaces (a directory name): it is the rest of the line.
    JournalIdentity spaced = new JournalIdentity("x", Instant.EPOCH, "m", "jdbc:h2:file:/my data/vmap-journal");
    assertEquals(spaced, JournalIdentity.parse(spaced.line()));
    JournalIdentity fresh = JournalIdentity.create("akka://vmap@h:1", "j");
    assertNotEquals(fresh.id(), JournalIdentity.create("akka://vmap@h:1", "j").id(), "random ids");
  }

  @Test
  void anythingElseIsRefusedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JournalIdentity.parse("hello"));
    assertEquals("not a journal identity: 'hello'", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> JournalIdentity.parse("vmap-journal-identity/2 a b c d"));
    IllegalArgumentException t = assertThrows(IllegalArgumentException.class,
        () -> JournalIdentity.parse("vmap-journal-identity/1 id yesterday m j"));
    assertTrue(t.getMessage().contains("bad time"), t.getMessage());
  }

  @Test
  void theJournalsLocationIsItsUrlWithoutSettingsOrCredentials() {
    Config h2 = ConfigFactory.parseString("vmap.data-dir = \"/srv/vmap/a\"")
        .withFallback(ConfigFactory.parseFile(new File(LaunchedMembers.repo().resolve("cluster-config/journal-h2.conf").toString())))
        .withFallback(ConfigFactory.load()).resolve();
    assertEquals("jdbc:h2:file:/srv/vmap/a/vmap-journal", JournalIdentity.location(h2));
    Config pg = ConfigFactory.parseString("vmap.postgres { host = db1, port = 5432, db = alloc, password = secret }")
        .withFallback(ConfigFactory.parseFile(new File(LaunchedMembers.repo().resolve("cluster-config/journal-postgres.conf").toString())))
        .withFallback(ConfigFactory.load()).resolve();
    assertEquals("jdbc:postgresql://db1:5432/alloc", JournalIdentity.location(pg));
    assertEquals("/srv/vmap/a", JournalIdentity.h2Directory("jdbc:h2:file:/srv/vmap/a/vmap-journal"));
    assertNull(JournalIdentity.h2Directory("jdbc:postgresql://db1:5432/alloc"));
  }

  @Test
  void theRefusalNamesBothJournalsAndTheFix() {
    String none = JournalMismatch.message(CLUSTER, null, "jdbc:h2:file:/srv/vmap/b/vmap-journal", "vmap-node-cluster-identity");
    assertTrue(none.contains("cluster's journal:     6f1c0c1e-0b9a-4f53-9d9e-5a3d6f2b8c11 (created 2026-11-27T10:00:00Z by "
        + "akka://vmap@127.0.0.1:2551, journal jdbc:h2:file:/srv/vmap/a/vmap-journal)"), none);
    assertTrue(none.contains("this member's journal: none (jdbc:h2:file:/srv/vmap/b/vmap-journal has no "
        + "vmap-node-cluster-identity"), none);
    assertTrue(none.contains("--data-dir /srv/vmap/a"), none);

    JournalIdentity other = new JournalIdentity("0a0b", Instant.parse("2026-11-26T09:00:00Z"), "akka://vmap@10.0.0.9:2551",
        "jdbc:postgresql://db2:5432/vmap");
    JournalIdentity pgCluster = new JournalIdentity("c1", Instant.EPOCH, "akka://vmap@10.0.0.1:2551",
        "jdbc:postgresql://db1:5432/vmap");
    String another = JournalMismatch.message(pgCluster, other, "jdbc:postgresql://db2:5432/vmap", "vmap-node-cluster-identity");
    assertTrue(another.contains("this member's journal: 0a0b (created 2026-11-26T09:00:00Z by akka://vmap@10.0.0.9:2551, "
        + "journal jdbc:postgresql://db2:5432/vmap)"), another);
    assertTrue(another.contains("the same PostgreSQL database (jdbc:postgresql://db1:5432/vmap)"), another);

    String replaced = JournalMismatch.message(CLUSTER, null, CLUSTER.journal(), "vmap-node-cluster-identity");
    assertTrue(replaced.contains("was replaced or recreated while the cluster ran"), replaced);
  }
}
