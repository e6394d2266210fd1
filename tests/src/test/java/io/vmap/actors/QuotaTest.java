package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.geometry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.node.NodeSettings;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.ErrorCode;
import io.vmap.state.Quota;
import io.vmap.state.Quotas;
import io.vmap.state.TenantUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Tenant quotas over the whole space, through the embedded API: a tenant's allocations from every
 * home node together never exceed its quota (its quota node admits each), an allocation over it
 * fails with EDQUOT, lazily freed areas count until released (and an allocation over quota only
 * because of them waits for a synchronous purge), other tenants are not limited, and info shows
 * every tenant's usage and quota.
 *
 * <p>Four nodes, 64 KiB zones over 32 zones from 0x100000; no purge unless asked (threshold 1000 pages).
 */
class QuotaTest extends AllocatorTestBase {

  static final Geometry G = geometry(0x100000, 32, 4);

  Vmap withQuotas(Map<String, Quota> quotas) {
    return Vmap.embed(testKit.system(), VmapTestSupport.settings(G, 1000)
        .withNode(NodeSettings.defaults().withLease(VmapTestSupport.LEASE).withQuotas(new Quotas(Quota.NONE, quotas))));
  }

  static VmapException failure(java.util.concurrent.CompletionStage<?> s) {
    return assertThrows(VmapException.class, () -> await(s));
  }

  @Test
  void allocationsFromEveryHomeTogetherStayWithinTheAreaQuota() {
    vmap = withQuotas(Map.of("q", new Quota(Quota.UNLIMITED, 5)));
    VmapClient q = vmap.client("q");
    // Twelve allocations at once, three on each home node: exactly five may succeed.
    List<AllocOptions> asks = new ArrayList<>();
    for (int i = 0; i < 12; i++) asks.add(AllocOptions.size(4096).home(i % 4).tag("q" + i));
    List<VmapClient.Result<Allocation>> results = await(q.allocAll(asks));
    long ok = results.stream().filter(VmapClient.Result::ok).count();
    assertEquals(5, ok, results::toString);
    for (VmapClient.Result<Allocation> r : results) {
      if (!r.ok()) {
        assertEquals(ErrorCode.EDQUOT, r.error().code(), r.error()::toString);
        assertTrue(r.error().reason().contains("tenant q is over its quota (max-bytes unlimited, max-areas 5)"), r.error().reason());
      }
    }
    VmapInfo info = await(vmap.client().info());
    assertEquals(new TenantUsage("q", 5 * 4096, 5, 0, 0), info.tenant("q").usage());
    assertEquals(new Quota(Quota.UNLIMITED, 5), info.tenant("q").quota());
    assertTrue(info.render().contains("# tenant q: areas=5 bytes=20480 (lazy: areas=0 bytes=0) quota: max-bytes unlimited, max-areas 5"),
        info::render);
    // Another tenant, without a quota, is not limited by q's.
    for (int i = 0; i < 8; i++) await(vmap.client("r").alloc(AllocOptions.size(4096)));
    assertEquals(8, await(vmap.client().info()).tenant("r").usage().areas());
  }

  @Test
  void theByteQuotaCountsWholeAreasSpanningOnesToo() {
    vmap = withQuotas(Map.of("q", new Quota(0x30000, Quota.UNLIMITED)));
    VmapClient q = vmap.client("q");
    // 128 KiB spans zones of two nodes; it counts whole against the 192 KiB quota.
    Area span = await(q.alloc(AllocOptions.size(0x20000))).area();
    assertTrue(G.nodeOf(span.start()) != G.nodeOf(span.end() - 1));
    VmapException over = failure(q.alloc(AllocOptions.size(0x10000 + 4096)));
    assertEquals(ErrorCode.EDQUOT, over.code());
    assertTrue(over.reason().contains("holds 131072 bytes in 1 areas"), over.reason());
    assertTrue(over.reason().contains("asks for 69632 more bytes"), over.reason());
    // Exactly up to the quota is fine.
    await(q.alloc(AllocOptions.size(0x10000)));
    assertEquals(0x30000, await(q.info()).tenant("q").usage().bytes());
    assertEquals(ErrorCode.EDQUOT, failure(q.alloc(AllocOptions.size(4096))).code());
  }

