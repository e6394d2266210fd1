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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.node.VmapNode;
import io.vmap.state.ErrorCode;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Routing of DESIGN.md "Geometry and routing" and "Allocation: exact placement": home first, then
 * home+1, home+2, ... in that order; frees and finds reach nodeOf(addr) from any node; info lists
 * every busy area in address order. Run at a low base, at the default vmalloc base (above 2^63)
 * and just below 2^64, so a signed comparison anywhere shows up.
 *
 * <p>Geometry: 4 nodes, 8 zones of 64 KiB from B. Node k owns [B + k*Z, B + (k+1)*Z) and
 * [B + (k+4)*Z, B + (k+5)*Z).
 */
class RoutingTest extends AllocatorTestBase {

  private VmapClient start(long base) {
    Geometry g = geometry(base, 8, 4);
    assertEquals(0, g.nodeOf(base), "bases are multiples of nodes * zone");
    vmap = embed(testKit, g, 1_000_000);
    return vmap.client();
  }

  private static Allocation alloc(VmapClient c, long size, int home) {
    return await(c.alloc(AllocOptions.size(size).home(home)));
  }

  private static void assertAt(Allocation a, long start, long size, int node) {
    assertEquals(start, a.start(), () -> "start of " + a);
    assertEquals(start + size, a.area().end(), () -> "end of " + a);
    assertEquals(node, a.node(), () -> "node of " + a);
  }

