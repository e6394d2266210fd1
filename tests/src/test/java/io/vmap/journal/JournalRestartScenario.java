package io.vmap.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapInfo;
import io.vmap.space.Area;
import java.io.File;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * What a durable allocator on a real journal must do across whole-process restarts (each {@link
 * Vmap} has its own ActorSystem; closing it terminates the system and closes the database pool):
 * every acknowledged area, busy or lazily freed, comes back; a retried request id gets its first
 * answer, never a second area; the free space is rebuilt exactly (new areas never overlap old
 * ones); what happens after a restart survives the next one. Snapshots are taken every few events,
 * so recovery goes through the snapshot store (the node state's arrays and lists) and the events
 * after it.
 *
 * <p>Used by {@link H2JournalTest} and {@link PostgresJournalTest}, which give the journal
 * configuration file and decide whether the database is there.
 */
final class JournalRestartScenario {

  private JournalRestartScenario() {}

  /** Two nodes, 32 pages, 8-page zones (four zones): small enough that outcomes are checkable. */
  private static final long START = 0x100000;
  private static final long END = 0x120000;
  private static final long PAGE = 4096;
  private static final long ZONE = 0x8000;

  /** cluster-config/ from the tests module's working directory (Surefire runs in tests/). */
  static File clusterConfig(String name) {
    for (String dir : new String[] {"../cluster-config", "cluster-config"}) {
      File f = new File(dir, name);
      if (f.isFile()) return f;
    }
    throw new IllegalStateException("cluster-config/" + name + " not found from " + new File(".").getAbsolutePath());
  }

  /**
   * The configuration a durable allocator runs with: durable mode, the tiny geometry and {@code
   * overrides} over the journal file over reference.conf, resolved the way the node runner resolves
   * a --config file (system properties on top, then substitutions such as ${vmap.data-dir}).
   */
  static Config durableConfig(File journalFile, Map<String, Object> overrides) {
    Map<String, Object> m = new HashMap<>();
    m.put("vmap.mode", "durable");
    m.put("vmap.space.start", "0x" + Long.toHexString(START));
    m.put("vmap.space.end", "0x" + Long.toHexString(END));
    m.put("vmap.space.page", PAGE);
    m.put("vmap.space.zone", ZONE);
    m.put("vmap.space.nodes", 2);
    // No purge unless asked: freed areas stay lazy, so the restart must bring the lazy list back.
    m.put("vmap.purge.lazy-max-pages", "1000");
    // Snapshot every 3 events (keeping two), so recovery reads a snapshot and the events after it.
    m.put("vmap.node.snapshot-every", 3);
    // Fresh persistence ids: a shared database (PostgreSQL) may hold earlier runs.
    m.put("vmap.persistence-id-prefix", "journal-test-" + UUID.randomUUID() + "-node-");
    m.put("vmap.client.ask-timeout", "20s");
    m.putAll(overrides);
    return ConfigFactory.load(
        ConfigFactory.parseMap(m).withFallback(ConfigFactory.parseFile(journalFile)));
  }

  /** A JDBC connection to the journal's database, from the configuration the allocator used. */
  static Connection journalConnection(Config cfg) throws SQLException {
    Config db = cfg.getConfig("akka-persistence-jdbc.shared-databases.slick.db");
    return DriverManager.getConnection(db.getString("url"), db.getString("user"), db.getString("password"));
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static AllocOptions opts(long pages, String tag, int home, String id) {
    return AllocOptions.size(pages * PAGE).tag(tag).home(home).requestId(id);
  }

  /** Rows under this run's persistence ids in {@code table} ("event_journal" or "snapshot"). */
  static int rows(Config cfg, String table) throws SQLException {
    try (Connection c = journalConnection(cfg);
        PreparedStatement st =
            c.prepareStatement("SELECT COUNT(*) FROM " + quote(c, table) + " WHERE " + quote(c, "persistence_id") + " LIKE ?")) {
      st.setString(1, cfg.getString("vmap.persistence-id-prefix") + "%");
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /** The journal's lower-case names: quoted on H2 (whose schema quotes them), plain on PostgreSQL. */
  private static String quote(Connection c, String name) throws SQLException {
    return c.getMetaData().getDatabaseProductName().equalsIgnoreCase("H2") ? '"' + name + '"' : name;
  }

  /** Runs the whole scenario on {@code cfg}; returns nothing, asserts everything. */
  static void run(Config cfg) throws Exception {
    List<Allocation> kept = new ArrayList<>();
    Allocation first;
    Area freedArea;
    VmapInfo before;
    try (Vmap vmap = Vmap.start(cfg)) {
      var c = vmap.client();
      first = await(c.alloc(opts(2, "first", 0, "alloc-first")));
      kept.add(first);
      for (int i = 0; i < 5; i++) {
        kept.add(await(c.alloc(opts(1 + i % 2, "a" + i, i % 2, "alloc-" + i))));
      }
      // Ten pages: wider than a zone, so it spans zones (and nodes) through a reservation.
      Allocation spanning = await(c.alloc(opts(10, "spanning", 1, "alloc-spanning")));
      assertEquals(10 * PAGE, spanning.area().size());
      kept.add(spanning);
      Allocation toFree = kept.remove(2);
      freedArea = await(c.free(toFree.start(), "free-1"));
      assertEquals(toFree.area(), freedArea);
      before = await(c.info());
      assertEquals(kept.size(), before.busy().size(), before.render());
      assertEquals(1, before.lazy().size(), before.render());
      assertEquals(freedArea, before.lazy().get(0).area());
      assertTrue(before.accountsForSpace(), before.render());
    }
    assertTrue(rows(cfg, "event_journal") > 0, "no event stored under this run's persistence ids");
    assertTrue(rows(cfg, "snapshot") > 0, "no snapshot stored (vmap.node.snapshot-every = 3)");

    VmapInfo afterPurge;
    try (Vmap vmap = Vmap.start(cfg)) {
      var c = vmap.client();
      VmapInfo after = await(c.info());
      assertEquals(before.busy(), after.busy(), "busy areas after restart:\n" + after.render());
      assertEquals(before.lazy(), after.lazy(), "lazy areas after restart:\n" + after.render());
      assertEquals(before.nodes(), after.nodes(), "node counters after restart:\n" + after.render());
      assertTrue(after.accountsForSpace(), after.render());

      // Retries get the first answers, even though the process that gave them is gone.
      Allocation retried = await(c.alloc(opts(2, "first", 0, "alloc-first")));
      assertEquals(first, retried, "a retried alloc must return its first area");
      assertEquals(freedArea, await(c.free(freedArea.start(), "free-1")), "a retried free returns its first answer");
      assertEquals(before.busy(), await(c.info()).busy(), "retries must not change the space");

      // A new area lands in free space only: not on a busy area, not on the unpurged lazy one.
      Allocation fresh = await(c.alloc(opts(1, "fresh", 0, "alloc-fresh")));
      for (VmapInfo.AreaInfo a : after.busy()) assertFalse(overlaps(a.area(), fresh.area()), fresh + " overlaps " + a);
      assertFalse(overlaps(freedArea, fresh.area()), fresh + " overlaps the lazily freed " + freedArea);

      // Work after the restart is stored too.
      assertEquals(1, (int) await(c.purge()));
      afterPurge = await(c.info());
      assertTrue(afterPurge.lazy().isEmpty(), afterPurge.render());
      assertEquals(before.busy().size() + 1, afterPurge.busy().size(), afterPurge.render());
    }

    try (Vmap vmap = Vmap.start(cfg)) {
      VmapInfo again = await(vmap.client().info());
      assertEquals(afterPurge.busy(), again.busy(), "second restart:\n" + again.render());
      assertEquals(afterPurge.lazy(), again.lazy(), "second restart:\n" + again.render());
      assertEquals(afterPurge.nodes(), again.nodes(), "second restart:\n" + again.render());
      assertTrue(again.accountsForSpace(), again.render());
    }
  }

  private static boolean overlaps(Area a, Area b) {
    return Long.compareUnsigned(a.start(), b.end()) < 0 && Long.compareUnsigned(b.start(), a.end()) < 0;
  }

  /** Deletes this run's rows (shared databases; an H2 test database is a temporary file). */
  static void deleteRows(Config cfg) throws SQLException {
    try (Connection c = journalConnection(cfg)) {
      for (String table : new String[] {"event_journal", "snapshot"}) {
        try (PreparedStatement st =
            c.prepareStatement("DELETE FROM " + quote(c, table) + " WHERE " + quote(c, "persistence_id") + " LIKE ?")) {
          st.setString(1, cfg.getString("vmap.persistence-id-prefix") + "%");
          st.executeUpdate();
        }
      }
    }
  }
}
