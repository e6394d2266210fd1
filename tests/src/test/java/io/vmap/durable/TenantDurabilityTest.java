package io.vmap.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.client.AllocOptions;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.node.NodeSettings;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.ErrorCode;
import io.vmap.state.Principal;
import io.vmap.state.Quota;
import io.vmap.state.Quotas;
import io.vmap.state.TenantUsage;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Ownership and quota usage of a durable allocator survive its restart: the whole embedded
 * allocator is stopped and started again on the same journal (Akka's persistence test kit, events
 * and snapshots through Kryo), with snapshots every few writes so that recovery reads both.
 */
class TenantDurabilityTest extends KryoJournal {

  static final Geometry G = new Geometry(0x100000, 0x100000 + 16 * 0x10000, 4096, 0x10000, 2);


  static <T> T await(CompletionStage<T> s) {
    try {
      return s.toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) throw r;
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static VmapSettings settings(String prefix) {
    return VmapSettings.defaults().withGeometry(G, 1000L)
        .withNode(NodeSettings.defaults().withSnapshotEvery(2)
            .withQuotas(new Quotas(Quota.NONE, Map.of("a", new Quota(Quota.UNLIMITED, 3)))))
        .durable(prefix);
  }

  /** Closes {@code vmap} and waits until its nodes have stopped, so the next one alone writes their journals. */
  static void stopAndWait(Vmap vmap) {
    TestProbe<Object> probe = kit.createTestProbe();
    vmap.close();
    for (int k = 0; k < G.nodes(); k++) {
      probe.expectTerminated((ActorRef<?>) vmap.nodes().node(k), Duration.ofSeconds(20));
    }
  }

  @Test
  void ownersAndQuotaUsageSurviveARestart() {
    String prefix = "tenant-durable-" + ++instance + "-";
    Vmap vmap = Vmap.embed(kit.system(), settings(prefix));
    VmapClient a = vmap.client("a");
    Area a1 = await(a.alloc(AllocOptions.size(4096).tag("a1"))).area();
    Area a2 = await(a.alloc(AllocOptions.size(0x20000).tag("a2-spanning"))).area(); // spans both nodes
    await(a.alloc(AllocOptions.size(4096).tag("a3")));
    Area b1 = await(vmap.client("b").alloc(AllocOptions.size(8192).tag("b1"))).area();
    await(a.free(a1.start())); // lazy: still counts against a's quota (3 areas)
    VmapInfo before = await(vmap.client().info());
    kit.createTestProbe().awaitAssert(() -> {
      assertTrue(!snapshots.persistedInStorage(prefix + "0").isEmpty() || !snapshots.persistedInStorage(prefix + "1").isEmpty(),
          "a snapshot was stored");
      return null;
    });
    stopAndWait(vmap);

    Vmap again = Vmap.embed(kit.system(), settings(prefix));
    try {
      VmapInfo after = await(again.client().info());
      assertEquals(before.busy(), after.busy(), after::render);
      assertEquals(before.lazy(), after.lazy(), after::render);
      assertEquals(before.tenants(), after.tenants(), after::render);
      assertEquals(new TenantUsage("a", 0x20000 + 4096, 2, 4096, 1), after.tenant("a").usage());

      // Ownership: b still cannot see or free a's area, a still can.
      VmapClient b = again.client("b");
      assertEquals(Optional.empty(), await(b.find(a2.start())));
      assertEquals(ErrorCode.ENOENT, assertThrows(VmapException.class, () -> await(b.free(a2.start()))).code());
      assertEquals(Optional.of(b1), await(b.find(b1.start())));

      // Quota: a holds its 3, one lazily freed. One more fits only once that one is released: the
      // quota node counted it after the restart, so the allocation purged first.
      VmapClient a9 = again.client("a");
      assertEquals(0, after.purge().epochsRun());
      await(a9.alloc(AllocOptions.size(4096)));
      VmapInfo purged = await(again.client().info());
      assertTrue(purged.purge().epochsRun() >= 1, purged::render);
      assertEquals(new TenantUsage("a", 0x20000 + 2 * 4096, 3, 0, 0), purged.tenant("a").usage());
      VmapException over = assertThrows(VmapException.class, () -> await(a9.alloc(AllocOptions.size(4096))));
      assertEquals(ErrorCode.EDQUOT, over.code());
      assertEquals(a2, await(again.client(Principal.admin("ops")).free(a2.start())));
    } finally {
      stopAndWait(again);
    }
  }
}