  @ParameterizedTest
  @ValueSource(longs = {0x100000L, 0xffffc90000000000L, 0xfffffffffff00000L})
  void allocationsHomedOnANodeLandInItsZonesWhileItHasRoom(long b) {
    VmapClient c = start(b);
    Geometry g = c.geometry();
    for (int round = 0; round < 4; round++) {
      for (int k = 0; k < 4; k++) {
        Allocation a = alloc(c, 0x4000, k);
        // Lowest fit inside node k's shard: its first zone fills up 16 KiB at a time.
        assertAt(a, b + k * ZONE + round * 0x4000L, 0x4000, k);
        assertEquals(k, g.nodeOf(a.start()));
      }
    }
    // First zones full: the next allocation homed on k goes to k's second zone, not to a neighbour.
    for (int k = 0; k < 4; k++) {
      assertAt(alloc(c, 0x1000, k), b + (k + 4) * ZONE, 0x1000, k);
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {0x100000L, 0xffffc90000000000L, 0xfffffffffff00000L})
  void fullHomeWalksToHomePlusOneThenPlusTwoThenPlusThree(long b) {
    VmapClient c = start(b);
    long h = 0x8000; // half a zone
    // Node 1 fills from its own zones.
    assertAt(alloc(c, h, 1), b + ZONE, h, 1);
    assertAt(alloc(c, h, 1), b + ZONE + h, h, 1);
    assertAt(alloc(c, h, 1), b + 5 * ZONE, h, 1);
    assertAt(alloc(c, h, 1), b + 5 * ZONE + h, h, 1);
    // Node 1 full: node 2 (home+1), although node 0 has a lower free address.
    assertAt(alloc(c, h, 1), b + 2 * ZONE, h, 2);
    assertAt(alloc(c, h, 1), b + 2 * ZONE + h, h, 2);
    assertAt(alloc(c, h, 1), b + 6 * ZONE, h, 2);
    assertAt(alloc(c, h, 1), b + 6 * ZONE + h, h, 2);
    // Node 2 full as well: node 3 (home+2).
    assertAt(alloc(c, h, 1), b + 3 * ZONE, h, 3);
    assertAt(alloc(c, h, 1), b + 3 * ZONE + h, h, 3);
    assertAt(alloc(c, h, 1), b + 7 * ZONE, h, 3);
    assertAt(alloc(c, h, 1), b + 7 * ZONE + h, h, 3);
    // Then node 0 (home+3, wrapping).
    assertAt(alloc(c, h, 1), b, h, 0);
    assertAt(alloc(c, h, 1), b + h, h, 0);
    assertAt(alloc(c, h, 1), b + 4 * ZONE, h, 0);
    assertAt(alloc(c, h, 1), b + 4 * ZONE + h, h, 0);
    // Everything is busy and nothing is lazy: no space at all.
    assertEquals(ErrorCode.ENOSPC, failure(c.alloc(AllocOptions.size(0x1000).home(1))));
  }

  @ParameterizedTest
  @ValueSource(longs = {0x100000L, 0xfffffffffff00000L})
  void walkFromTheLastNodeWrapsToNodeZeroFirst(long b) {
    VmapClient c = start(b);
    assertAt(alloc(c, ZONE, 3), b + 3 * ZONE, ZONE, 3);
    assertAt(alloc(c, ZONE, 3), b + 7 * ZONE, ZONE, 3);
    assertAt(alloc(c, ZONE, 3), b, ZONE, 0);
    assertAt(alloc(c, ZONE, 3), b + 4 * ZONE, ZONE, 0);
    assertAt(alloc(c, ZONE, 3), b + ZONE, ZONE, 1);
    // A request homed on node 2 still starts at node 2.
    assertAt(alloc(c, 0x1000, 2), b + 2 * ZONE, 0x1000, 2);
  }

  @ParameterizedTest
  @ValueSource(longs = {0x100000L, 0xffffc90000000000L, 0xfffffffffff00000L})
  void freeAndFindSentToAWrongNodeAreForwardedToTheOwner(long b) {
    VmapClient c = start(b);
    Allocation a1 = alloc(c, 0x3000, 1); // node 1
    Allocation a2 = alloc(c, 0x2000, 2); // node 2
    assertAt(a1, b + ZONE, 0x3000, 1);
    assertAt(a2, b + 2 * ZONE, 0x2000, 2);

    TestProbe<ClientProtocol.Replies> finds = testKit.createTestProbe(ClientProtocol.Replies.class);
    // Find of an address inside a2, sent to node 0 and to node 3.
    for (int wrong : new int[] {0, 3}) {
      node(vmap, wrong).tell(Requests.one(Requests.find(b + 2 * ZONE + 0x1fff), finds.ref()));
      ClientProtocol.Found r = Requests.reply(finds, ClientProtocol.Found.class);
      assertEquals(b + 2 * ZONE + 0x1fff, r.addr());
      assertEquals(a2.area(), r.area());
      assertEquals(2, r.node());
    }
    // Just past a2: nothing, whoever is asked.
    node(vmap, 1).tell(Requests.one(Requests.find(b + 2 * ZONE + 0x2000), finds.ref()));
    assertFalse(Requests.reply(finds, ClientProtocol.Found.class).found());

    // Free of a1 sent to node 3: forwarded to node 1, answered with a1.
    TestProbe<ClientProtocol.Replies> frees = testKit.createTestProbe(ClientProtocol.Replies.class);
    node(vmap, 3).tell(Requests.one(Requests.free("free-a1", a1.start()), frees.ref()));
    ClientProtocol.Freed freed = Requests.reply(frees, ClientProtocol.Freed.class);
    assertEquals(Requests.freeKey("free-a1"), freed.key());
    assertEquals(a1.area(), freed.area());
    // Gone for find (asked through node 2) and for a second free (sent to node 0).
    node(vmap, 2).tell(Requests.one(Requests.find(a1.start()), finds.ref()));
    ClientProtocol.Found gone = Requests.reply(finds, ClientProtocol.Found.class);
    assertNull(gone.area());
    node(vmap, 0).tell(Requests.one(Requests.free("free-a1-again", a1.start()), frees.ref()));
    assertEquals(ErrorCode.ENOENT, Requests.reply(frees, ClientProtocol.Failed.class).code());
    // An interior address of a2, freed through the wrong node: EINVAL from the owner.
    node(vmap, 1).tell(Requests.one(Requests.free("free-inside-a2", a2.start() + 0x1000), frees.ref()));
    assertEquals(ErrorCode.EINVAL, Requests.reply(frees, ClientProtocol.Failed.class).code());
    // a2 untouched by all of that.
    assertEquals(a2.area(), await(c.find(a2.start())).orElseThrow());
  }

  @ParameterizedTest
  @ValueSource(longs = {0x100000L, 0xffffc90000000000L, 0xfffffffffff00000L})
  void infoListsEveryBusyAreaInAddressOrderWithItsNode(long b) {
    VmapClient c = start(b);
    List<Allocation> made = new ArrayList<>();
    // Homes out of address order, sizes all different, plus walked ones.
    made.add(await(c.alloc(AllocOptions.size(0x2000).home(3).tag("t3"))));
    made.add(await(c.alloc(AllocOptions.size(0x1000).home(0).tag("t0"))));
    made.add(await(c.alloc(AllocOptions.size(0x5000).home(2).tag("t2"))));
    made.add(await(c.alloc(AllocOptions.size(2 * ZONE - 0x1000).home(1).tag("walked")))); // fits nowhere in one zone: spans
    made.add(await(c.alloc(AllocOptions.size(0x3000).home(0).tag("t0b"))));
    Allocation freed = await(c.alloc(AllocOptions.size(0x1000).home(1).tag("freed")));
    // The spanning one fills [B+4K, B+2Z) exactly; t0b and freed go to their homes' second zones.
    assertEquals(b + 0x1000, made.get(3).start());
    assertEquals(0, made.get(3).node());
    assertEquals(b + 4 * ZONE, made.get(4).start());
    assertEquals(b + 5 * ZONE, freed.start());
    await(c.free(freed.start()));

    VmapInfo info = info(vmap);
    List<Allocation> expected = new ArrayList<>(made);
    expected.sort((x, y) -> Long.compareUnsigned(x.start(), y.start()));
    assertEquals(expected.size(), info.busy().size(), info::render);
    for (int i = 0; i < expected.size(); i++) {
      VmapInfo.AreaInfo ai = info.busy().get(i);
      assertEquals(expected.get(i).area(), ai.area(), info::render);
      assertEquals(c.geometry().nodeOf(ai.area().start()), ai.node(), info::render);
      assertEquals(expected.get(i).node(), ai.node(), info::render);
    }
    // The freed one is listed as unpurged, not busy.
    assertEquals(List.of(new VmapInfo.AreaInfo(freed.area(), 1)), info.lazy());
    for (int i = 1; i < info.busy().size(); i++) {
      Area prev = info.busy().get(i - 1).area();
      Area cur = info.busy().get(i).area();
      assertTrue(Long.compareUnsigned(prev.end(), cur.start()) <= 0, info::render);
    }
    assertTrue(info.accountsForSpace(), info::render);
  }
}
