package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapSettings;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal identity check with durable members in one JVM, each its own ActorSystem over an H2
 * file: the first member of a cluster writes the identity, a member of the same journal (also one
 * started later) hosts nodes and serves their history, and a member whose journal belongs to
 * another cluster is refused with both identities named and leaves.
 */
@Tag("integration")
class JournalIdentityInOneJvmTest {

  @TempDir Path dir;
  private final List<ActorSystem<Void>> systems = new ArrayList<>();

  @AfterEach
  void stopAll() {
    for (ActorSystem<Void> s : systems) s.terminate();
    for (ActorSystem<Void> s : systems) s.getWhenTerminated().toCompletableFuture().join();
  }

  private Config member(int port, List<Integer> seeds, Path dataDir) {
    StringBuilder s = new StringBuilder();
    for (int p : seeds) s.append(s.length() == 0 ? "" : ",").append("\"akka://vmap@127.0.0.1:").append(p).append('"');
    Path conf = LaunchedMembers.repo().resolve("cluster-config");
    return ConfigFactory.parseString(
            "akka.remote.artery.canonical.port = " + port + "\n"
                + "akka.cluster.seed-nodes = [" + s + "]\n"
                + "akka.coordinated-shutdown.exit-jvm = off\n"
                + "akka.logger-startup-timeout = 60s\n"
                + "vmap.data-dir = \"" + dataDir + "\"\n"
                + "vmap.space { start = \"0x100000\", end = \"0x500000\", page = 4096, zone = 65536, nodes = 4 }\n")
        .withFallback(ConfigFactory.parseFile(new File(conf.resolve("cluster-common.conf").toString())))
        .withFallback(ConfigFactory.parseFile(new File(conf.resolve("journal-h2.conf").toString())))
        .withFallback(ConfigFactory.load())
        .resolve();
  }

  private VmapCluster start(Config c) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "vmap", c);
    systems.add(system);
    return VmapCluster.start(system, VmapSettings.from(c));
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  @Test
  void aMemberOfAnotherClustersJournalIsRefusedAndOneOfTheSameJournalServesItsHistory() throws Exception {
    int a = io.vmap.torture.FreePorts.next();
    int b = io.vmap.torture.FreePorts.next();
    int c = io.vmap.torture.FreePorts.next();
    Path journalA = dir.resolve("a");
    Path journalB = dir.resolve("b");

    // Another cluster, formed on journal b alone, then gone: journal b has an identity of its own.
    VmapCluster other = start(member(b, List.of(b), journalB));
    assertEquals(Done.getInstance(), await(other.hosting()));
    JournalIdentity otherId = other.journalIdentity();
    ActorSystem<Void> otherSystem = systems.remove(0);
    otherSystem.terminate();
    otherSystem.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);

    // This cluster forms on journal a and allocates.
    VmapCluster first = start(member(a, List.of(a, b, c), journalA));
    await(first.hosting());
    JournalIdentity clusterId = first.journalIdentity();
    assertNotEquals(otherId.id(), clusterId.id());
    Allocation kept = await(first.client().alloc(AllocOptions.size(8192).home(2).tag("kept")));

    // A member on journal b (another cluster's): refused, both identities named; it leaves.
    VmapCluster wrong = start(member(b, List.of(a, b, c), journalB));
    CompletionException refused = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> wrong.hosting().toCompletableFuture().join());
    JournalMismatch mismatch = assertInstanceOf(JournalMismatch.class, refused.getCause());
    assertEquals(clusterId, mismatch.cluster());
    assertEquals(otherId, mismatch.own());
    assertTrue(mismatch.getMessage().contains(clusterId.id()) && mismatch.getMessage().contains(otherId.id()),
        mismatch.getMessage());
    systems.get(systems.size() - 1).getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);

    // A member on journal a, started later: it hosts nodes and finds what the first allocated.
    VmapCluster later = start(member(c, List.of(a, b, c), journalA));
    await(later.hosting());
    assertEquals(clusterId, later.journalIdentity());
    assertEquals(Optional.of(kept.area()), await(later.client().find(kept.start())));
  }
}
