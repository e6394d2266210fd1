package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorSystem;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import com.typesafe.config.Config;
import io.vmap.client.AllocOptions;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.space.Area;
import io.vmap.state.ErrorCode;
import io.vmap.state.Principal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ownership moves with its node (issue 12: "every area records its tenant durably, so it survives
 * recovery and moves with its node"). Two durable members in one JVM share one H2 journal; tenants
 * a and b allocate while the first member is alone, so it hosts every vmap node; the second joins
 * and the first leaves, so every node is handed to the second and recovered there from the
 * journal. From the survivor: the same areas with the same owners, b's area is ENOENT for a (and
 * the other way round) and found for b, and every tenant's usage, lazily freed areas included, is
 * what it was.
 */
@Tag("integration")
class TenantHandoverInOneJvmTest {

  /** Upper bound of any wait (real time); never a pass/fail criterion on speed. */
  private static final Duration WAIT = Duration.ofSeconds(120);

  @TempDir Path dir;
  private final InJvmMembers members = new InJvmMembers();

  @AfterEach
  void stopAll() {
    members.close();
  }

  /** A durable member of the cluster on {@code seeds}, journal under {@code dataDir}, tenant a's quota. */
  private static Config member(int port, List<Integer> seeds, Path dataDir) {
    return InJvmMembers.member(port, seeds, dataDir,
        "vmap.purge.lazy-max-pages = 100000\nvmap.tenants.quotas { a { max-areas = 10 } }\n");
  }

  private ActorSystem<Void> system(Config c) {
    return members.system(c);
  }

  /** Its result, or its failure unwrapped (a VmapException stays one). */
  private static <T> T await(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) throw r;
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void ownersAndUsageMoveWithTheNodesToAnotherMember() {
    int p1 = freePort();
    int p2 = freePort();
    Path data = dir.resolve("data");

    // The first member alone: it hosts all four nodes.
    // One seed: the first forms the cluster at once (with two it first tries to join the other).
    Config c1 = member(p1, List.of(p1), data);
    ActorSystem<Void> first = system(c1);
    VmapCluster one = VmapCluster.start(first, VmapSettings.from(c1));
    await(one.hosting());
    VmapClient a = one.client().as(Principal.tenant("a"));
    VmapClient b = one.client().as(Principal.tenant("b"));
    List<Area> ofA = new ArrayList<>();
    List<Area> ofB = new ArrayList<>();
    for (int home = 0; home < 4; home++) {
      ofA.add(await(a.alloc(AllocOptions.size(8192).home(home).tag("a" + home))).area());
      ofB.add(await(b.alloc(AllocOptions.size(4096).home(home).tag("b" + home))).area());
    }
    // Three zones: pieces on three nodes, each recording whose area it is part of.
    Area spanning = await(a.alloc(AllocOptions.size(3 * 65536).home(1).tag("a-span"))).area();
    await(a.free(ofA.get(0).start())); // lazily freed: still a's, still counted
    VmapInfo before = await(one.client().info());
    assertEquals(4, before.tenant("b").usage().areas(), before::render);
    assertEquals(1, before.tenant("a").usage().lazyAreas(), before::render);

    // The second member joins; the first leaves (coordinated shutdown: its shards are handed off).
    Config c2 = member(p2, List.of(p1), data);
    ActorSystem<Void> second = system(c2);
    VmapCluster two = VmapCluster.start(second, VmapSettings.from(c2));
    await(two.hosting());
    ActorTestKit kit = ActorTestKit.create(second);
    kit.createTestProbe().awaitAssert(WAIT, () -> {
      assertEquals(2, upMembers(first), "members up as the first sees them");
      return null;
    });
    first.terminate();
    first.getWhenTerminated().toCompletableFuture().join();
    kit.createTestProbe().awaitAssert(WAIT, () -> {
      assertEquals(1, upMembers(second), "the second alone");
      return null;
    });

    // Every node now runs on the survivor, recovered from the journal (asked again while the
    // handover is still under way and an ask times out).
    VmapInfo after = kit.createTestProbe().awaitAssert(WAIT, () -> await(two.client().info()));
    assertEquals(before.busy(), after.busy(), "the same areas with the same owners:\n" + after.render());
    assertEquals(before.lazy(), after.lazy(), after::render);
    assertEquals(before.tenants(), after.tenants(), "every tenant's usage and quota:\n" + after.render());
    assertTrue(after.accountsForSpace(), after::render);

    VmapClient a2 = two.client().as(Principal.tenant("a"));
    VmapClient b2 = two.client().as(Principal.tenant("b"));
    assertEquals(before.tenant("a"), await(a2.tenants()).get(0), "a's own row");
    assertEquals(before.tenant("b"), await(b2.tenants()).get(0), "b's own row");
    for (int k = 0; k < 4; k++) {
      Area x = ofB.get(k);
      assertEquals(Optional.empty(), await(a2.find(x.start())), "b's area on node " + k + " is nothing to a");
      VmapException hidden = assertThrows(VmapException.class, () -> await(a2.free(x.start())));
      assertEquals(ErrorCode.ENOENT, hidden.code(), hidden::getMessage);
      assertEquals(Optional.of(x), await(b2.find(x.start())), "b's own");
    }
    long piece = spanning.start() + 2 * 65536; // held by another node than the start's
    assertNotEquals(two.client().geometry().nodeOf(spanning.start()), two.client().geometry().nodeOf(piece));
    assertEquals(Optional.empty(), await(b2.find(piece)));
    assertEquals(Optional.of(spanning), await(a2.find(piece)));
    assertEquals(ErrorCode.ENOENT, assertThrows(VmapException.class, () -> await(b2.free(spanning.start()))).code());
    // Nothing above changed a thing; the owners free their own.
    assertEquals(before.busy(), await(two.client().info()).busy());
    assertEquals(spanning, await(a2.free(spanning.start())));
    assertEquals(ofB.get(3), await(b2.free(ofB.get(3).start())));
    assertFalse(await(two.client().info()).busy().stream().anyMatch(i -> i.area().equals(spanning)));
  }

  private static long upMembers(ActorSystem<?> system) {
    return StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up()).count();
  }

  private static int freePort() {
    try {
      return io.vmap.torture.FreePorts.next();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }
}