  @Test
  void lazilyFreedAreasCountUntilReleasedAndAnAllocationOverOnlyBecauseOfThemWaitsForAPurge() {
    vmap = withQuotas(Map.of("q", new Quota(Quota.UNLIMITED, 2)));
    VmapClient q = vmap.client("q");
    Area a = await(q.alloc(AllocOptions.size(4096))).area();
    await(q.alloc(AllocOptions.size(4096)));
    await(q.free(a.start()));
    VmapInfo before = await(vmap.client().info());
    assertEquals(new TenantUsage("q", 4096, 1, 4096, 1), before.tenant("q").usage(), "the freed area still counts, as lazy");
    long epochs = before.purge().epochsRun();
    // Fail-fast never waits for a purge (the kvmalloc lesson): EAGAIN, fall back to the normal policy.
    VmapException fast = failure(q.alloc(AllocOptions.size(4096).failFast()));
    assertEquals(ErrorCode.EAGAIN, fast.code(), fast::toString);
    assertEquals(epochs, await(vmap.client().info()).purge().epochsRun());
    // Over quota only because of the lazily freed area: a synchronous purge first, then it fits.
    await(q.alloc(AllocOptions.size(4096)));
    VmapInfo after = await(vmap.client().info());
    assertEquals(new TenantUsage("q", 8192, 2, 0, 0), after.tenant("q").usage());
    assertTrue(after.purge().epochsRun() > epochs, "a purge ran");
    // Now over with live areas: EDQUOT, whatever a purge could do.
    assertEquals(ErrorCode.EDQUOT, failure(q.alloc(AllocOptions.size(4096))).code());
  }

  @Test
  void aRetryOfAnAdmittedRequestIsNotCountedTwice() {
    vmap = withQuotas(Map.of("q", new Quota(Quota.UNLIMITED, 1)));
    VmapClient q = vmap.client("q");
    Area a = await(q.alloc(AllocOptions.size(4096).requestId("once"))).area();
    assertEquals(a, await(q.alloc(AllocOptions.size(4096).requestId("once"))).area());
    assertEquals(1, await(q.info()).tenant("q").usage().areas());
    assertEquals(ErrorCode.EDQUOT, failure(q.alloc(AllocOptions.size(4096).requestId("twice"))).code());
    // A refusal is an answer too: its retry gets it again.
    assertEquals(ErrorCode.EDQUOT, failure(q.alloc(AllocOptions.size(4096).requestId("twice"))).code());
  }

  @Test
  void tenantsSumsEveryNodesUsageWithoutTheAreasAndATenantSeesOnlyItsOwnRow() {
    vmap = withQuotas(Map.of("q", new Quota(0x40000, 10), "idle", new Quota(Quota.UNLIMITED, 3)));
    VmapClient q = vmap.client("q");
    // One area on each home, one spanning two nodes, one freed lazily.
    for (int home = 0; home < 4; home++) await(q.alloc(AllocOptions.size(4096).home(home)));
    await(q.alloc(AllocOptions.size(0x20000)));
    Area freed = await(q.alloc(AllocOptions.size(8192))).area();
    await(q.free(freed.start()));
    await(vmap.client("r").alloc(AllocOptions.size(4096)));

    List<VmapInfo.TenantInfo> all = await(vmap.client().tenants());
    assertEquals(List.of("idle", "q", "r"), all.stream().map(VmapInfo.TenantInfo::tenant).toList());
    assertEquals(new TenantUsage("q", 4 * 4096 + 0x20000, 5, 8192, 1), all.get(1).usage());
    assertEquals(new Quota(0x40000, 10), all.get(1).quota());
    assertEquals(TenantUsage.none("idle"), all.get(0).usage(), "a quota of its own: listed, holding nothing");
    // The same rows info computes from every area.
    assertEquals(await(vmap.client().info()).tenants(), all);

    assertEquals(List.of(all.get(1)), await(q.tenants()));
    List<VmapInfo.TenantInfo> none = await(vmap.client("nobody").tenants());
    assertEquals(List.of(new VmapInfo.TenantInfo("nobody", TenantUsage.none("nobody"), Quota.NONE)), none);
  }
}
