package io.vmap.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A durable allocator on cluster-config/journal-postgres.conf: the same restarts as on H2
 * ({@link JournalRestartScenario}), against the server vmap.postgres.* / VMAP_PG_* point at.
 *
 * <p>Needs a server with the schema: {@code scripts/postgres.sh start} (.ci/run does it). Skipped
 * when nothing listens there, unless it must run: in CI ({@code CI=true}) or when VMAP_PG_HOST is
 * set, an unreachable server fails the test instead.
 */
@org.junit.jupiter.api.Tag("integration")
class PostgresJournalTest {

  private Config cfg;
  private boolean reachable;

  @BeforeEach
  void requireServer() {
    cfg = JournalRestartScenario.durableConfig(JournalRestartScenario.clusterConfig("journal-postgres.conf"), Map.of());
    String host = cfg.getString("vmap.postgres.host");
    int port = cfg.getInt("vmap.postgres.port");
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 2000);
    } catch (IOException e) {
      String where = "PostgreSQL at " + host + ":" + port + " (vmap.postgres.host/port, VMAP_PG_HOST/VMAP_PG_PORT) is not reachable: " + e;
      boolean required = "true".equalsIgnoreCase(System.getenv("CI")) || System.getenv("VMAP_PG_HOST") != null;
      if (required) {
        fail(where + ". It is required here (CI=true or VMAP_PG_HOST set): run scripts/postgres.sh start first.");
      }
      String skip = where + ". Skipping the PostgreSQL journal test; start a server with scripts/postgres.sh start.";
      System.err.println("PostgresJournalTest: " + skip); // Surefire shows abort reasons only in its reports
      Assumptions.abort(skip);
    }
    reachable = true;
  }

  @AfterEach
  void deleteRows() throws Exception {
    if (reachable) JournalRestartScenario.deleteRows(cfg);
  }

  @Test
  void acknowledgedAreasSurviveRestarts() throws Exception {
    JournalRestartScenario.run(cfg);
  }

  @Test
  void connectionsCommitSynchronouslyOnAnFsyncingServer() throws Exception {
    try (Connection c = JournalRestartScenario.journalConnection(cfg); Statement st = c.createStatement()) {
      assertEquals("on", show(st, "synchronous_commit"), "synchronous_commit of the journal's connections");
      assertEquals("on", show(st, "fsync"), "the server's fsync");
    }
  }

  private static String show(Statement st, String setting) throws Exception {
    try (ResultSet rs = st.executeQuery("SHOW " + setting)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
