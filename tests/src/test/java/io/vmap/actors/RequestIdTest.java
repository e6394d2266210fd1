package io.vmap.actors;

import io.vmap.protocol.ClientProtocol;
import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.embed;
import static io.vmap.actors.VmapTestSupport.failure;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.info;
import static io.vmap.actors.VmapTestSupport.node;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.node.VmapNode;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.Policy;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md "Durability and cluster": requests carry an id; a retried request returns the first
 * answer, never a second area. Geometry: 2 nodes, 16 zones of 64 KiB from B = 0x100000.
 */
class RequestIdTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 2);

  private VmapClient c;

  private void start() {
    vmap = embed(testKit, G, 1_000_000);
    c = vmap.client();
  }

  private static AllocSpec spec(long size, int home) {
    return AllocSpec.of(G, size, G.page(), null, null, home, "", Policy.NORMAL);
  }

  private List<Area> busy() {
    VmapInfo i = info(vmap);
    assertTrue(i.accountsForSpace(), i::render);
    return i.busy().stream().map(VmapInfo.AreaInfo::area).toList();
  }

  @Test
  void allocTwiceWithTheSameIdReturnsTheSameArea() {
    start();
    Allocation a1 = await(c.alloc(AllocOptions.size(0x3000).home(0).requestId("r-1")));
    Allocation a2 = await(c.alloc(AllocOptions.size(0x3000).home(0).requestId("r-1")));
    assertEquals(a1, a2);
    assertEquals(B, a1.start());
    assertEquals(List.of(a1.area()), busy());
    // A new id is a new area.
    Allocation a3 = await(c.alloc(AllocOptions.size(0x3000).home(0).requestId("r-2")));
    assertEquals(B + 0x3000, a3.start());
  }

  @Test
  void aRetryThroughTheClientWithTheSameOptionsReturnsTheFirstArea() {
    start();
    // The caller leaves the home to the client (round robin) and retries with the same id, as the
    // ETIMEDOUT documentation tells it to.
    AllocOptions o = AllocOptions.size(0x2000).requestId("retry-1");
    Allocation a1 = await(c.alloc(o));
    Allocation a2 = await(c.alloc(o));
    assertEquals(a1, a2, "a retry with the same request id must not get a second area");
    assertEquals(1, busy().size());
    // A fresh client (the caller restarted) retrying the same id gets the same first answer.
    VmapClient other = new VmapClient(testKit.system(), G, vmap.nodes(), c.coordinator(), java.time.Duration.ofSeconds(10));
    assertEquals(a1, await(other.alloc(o)));
    // Several ids, so that a home chosen per call would have differed for some of them.
    for (int i = 0; i < 6; i++) {
      AllocOptions oi = AllocOptions.size(0x1000).requestId("retry-many-" + i);
      assertEquals(await(c.alloc(oi)), await(c.alloc(oi)));
    }
    assertEquals(7, busy().size());
  }

  @Test
  void concurrentDuplicatesGetOneArea() {
    start();
    TestProbe<ClientProtocol.Replies> replies = testKit.createTestProbe(ClientProtocol.Replies.class);
    for (int i = 0; i < 3; i++) node(vmap, 1).tell(Requests.one(Requests.alloc("dup-1", spec(0x5000, 1)), replies.ref()));
    List<Area> got = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ClientProtocol.Allocated a = Requests.reply(replies, ClientProtocol.Allocated.class);
      assertEquals(Requests.allocKey("dup-1"), a.key());
      got.add(a.area());
    }
    assertEquals(List.of(got.get(0), got.get(0), got.get(0)), got);
    assertEquals(B + ZONE, got.get(0).start());
    assertEquals(List.of(got.get(0)), busy());

    // Through the client: both stages started before either completes.
    CompletableFuture<Allocation> f1 = c.alloc(AllocOptions.size(0x1000).home(0).requestId("dup-2")).toCompletableFuture();
    CompletableFuture<Allocation> f2 = c.alloc(AllocOptions.size(0x1000).home(0).requestId("dup-2")).toCompletableFuture();
    assertEquals(await(f1), await(f2));
    assertEquals(2, busy().size());
  }

  @Test
  void duplicatesOfAnAllocationThatIsStillWalkingGetOneArea() {
    start();
    // Node 0 full: every request homed on it walks to node 1 (answered asynchronously).
    for (int z = 0; z < 16; z += 2) {
      await(c.alloc(AllocOptions.size(ZONE).home(0).range(B + z * ZONE, B + (z + 1) * ZONE)));
    }
    TestProbe<ClientProtocol.Replies> replies = testKit.createTestProbe(ClientProtocol.Replies.class);
    for (int i = 0; i < 3; i++) node(vmap, 0).tell(Requests.one(Requests.alloc("walk-1", spec(0x1000, 0)), replies.ref()));
    Area first = Requests.reply(replies, ClientProtocol.Allocated.class).area();
    assertEquals(B + ZONE, first.start());
    assertEquals(first, Requests.reply(replies, ClientProtocol.Allocated.class).area());
    assertEquals(first, Requests.reply(replies, ClientProtocol.Allocated.class).area());
    // And after it was answered.
    node(vmap, 0).tell(Requests.one(Requests.alloc("walk-1", spec(0x1000, 0)), replies.ref()));
    ClientProtocol.Allocated late = Requests.reply(replies, ClientProtocol.Allocated.class);
    assertEquals(first, late.area());
    assertEquals(1, late.node());
    assertEquals(9, busy().size());
  }

  @Test
  void duplicatesOfASpanningAllocationGetOneArea() {
    start();
    CompletableFuture<Allocation> f1 = c.alloc(AllocOptions.size(0x18000).home(1).requestId("span-1")).toCompletableFuture();
    CompletableFuture<Allocation> f2 = c.alloc(AllocOptions.size(0x18000).home(1).requestId("span-1")).toCompletableFuture();
    Allocation a = await(f1);
    assertEquals(a, await(f2));
    assertEquals(new Area(B, B + 0x18000, ""), a.area());
    assertEquals(a, await(c.alloc(AllocOptions.size(0x18000).home(1).requestId("span-1"))));
    assertEquals(List.of(a.area()), busy());
  }

  @Test
  void freeTwiceWithTheSameIdAnswersOkBothTimesAndADifferentIdIsEnoent() {
    start();
    Allocation a = await(c.alloc(AllocOptions.size(0x4000).home(1)));
    assertEquals(a.area(), await(c.free(a.start(), "free-1")));
    assertEquals(a.area(), await(c.free(a.start(), "free-1")));
    assertEquals(ErrorCode.ENOENT, failure(c.free(a.start(), "free-2")));
    // Concurrent duplicates straight to the node: the same first answer.
    Allocation b = await(c.alloc(AllocOptions.size(0x1000).home(0)));
    TestProbe<ClientProtocol.Replies> replies = testKit.createTestProbe(ClientProtocol.Replies.class);
    node(vmap, 0).tell(Requests.one(Requests.free("free-3", b.start()), replies.ref()));
    node(vmap, 0).tell(Requests.one(Requests.free("free-3", b.start()), replies.ref()));
    assertEquals(b.area(), Requests.reply(replies, ClientProtocol.Freed.class).area());
    assertEquals(b.area(), Requests.reply(replies, ClientProtocol.Freed.class).area());
    // A retry sent to the wrong node reaches the owner and gets the same answer.
    node(vmap, 1).tell(Requests.one(Requests.free("free-3", b.start()), replies.ref()));
    assertEquals(b.area(), Requests.reply(replies, ClientProtocol.Freed.class).area());
    VmapInfo i = info(vmap);
    assertEquals(2, i.lazy().size(), i::render);
    assertTrue(i.busy().isEmpty(), i::render);
    assertEquals(2, await(c.purge()));
  }

  @Test
  void anAllocationAndAFreeThatReuseOneIdKeepTheirOwnFirstAnswers() {
    start();
    Allocation a = await(c.alloc(AllocOptions.size(4096).home(0).requestId("x")));
    assertEquals(a.area(), await(c.free(a.start(), "x")));
    // The free's answer must not replace the allocation's: a retry of "x" is still that area,
    // not a second one.
    assertEquals(a, await(c.alloc(AllocOptions.size(4096).home(0).requestId("x"))));
    assertEquals(a.area(), await(c.free(a.start(), "x")));
    assertTrue(busy().isEmpty(), "no second area: " + busy());
  }

  /**
   * README "Error codes" EEXIST: an id reused for a different request is refused, naming the id,
   * and changes nothing (Stripe and the Idempotency-Key draft answer it with 422).
   */
  @Test
  void anIdReusedForADifferentAllocationIsRefusedWithEexistNamingItAndChangesNothing() {
    start();
    Allocation first = await(c.alloc(AllocOptions.size(0x3000).home(0).tag("a").requestId("order-7")));
    List<AllocOptions> others = List.of(
        AllocOptions.size(0x4000).home(0).tag("a").requestId("order-7"),
        AllocOptions.size(0x3000).align(0x10000).home(0).tag("a").requestId("order-7"),
        AllocOptions.size(0x3000).home(0).tag("b").requestId("order-7"));
    for (AllocOptions o : others) {
      var e = VmapTestSupport.exception(c.alloc(o));
      assertEquals(ErrorCode.EEXIST, e.code(), o::toString);
      assertTrue(e.reason().contains("'order-7'"), e.reason());
    }
    // Another tenant's id space is its own: the same id there is a new request.
    Allocation theirs = await(vmap.client("acme").alloc(AllocOptions.size(0x4000).home(0).requestId("order-7")));
    assertEquals(List.of(first.area(), theirs.area()), busy());
    // The first request's retry still gets its first answer.
    assertEquals(first, await(c.alloc(AllocOptions.size(0x3000).home(0).tag("a").requestId("order-7"))));
  }

  @Test
  void anIdReusedForAFreeOfAnotherAddressIsRefusedWithEexistAndFreesNothing() {
    start();
    Allocation a = await(c.alloc(AllocOptions.size(0x1000).home(0)));
    Allocation b = await(c.alloc(AllocOptions.size(0x1000).home(0)));
    assertEquals(a.area(), await(c.free(a.start(), "f-1")));
    var e = VmapTestSupport.exception(c.free(b.start(), "f-1"));
    assertEquals(ErrorCode.EEXIST, e.code());
    assertTrue(e.reason().contains("'f-1'"), e.reason());
    assertEquals(List.of(b.area()), busy(), "b is not freed");
    assertEquals(a.area(), await(c.free(a.start(), "f-1")), "the first free's answer stands");
  }

  /** While the first request with an id is still being placed, the same id with other parameters is refused too. */
  @Test
  void anIdReusedWhileItsFirstRequestIsBeingPlacedIsRefused() {
    start();
    TestProbe<ClientProtocol.Replies> p = testKit.createTestProbe(ClientProtocol.Replies.class);
    // Node 0 full: a request homed on it walks to node 1 (answered later, alone).
    for (int z = 0; z < 8; z++) await(c.alloc(AllocOptions.size(ZONE).home(0)));
    AllocSpec walking = spec(0x1000, 0);
    AllocSpec other = spec(0x2000, 0);
    node(vmap, 0).tell(new ClientProtocol.Batch(0, List.of(
        new ClientProtocol.AllocRequest(Requests.allocKey("w-1", walking), walking),
        new ClientProtocol.AllocRequest(Requests.allocKey("w-1", other), other)), p.ref()));
    ClientProtocol.Replies now = p.expectMessageClass(ClientProtocol.Replies.class);
    ClientProtocol.Failed refused = (ClientProtocol.Failed) now.replies().get(0);
    assertEquals(ErrorCode.EEXIST, refused.code());
    assertEquals(Requests.allocKey("w-1", other), refused.key());
    ClientProtocol.Allocated placed = Requests.reply(p, ClientProtocol.Allocated.class);
    assertEquals(Requests.allocKey("w-1", walking), placed.key());
    assertEquals(1, placed.node(), "placed by the walk");
    assertEquals(9, busy().size(), "one area for the id, not two");
  }
}
