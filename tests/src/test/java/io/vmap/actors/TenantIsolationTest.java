package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.embed;
import static io.vmap.actors.VmapTestSupport.geometry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import io.vmap.client.AllocOptions;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.protocol.ClientProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.state.ErrorCode;
import io.vmap.state.Principal;
import io.vmap.state.RequestKey;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * Tenants through the embedded API (DESIGN.md "Tenants"): every area belongs to the tenant whose
 * client allocated it; another tenant finds nothing there and freeing it (or an address inside it)
 * fails exactly as for an address where nothing was ever allocated; an admin sees and frees every
 * area; info shows a tenant only its own. Covered on both paths a lookup takes: a node's read
 * index and its mailbox (spanning areas, and requests sent to the node directly).
 *
 * <p>Two nodes, 64 KiB zones over 16 zones from 0x100000: node 0 owns 0x100000, 0x120000, ...
 */
class TenantIsolationTest extends AllocatorTestBase {

  static final Geometry G = geometry(0x100000, 16, 2);

  /** Its failure, unwrapped. */
  static VmapException failure(CompletionStage<?> s) {
    return assertThrows(VmapException.class, () -> await(s));
  }

  @Test
  void anotherTenantsAreaIsAnsweredExactlyLikeAMissingOne() {
    vmap = embed(testKit, G, 1000);
    VmapClient a = vmap.client("a");
    VmapClient b = vmap.client("b");
    Area x = await(a.alloc(AllocOptions.size(8192).tag("x").home(0))).area();
    long nothing = x.end() + 8 * 4096; // nothing was ever allocated there

    assertEquals(Optional.of(x), await(a.find(x.start() + 100)));
    assertEquals(Optional.empty(), await(b.find(x.start() + 100)));

    VmapException missing = failure(b.free(nothing));
    VmapException others = failure(b.free(x.start()));
    assertEquals(ErrorCode.ENOENT, others.code());
    assertEquals(missing.reason().replace(Unsigned.hex(nothing), "ADDR"), others.reason().replace(Unsigned.hex(x.start()), "ADDR"),
        "the same answer as for an address nothing was allocated at");
    // Inside the area but not its start: its owner learns that, another tenant does not.
    assertEquals(ErrorCode.EINVAL, failure(a.free(x.start() + 4096)).code());
    VmapException inside = failure(b.free(x.start() + 4096));
    assertEquals(ErrorCode.ENOENT, inside.code());
    assertEquals("no busy area contains " + Unsigned.hex(x.start() + 4096), inside.reason());

    // The area is untouched by all that; its owner frees it.
    assertEquals(Optional.of(x), await(a.find(x.start())));
    assertEquals(x, await(a.free(x.start())));
  }

  @Test
  void theNodesFilterLookupsAndFreesSentToThemDirectly() {
    vmap = embed(testKit, G, 1000);
    Area x = await(vmap.client("a").alloc(AllocOptions.size(4096).home(0))).area();
    TestProbe<ClientProtocol.Replies> replies = testKit.createTestProbe();
    RequestKey find = new RequestKey(99, 1);
    VmapTestSupport.node(vmap, 0).tell(new ClientProtocol.Batch(0,
        List.of(new ClientProtocol.FindRequest(find, x.start(), Principal.tenant("b")),
            new ClientProtocol.FindRequest(new RequestKey(99, 2), x.start(), Principal.tenant("a")),
            new ClientProtocol.FreeRequest(new RequestKey(99, 3), x.start(), Principal.tenant("b"))),
        replies.getRef()));
    List<ClientProtocol.Reply> r = replies.receiveMessage().replies();
    assertNull(((ClientProtocol.Found) r.get(0)).area());
    assertEquals(x, ((ClientProtocol.Found) r.get(1)).area());
    assertEquals(ErrorCode.ENOENT, ((ClientProtocol.Failed) r.get(2)).code());
    assertEquals(Optional.of(x), await(vmap.client("a").find(x.start())));
  }

  @Test
  void aSpanningAreaBelongsToItsTenantOnEveryNodeItCovers() {
    vmap = embed(testKit, G, 1000);
    VmapClient a = vmap.client("a");
    VmapClient b = vmap.client("b");
    // 128 KiB: wider than a zone, so it spans zones of both nodes.
    Area s = await(a.alloc(AllocOptions.size(0x20000).tag("span"))).area();
    long onOtherNode = s.start() + 0x18000;
    assertNotEquals(G.nodeOf(s.start()), G.nodeOf(onOtherNode));
    // A piece held by the other node: its index cannot tell, the node asks the start owner.
    assertEquals(Optional.of(s), await(a.find(onOtherNode)));
    assertEquals(Optional.empty(), await(b.find(onOtherNode)));
    // A free inside it, on the other node: that node asks the start owner, and answers per tenant.
    assertEquals(ErrorCode.EINVAL, failure(a.free(onOtherNode)).code());
    VmapException hidden = failure(b.free(onOtherNode));
    assertEquals(ErrorCode.ENOENT, hidden.code());
    assertEquals("no busy area contains " + Unsigned.hex(onOtherNode), hidden.reason());
    VmapInfo info = await(vmap.client().info());
    assertEquals(List.of(new VmapInfo.AreaInfo(s, G.nodeOf(s.start()), "a")), info.busy(), info::render);
  }

