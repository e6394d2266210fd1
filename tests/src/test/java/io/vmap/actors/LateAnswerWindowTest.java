package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.settings;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.info;
import static io.vmap.actors.VmapTestSupport.node;
import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.TestProbe;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.node.NodeSettings;
import io.vmap.protocol.ClientProtocol;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.Policy;
import io.vmap.state.RequestKey;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An allocation that has to wait (here for a synchronous purge) is acknowledged with its batch and
 * answered alone later, so its session goes on sending to the node meanwhile. If that lone answer
 * is lost, {@code ClientSession} resends the request with its key after the timeout: the retry
 * must get the first answer, not a second area. It does while the window holds the later traffic
 * (this test: 300 later requests, a window of 512). Past the window it does not: the known gap in
 * README decision 2, whose fix needs the client to tell the node which answers it still waits for.
 */
class LateAnswerWindowTest extends AllocatorTestBase {

  static final long B = 0x100000;
  /** One node, 16 zones of 64 KiB. */
  static final Geometry G = geometry(B, 16, 1);

  @Test
  void aRetryOfAnAllocationAnsweredLateGetsItsFirstAnswerWhileTheWindowHoldsTheLaterTraffic() {
    NodeSettings d = NodeSettings.defaults();
    NodeSettings wide = new NodeSettings(512, d.dedupSessions(), d.dedupCapacity(), d.decisionCapacity(), d.lease(),
        d.spanWindowZones(), d.spanMaxAttempts(), d.askTimeout(), d.stashCapacity(), d.snapshotEvery(),
        d.maxBatchEvents());
    vmap = Vmap.embed(testKit.system(), settings(G, 1_000_000).withNode(wide));
    var c = vmap.client();
    // Full, with one zone lazily freed: the next allocation waits for a synchronous purge.
    List<Allocation> all = new ArrayList<>();
    for (int z = 0; z < 16; z++) all.add(await(c.alloc(AllocOptions.size(ZONE).home(0))));
    await(c.free(all.get(3).start()));

    long session = 0x1234_5678L;
    TestProbe<ClientProtocol.Replies> p = testKit.createTestProbe(ClientProtocol.Replies.class);
    AllocSpec spec = AllocSpec.of(G, 0x1000, G.page(), null, null, 0, "waited", Policy.NORMAL);
    ClientProtocol.AllocRequest waiting = new ClientProtocol.AllocRequest(new RequestKey(session, 0), spec);
    node(vmap, 0).tell(new ClientProtocol.Batch(0, List.of(waiting), p.ref()));
    assertEquals(List.of(), p.expectMessageClass(ClientProtocol.Replies.class).replies(), "acknowledged, not answered");
    ClientProtocol.Reply first = p.expectMessageClass(ClientProtocol.Replies.class).replies().get(0); // then "lost"

    // The session goes on with this node: 300 requests (frees of nothing, refused) in 3 batches.
    long seq = 1;
    for (int b = 1; b <= 3; b++) {
      List<ClientProtocol.Request> rs = new ArrayList<>();
      for (int i = 0; i < 100; i++) rs.add(new ClientProtocol.FreeRequest(new RequestKey(session, seq++), B + 0x1000));
      node(vmap, 0).tell(new ClientProtocol.Batch(b, rs, p.ref()));
      p.expectMessageClass(ClientProtocol.Replies.class);
    }
    // What the client's timeout check sends: the unanswered request again, with its key.
    node(vmap, 0).tell(new ClientProtocol.Batch(4, List.of(waiting), p.ref()));
    ClientProtocol.Replies r = p.expectMessageClass(ClientProtocol.Replies.class);
    if (r.replies().isEmpty()) r = p.expectMessageClass(ClientProtocol.Replies.class);
    assertEquals(first, r.replies().get(0), "the retry's answer");
    assertEquals(16, info(vmap).busy().size(), "no second area");
  }
}
