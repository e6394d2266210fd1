package io.vmap.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A durable allocator on cluster-config/journal-h2.conf (embedded H2 file in vmap.data-dir): what
 * it acknowledged comes back after whole-process restarts ({@link JournalRestartScenario}).
 */
@org.junit.jupiter.api.Tag("integration")
class H2JournalTest {

  @TempDir Path dataDir;

  private Config config() {
    return JournalRestartScenario.durableConfig(
        JournalRestartScenario.clusterConfig("journal-h2.conf"), Map.of("vmap.data-dir", dataDir.toString()));
  }

  @Test
  void acknowledgedAreasSurviveRestarts() throws Exception {
    Config cfg = config();
    JournalRestartScenario.run(cfg);
    assertTrue(Files.isRegularFile(dataDir.resolve("vmap-journal.mv.db")), "the journal is the file in vmap.data-dir");
  }

  @Test
  void urlKeepsWriteDelayZeroAndSchemaIsIdempotent() throws Exception {
    Config cfg = config();
    String url = cfg.getString("akka-persistence-jdbc.shared-databases.slick.db.url");
    assertTrue(url.startsWith("jdbc:h2:file:" + dataDir + "/vmap-journal;WRITE_DELAY=0;"), url);
    // INIT runs the schema on every open: the second and third opens must not fail on it.
    for (int i = 0; i < 3; i++) {
      try (Connection c = JournalRestartScenario.journalConnection(cfg);
          Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS WHERE SETTING_NAME = 'WRITE_DELAY'")) {
        assertTrue(rs.next());
        assertEquals("0", rs.getString(1), "WRITE_DELAY");
      }
    }
  }

  /**
   * The two settings that cut what a commit writes (BENCHMARKS.md "Durable writes: where the bytes
   * go"): payloads up to 64 KiB inside their rows, and one journal transaction at a time so that
   * concurrent writes of several nodes share a commit.
   */
  @Test
  void payloadsAreStoredInlineAndWritesShareTransactions() throws Exception {
    Config cfg = config();
    assertEquals(1, cfg.getInt("jdbc-journal.parallelism"), "jdbc-journal.parallelism");
    try (Connection c = JournalRestartScenario.journalConnection(cfg);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS WHERE SETTING_NAME = 'MAX_LENGTH_INPLACE_LOB'")) {
      assertTrue(rs.next());
      assertEquals("65536", rs.getString(1), "MAX_LENGTH_INPLACE_LOB");
    }
  }
}
