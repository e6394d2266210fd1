package io.vmap.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Vmap;
import io.vmap.client.VmapInfo;
import java.io.File;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A durable node whose snapshots cannot be read (written by an older vmap, whose NodeSnapshot had
 * fewer fields, or damaged) recovers from all its events instead of failing: the journal files set
 * {@code jdbc-snapshot-store.snapshot-is-optional}, and vmap never deletes events.
 */
@Tag("integration")
class UnreadableSnapshotTest {

  @TempDir Path dataDir;

  private Config config() {
    File journal = new File("../cluster-config/journal-h2.conf").isFile()
        ? new File("../cluster-config/journal-h2.conf") : new File("cluster-config/journal-h2.conf");
    return ConfigFactory.load(ConfigFactory.parseMap(Map.of(
            "vmap.mode", "durable",
            "vmap.data-dir", dataDir.toString(),
            "vmap.space.start", "0x100000", "vmap.space.end", "0x120000",
            "vmap.space.zone", 0x8000, "vmap.space.nodes", 2,
            "vmap.purge.lazy-max-pages", "1000",
            "vmap.node.snapshot-every", 2))
        .withFallback(ConfigFactory.parseFile(journal)));
  }

  private static <T> T await(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  void aNodeWhoseSnapshotsCannotBeReadRecoversFromItsEvents() throws Exception {
    Config cfg = config();
    VmapInfo before;
    try (Vmap vmap = Vmap.start(cfg)) {
      for (int i = 0; i < 6; i++) await(vmap.client().alloc(AllocOptions.size(4096 * (1 + i % 3)).home(i % 2).tag("s" + i)));
      long first = await(vmap.client().info()).busy().get(0).area().start();
      await(vmap.client().free(first));
      before = await(vmap.client().info());
    }
    Config db = cfg.getConfig("akka-persistence-jdbc.shared-databases.slick.db");
    try (Connection c = DriverManager.getConnection(db.getString("url"), db.getString("user"), db.getString("password"));
        Statement st = c.createStatement()) {
      int damaged = st.executeUpdate("UPDATE \"snapshot\" SET \"snapshot_payload\" = X'01020304'");
      assertTrue(damaged > 0, "the nodes stored snapshots (snapshot-every = 2)");
    }
    try (Vmap vmap = Vmap.start(cfg)) {
      VmapInfo after = await(vmap.client().info());
      assertEquals(before.busy(), after.busy(), after.render());
      assertEquals(before.lazy(), after.lazy(), after.render());
      assertEquals(before.nodes(), after.nodes(), after.render());
    }
  }
}
