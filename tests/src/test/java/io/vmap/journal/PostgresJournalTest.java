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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A durable allocator on cluster-config/journal-postgres.conf: the same restarts as on H2
 * ({@link JournalRestartScenario}), against the server vmap.postgres.* / VMAP_PG_* point at.
 *
 * <p>Needs a server with the schema: the tests module's build starts one (scripts/postgres.sh start,
 * before the integration tests) and points VMAP_PG_* at it. An unreachable server fails the test:
 * none skips for want of a server.
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
      fail("PostgreSQL at " + host + ":" + port + " (vmap.postgres.host/port, VMAP_PG_HOST/VMAP_PG_PORT) is not reachable: "
          + e + ". mvn -B verify starts it (scripts/postgres.sh start); run that, or start it yourself.");
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
