package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link SeedJoin}'s configuration: Akka's seed nodes move to {@code vmap.cluster.seed-nodes}, so Akka
 * never joins (and never forms a cluster) by itself, and a seed node that is not an address fails the
 * start naming it. Its behaviour with real members: SeedJoinInOneJvmTest, FirstSeedRestartTest.
 */
class SeedJoinTest {

  private static final List<String> SEEDS = List.of("akka://vmap@127.0.0.1:2551", "akka://vmap@127.0.0.1:2552");

  @Test
  void akkasSeedNodesMoveSoAkkaDoesNotJoinByItself() {
    Config c = VmapCluster.memberConfig(ConfigFactory.parseString(
        "akka.cluster.seed-nodes = [\"" + String.join("\", \"", SEEDS) + "\"]").withFallback(ConfigFactory.load()));
    assertEquals(List.of(), c.getStringList("akka.cluster.seed-nodes"));
    assertEquals(SEEDS, c.getStringList(SeedJoin.SEED_NODES));
    assertFalse(c.getBoolean(SeedJoin.FORM_CLUSTER), "forming a cluster on a journal with history is opt-in");
  }

  @Test
  void seedNodesSetForVmapStayAndNoSeedsIsNoChange() {
    Config both = VmapCluster.memberConfig(ConfigFactory.parseString(
        "akka.cluster.seed-nodes = [\"akka://vmap@127.0.0.1:9\"]\n"
            + SeedJoin.SEED_NODES + " = [\"" + String.join("\", \"", SEEDS) + "\"]").withFallback(ConfigFactory.load()));
    assertEquals(SEEDS, both.getStringList(SeedJoin.SEED_NODES));
    assertEquals(List.of(), both.getStringList("akka.cluster.seed-nodes"));
    Config none = ConfigFactory.load();
    assertTrue(none == VmapCluster.memberConfig(none), "no seed nodes: the configuration as it is");
  }

  @Test
  void aSeedNodeThatIsNotAnAddressIsNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SeedJoin.create(
        List.of(SEEDS.get(0), "127.0.0.1:2552"), false, true, "p", "j", Duration.ofSeconds(1), t -> {}));
    assertTrue(e.getMessage().contains("'127.0.0.1:2552'") && e.getMessage().contains("akka.cluster.seed-nodes"),
        e.getMessage());
  }
}
