package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SeedJoin} with real ActorSystems over an H2 journal: a cluster whose only seed node is its
 * one member forms on a new journal; restarted, that member has no running member to join and its
 * journal holds the cluster's history, so it is refused rather than form a cluster (another may run
 * on the journal) and says to use --form-cluster; with {@code vmap.cluster.form-cluster = on} it
 * forms the cluster again, on the same journal identity, and serves what was acknowledged.
 */
@Tag("integration")
class SeedJoinInOneJvmTest {

  @TempDir Path dir;
  private final InJvmMembers members = new InJvmMembers();
  private final List<ActorSystem<Void>> systems = members.systems;

  @AfterEach
  void stopAll() {
    members.close();
  }

  private Config member(int port, boolean form) {
    return VmapCluster.memberConfig(InJvmMembers.member(port, List.of(port), dir.resolve("data"),
        "vmap.cluster.form-cluster = " + (form ? "on" : "off") + "\n"));
  }

  private void stopLast() throws Exception {
    ActorSystem<Void> s = systems.remove(systems.size() - 1);
    s.terminate();
    s.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  @Test
  void theOnlySeedWithHistoryIsRefusedUnlessToldToFormTheClusterAgain() throws Exception {
    int port = io.vmap.torture.FreePorts.next();
    Config plain = member(port, false);
    assertEquals(List.of(), plain.getStringList("akka.cluster.seed-nodes"), "Akka must not join by itself");
    assertEquals(List.of("akka://vmap@127.0.0.1:" + port), plain.getStringList("vmap.cluster.seed-nodes"));

    // A new journal: the only seed node forms the cluster, as Akka would.
    VmapCluster first = members.start(plain);
    await(first.hosting());
    JournalIdentity identity = first.journalIdentity();
    Allocation kept = await(first.client().alloc(AllocOptions.size(8192).home(1).tag("kept")));
    stopLast();

    // Its journal has history and there is no other seed node: refused, never a cluster of its own.
    VmapCluster again = members.start(member(port, false));
    ActorSystem<Void> refusedSystem = systems.get(systems.size() - 1);
    CompletionException refused = assertThrows(CompletionException.class, () -> again.hosting().toCompletableFuture().join());
    SeedJoin.Refused why = assertInstanceOf(SeedJoin.Refused.class, refused.getCause());
    assertTrue(why.getMessage().contains(identity.id()), why.getMessage());
    assertTrue(why.getMessage().contains("--form-cluster"), why.getMessage());
    refusedSystem.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    systems.remove(refusedSystem);

    // The explicit step: form-cluster. The same journal identity, the same areas.
    VmapCluster formed = members.start(member(port, true));
    await(formed.hosting());
    assertEquals(identity, formed.journalIdentity());
    assertEquals(Optional.of(kept.area()), await(formed.client().find(kept.start())));
  }
}
