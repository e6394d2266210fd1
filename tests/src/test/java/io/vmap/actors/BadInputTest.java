package io.vmap.actors;

import io.vmap.protocol.PeerProtocol;
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
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.node.VmapNode;
import io.vmap.state.AllocSpec;
import io.vmap.state.AttemptId;
import io.vmap.state.ErrorCode;
import io.vmap.state.Part;
import io.vmap.state.Policy;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every bad input gets its error code (DESIGN.md "Allocation: exact placement" and "Free"), and a
 * node that receives a malformed message answers it and keeps serving. Geometry: 2 nodes, 16 zones
 * of 64 KiB from B = 0x100000.
 */
class BadInputTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 2);

  private VmapClient c;

  private void start() {
    vmap = embed(testKit, G, 1_000_000);
    c = vmap.client();
  }

  private ErrorCode allocFails(AllocOptions o) {
    return failure(c.alloc(o));
  }

  /** The node still serves: an allocation homed on it and a find. */
  private void stillServing(int k) {
    TestProbe<ClientProtocol.Replies> r = testKit.createTestProbe(ClientProtocol.Replies.class);
    node(vmap, k).tell(Requests.one(Requests.alloc("alive-" + k + "-" + System.nanoTime(), AllocSpec.of(G, 0x1000, G.page(), null, null, k, "", Policy.FAIL_FAST)), r.ref()));
    ClientProtocol.Allocated a = Requests.reply(r, ClientProtocol.Allocated.class);
    assertEquals(k, a.node());
    assertEquals(Optional.of(a.area()), await(c.find(a.area().start())));
  }

  @Test
  void badAllocationRequestsAreEinval() {
    start();
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).align(0)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).align(3)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).align(0x3000)));
    // a home set to a node that does not exist is refused, never read as "unset"
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).home(-1)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).home(G.nodes())));
    // vstart >= vend
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).range(B + ZONE, B + ZONE)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).range(B + 2 * ZONE, B + ZONE)));
    // outside the space, below, above, and both
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).range(0, B + ZONE)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).range(B, G.vend() + 0x1000)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).range(0x1000, -0x1000L)));
    // an unsigned range above 2^63 is not "vstart >= vend" but it is outside the space
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).range(B, 0x8000000000000000L)));
    // home node out of range
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).home(2)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).home(Integer.MAX_VALUE)));
    assertTrue(info(vmap).busy().isEmpty());
  }

  @Test
  void aNegativeHomeOtherThanUnsetIsEinval() {
    start();
    // AllocOptions.home(int) documents no sentinel: -2 is a node id out of range.
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).home(-2)));
  }

  @Test
  void hugeSizesAndAlignmentsFailCleanlyAndTheNodesKeepServing() {
    start();
    // Rounding to pages overflows past 2^64: EINVAL.
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(-1L)));
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(-0xfffL)));
    // Representable but far larger than the space: ENOSPC (or EINVAL), never a crash or a hang.
    for (long size : new long[] {-0x1000L, 0x8000000000000000L, 0x7ffffffffffff000L, G.spaceBytes() + 0x1000}) {
      for (int home = 0; home < 2; home++) {
        ErrorCode code = allocFails(AllocOptions.size(size).home(home));
        assertTrue(code == ErrorCode.ENOSPC || code == ErrorCode.EINVAL, () -> "size " + Long.toHexString(size) + ": " + code);
      }
    }
    // Alignment 2^63: no aligned address inside the space, in any state: EINVAL, not ENOSPC.
    assertEquals(ErrorCode.EINVAL, allocFails(AllocOptions.size(0x1000).align(0x8000000000000000L)));
    // An alignment larger than the space but below its base's alignment: only the base fits.
    assertEquals(B, await(c.alloc(AllocOptions.size(0x1000).align(0x100000).home(1))).start());
    stillServing(0);
    stillServing(1);
    VmapInfo i = info(vmap);
    assertEquals(0, i.reservedBytes(), i::render);
    assertTrue(i.accountsForSpace(), i::render);
  }

  @Test
  void badFreesGetTheirCodes() {
    start();
    Allocation a = await(c.alloc(AllocOptions.size(0x3000).home(0)));
    assertEquals(ErrorCode.ENOENT, failure(c.free(B + 5 * ZONE)));      // never allocated
    assertEquals(ErrorCode.ENOENT, failure(c.free(0)));                 // outside the space
    assertEquals(ErrorCode.ENOENT, failure(c.free(-1L)));               // 2^64 - 1
    assertEquals(ErrorCode.EINVAL, failure(c.free(a.start() + 0x1000))); // interior
    assertEquals(ErrorCode.EINVAL, failure(c.free(a.start() + 1)));      // interior, unaligned
    assertEquals(ErrorCode.ENOENT, failure(c.free(a.area().end())));     // just past it
    assertEquals(a.area(), await(c.free(a.start())));
    assertEquals(ErrorCode.ENOENT, failure(c.free(a.start())));          // twice
    assertEquals(ErrorCode.ENOENT, failure(c.free(a.start() + 0x1000))); // interior of a freed area
    assertEquals(Optional.empty(), await(c.find(-1L)));
    assertEquals(Optional.empty(), await(c.find(0)));
  }

  @Test
  void failFastWithAFullHomeIsEagainAndAFullSpaceIsEnospc() {
    start();
    for (int z = 0; z < 16; z += 2) {
      await(c.alloc(AllocOptions.size(ZONE).home(0).range(B + z * ZONE, B + (z + 1) * ZONE)));
    }
    assertEquals(ErrorCode.EAGAIN, allocFails(AllocOptions.size(0x1000).home(0).failFast()));
    // Not fail-fast: node 1 has room.
    assertEquals(1, await(c.alloc(AllocOptions.size(0x1000).home(0))).node());
    for (int z = 1; z < 16; z += 2) {
      long lo = B + z * ZONE + (z == 1 ? 0x1000 : 0);
      await(c.alloc(AllocOptions.size(B + (z + 1) * ZONE - lo).home(1).range(lo, B + (z + 1) * ZONE)));
    }
    assertEquals(G.spaceBytes(), info(vmap).busyBytes());
    assertEquals(ErrorCode.ENOSPC, allocFails(AllocOptions.size(0x1000).home(0)));
    assertEquals(ErrorCode.ENOSPC, allocFails(AllocOptions.size(0x1000).home(1)));
    assertEquals(ErrorCode.ENOSPC, allocFails(AllocOptions.size(2 * ZONE).home(1)));
    assertEquals(ErrorCode.EAGAIN, allocFails(AllocOptions.size(0x1000).home(1).failFast()));
    // Free space exists but not in the requested range: ENOSPC too.
    VmapInfo i = info(vmap);
    await(c.free(i.busy().get(3).area().start()));
    assertEquals(1, await(c.purge()));
    assertEquals(ErrorCode.ENOSPC, allocFails(AllocOptions.size(0x1000).home(0).range(B, B + ZONE)));
  }

  @Test
  void aMalformedAllocSentStraightToANodeIsEinvalAndTheNodeKeepsServing() {
    start();
    TestProbe<ClientProtocol.Replies> r = testKit.createTestProbe(ClientProtocol.Replies.class);
    AllocSpec[] bad = {
      new AllocSpec(0, G.page(), B, G.vend(), 0, "", Policy.NORMAL),            // size 0
      new AllocSpec(0x1000, 0, B, G.vend(), 0, "", Policy.NORMAL),              // align 0
      new AllocSpec(0x1000, 3 * G.page(), B, G.vend(), 0, "", Policy.NORMAL),   // align not a power of two
      new AllocSpec(0x1000, G.page(), G.vend(), B, 0, "", Policy.NORMAL),       // lo >= hi
      new AllocSpec(0x1000, G.page(), 0, G.vend(), 0, "", Policy.NORMAL),       // outside the space
      new AllocSpec(0x1000, G.page(), B, G.vend(), 7, "", Policy.NORMAL),       // home out of range
      new AllocSpec(0x1000, G.page(), B, G.vend(), 0, "", null),                // no policy
      new AllocSpec(-1L, G.page(), B, G.vend(), 0, "", Policy.NORMAL),          // overflows when rounded
    };
    int i = 0;
    for (AllocSpec s : bad) {
      node(vmap, 0).tell(Requests.one(Requests.alloc("bad-" + i++, s), r.ref()));
      ClientProtocol.Failed f = Requests.reply(r, ClientProtocol.Failed.class);
      assertEquals(ErrorCode.EINVAL, f.code(), () -> s + ": " + f);
      assertNotNull(f.reason());
    }
    node(vmap, 1).tell(Requests.one(Requests.alloc("bad-null", null), r.ref()));
    assertEquals(ErrorCode.EINVAL, Requests.reply(r, ClientProtocol.Failed.class).code());
    stillServing(0);
    stillServing(1);
  }

  @Test
  void aMalformedAllocHereIsRefusedAndTheNodeKeepsServing() {
    start();
    // The walk's message carries an AllocSpec too; a peer in another process may send anything.
    TestProbe<PeerProtocol.AttemptReply> r = testKit.createTestProbe(PeerProtocol.AttemptReply.class);
    node(vmap, 1).tell(new PeerProtocol.AllocHere(new AttemptId(Requests.allocKey("bad-here"), 0, 0, 1),
        new AllocSpec(0, G.page(), B, G.vend(), 0, "", Policy.NORMAL), r.ref()));
    PeerProtocol.AttemptFailed f = r.expectMessageClass(PeerProtocol.AttemptFailed.class);
    assertEquals(ErrorCode.EINVAL, f.code(), f::toString);
    node(vmap, 1).tell(new PeerProtocol.AllocHere(new AttemptId(Requests.allocKey("bad-here2"), 0, 0, 1),
        new AllocSpec(0x1000, 3 * G.page(), B, G.vend(), 0, "", Policy.NORMAL), r.ref()));
    assertEquals(ErrorCode.EINVAL, r.expectMessageClass(PeerProtocol.AttemptFailed.class).code());
    stillServing(1);
  }

  /** Parts no correct coordinator sends: empty, inverted, and two overlapping parts each free on its own. */
  static List<List<Part>> malformedParts() {
    return List.of(
        List.of(new Part(0, B + 0x8000, B + 0x8000)),
        List.of(new Part(0, B + 0x9000, B + 0x8000)),
        List.of(new Part(0, B + 0x8000, B + ZONE), new Part(0, B + 0xc000, B + ZONE)));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2})
  void aMalformedReserveIsRefusedAndTheNodeKeepsServing(int which) {
    start();
    TestProbe<PeerProtocol.ReserveReply> r = testKit.createTestProbe(PeerProtocol.ReserveReply.class);
    Area area = new Area(B + 0x8000, B + ZONE + 0x8000, "");
    List<Part> parts = malformedParts().get(which);
    node(vmap, 0).tell(new PeerProtocol.Reserve(VmapTestSupport.reservation("bad-res-" + which, area), 0, parts, parts, 5_000, r.ref()));
    PeerProtocol.ReserveReply rr = r.expectMessageClass(PeerProtocol.ReserveReply.class);
    assertFalse(rr.ok(), () -> parts + " accepted");
    assertNotNull(rr.reason());
    VmapInfo info = info(vmap);
    assertEquals(0, info.nodes().get(0).reservations(), info::render);
    assertEquals(G.spaceBytes(), info.freeBytes(), info::render);
    stillServing(0);
  }

  @Test
  void boundaryInputsThatAreNotErrors() {
    start();
    // Size rounds up to a page; align below a page counts as a page.
    Allocation a = await(c.alloc(AllocOptions.size(1).align(1).home(0)));
    assertEquals(new Area(B, B + 0x1000, ""), a.area());
    Allocation b = await(c.alloc(AllocOptions.size(0x1001).align(2048).home(0)));
    assertEquals(new Area(B + 0x1000, B + 0x3000, ""), b.area());
    // The whole space as the range, and a range of exactly one page.
    assertEquals(B + 0x3000, await(c.alloc(AllocOptions.size(0x1000).home(0).range(G.vstart(), G.vend()))).start());
    assertEquals(G.vend() - 0x1000,
        await(c.alloc(AllocOptions.size(0x1000).home(1).range(G.vend() - 0x1000, G.vend()))).start());
    // A range given in the middle of a page still yields a page-aligned area inside it.
    Allocation m = await(c.alloc(AllocOptions.size(0x1000).home(1).range(B + ZONE + 0x10, B + ZONE + 0x3000)));
    assertEquals(B + ZONE + 0x1000, m.start());
  }
}
