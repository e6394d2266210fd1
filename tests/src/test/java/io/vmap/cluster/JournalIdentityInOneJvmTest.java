package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
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
 * The journal identity check with durable members in one JVM, each its own ActorSystem over an H2
 * file: the first member of a cluster writes the identity, a member of the same journal (also one
 * started later) hosts nodes and serves their history, and a member whose journal belongs to
 * another cluster is refused with both identities named and leaves.
 */
@Tag("integration")
class JournalIdentityInOneJvmTest {

  @TempDir Path dir;
  private final InJvmMembers members = new InJvmMembers();
  private final List<ActorSystem<Void>> systems = members.systems;

  @AfterEach
  void stopAll() {
    members.close();
  }

  private static Config member(int port, List<Integer> seeds, Path dataDir) {
    return InJvmMembers.member(port, seeds, dataDir, "");
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
    VmapCluster other = members.start(member(b, List.of(b), journalB));
    assertEquals(Done.getInstance(), await(other.hosting()));
    JournalIdentity otherId = other.journalIdentity();
    ActorSystem<Void> otherSystem = systems.remove(0);
    otherSystem.terminate();
    otherSystem.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);

    // This cluster forms on journal a and allocates.
    VmapCluster first = members.start(member(a, List.of(a, b, c), journalA));
    await(first.hosting());
    JournalIdentity clusterId = first.journalIdentity();
    assertNotEquals(otherId.id(), clusterId.id());
    Allocation kept = await(first.client().alloc(AllocOptions.size(8192).home(2).tag("kept")));

    // A member on journal b (another cluster's): refused, both identities named; it leaves.
    VmapCluster wrong = members.start(member(b, List.of(a, b, c), journalB));
    CompletionException refused = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> wrong.hosting().toCompletableFuture().join());
    JournalMismatch mismatch = assertInstanceOf(JournalMismatch.class, refused.getCause());
    assertEquals(clusterId, mismatch.cluster());
    assertEquals(otherId, mismatch.own());
    assertTrue(mismatch.getMessage().contains(clusterId.id()) && mismatch.getMessage().contains(otherId.id()),
        mismatch.getMessage());
    systems.get(systems.size() - 1).getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);

    // A member on journal a, started later: it hosts nodes and finds what the first allocated.
    VmapCluster later = members.start(member(c, List.of(a, b, c), journalA));
    await(later.hosting());
    assertEquals(clusterId, later.journalIdentity());
    assertEquals(Optional.of(kept.area()), await(later.client().find(kept.start())));
  }
}