  @Test
  void anAdminSeesAndFreesEveryAreaAndATenantSeesOnlyItsOwnInfo() {
    vmap = embed(testKit, G, 1000);
    VmapClient a = vmap.client("a");
    VmapClient b = vmap.client("b");
    VmapClient ops = vmap.client(Principal.admin("ops"));
    Area x = await(a.alloc(AllocOptions.size(4096).tag("x"))).area();
    Area y = await(b.alloc(AllocOptions.size(8192).tag("y"))).area();
    Area z = await(vmap.client().alloc(AllocOptions.size(4096).tag("z"))).area();

    VmapInfo mine = await(a.info());
    assertEquals("a", mine.scope());
    assertEquals(List.of(x), mine.busy().stream().map(VmapInfo.AreaInfo::area).toList());
    assertTrue(mine.nodes().isEmpty(), "no per-node counters for a tenant");
    assertEquals(List.of("a"), mine.tenants().stream().map(VmapInfo.TenantInfo::tenant).toList());
    assertEquals(4096, mine.tenant("a").usage().bytes());

    VmapInfo all = await(ops.info());
    assertNull(all.scope());
    assertEquals(3, all.busy().size(), all::render);
    assertEquals(List.of("a", "b", Principal.DEFAULT_TENANT),
        all.tenants().stream().map(VmapInfo.TenantInfo::tenant).toList());
    assertTrue(all.render().contains(" tenant=b y"), all::render);

    assertEquals(Optional.of(y), await(ops.find(y.start())));
    try (AuditLog audit = AuditLog.capture()) {
      assertEquals(y, await(ops.free(y.start())));
      // One line: who, which area, whose (the node logs it before it answers).
      assertEquals(1, audit.lines().size(), audit.lines()::toString);
      String line = audit.lines().get(0);
      assertTrue(line.startsWith("admin ops freed area " + y + " of tenant b "), line);
      // The admin's own tenant, ops, holds nothing: a free of another's area moves nothing to it.
      assertEquals(0, await(ops.info()).tenant("ops").usage().areas());
      assertEquals(Optional.empty(), await(b.find(y.start())), "freed");
      assertEquals(Optional.of(z), await(vmap.client().find(z.start())));

      // A tenant freeing its own area is no admin action: nothing is logged.
      assertEquals(x, await(a.free(x.start())));
      assertEquals(List.of(line), audit.lines());

      // A synchronous purge is the admin's: a tenant gets EPERM (not logged); an admin's is logged.
      assertEquals(ErrorCode.EPERM, failure(a.purge()).code());
      assertEquals(List.of(line), audit.lines());
      assertEquals(2, (int) await(ops.purge()));
      assertEquals(List.of(line, "admin ops asked for a synchronous purge"), audit.lines());
      // The embedding system's own purges (chaos, replay, bench run them by the thousand) are not.
      assertEquals(0, (int) await(vmap.client().purge()));
      assertEquals(2, audit.lines().size(), audit.lines()::toString);
      // An admin of the default tenant (a token for it) has the SYSTEM principal's rights, and is
      // audited all the same.
      assertEquals(0, (int) await(vmap.client().as(Principal.admin(Principal.DEFAULT_TENANT)).purge()));
      assertEquals(List.of(line, "admin ops asked for a synchronous purge", "admin default asked for a synchronous purge"),
          audit.lines());
    }
  }

  @Test
  void requestIdsArePerTenant() {
    vmap = embed(testKit, G, 1000);
    Area ofA = await(vmap.client("a").alloc(AllocOptions.size(4096).requestId("r-1"))).area();
    Area ofB = await(vmap.client("b").alloc(AllocOptions.size(4096).requestId("r-1"))).area();
    assertNotEquals(ofA, ofB, "the same id under two tenants is two requests");
    assertEquals(ofA, await(vmap.client("a").alloc(AllocOptions.size(4096).requestId("r-1"))).area(), "a retry");
    assertEquals(ErrorCode.ENOENT, failure(vmap.client("b").free(ofA.start(), "f-1")).code());
    // a's own free with the same id is a different request: it frees a's area.
    assertEquals(ofA, await(vmap.client("a").free(ofA.start(), "f-1")));
  }
}
