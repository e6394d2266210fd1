package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.embed;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.info;
import static io.vmap.actors.VmapTestSupport.node;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import io.vmap.client.AllocOptions;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.Limits;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.Policy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * vmap.limits at the embedded client and at a node (a batch from another process): each limit at
 * its reference.conf default is served, one more is EINVAL naming the limit and the value, and
 * nothing over a limit leaves a trace (no area, no stored answer).
 */
class LimitsTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 2);
  static final Limits L = Limits.defaults();

  private VmapClient start() {
    vmap = embed(testKit, G, 1_000_000);
    return vmap.client();
  }

  private static VmapException einval(java.util.concurrent.CompletionStage<?> s) {
    VmapException e = assertThrows(VmapException.class, () -> await(s));
    assertEquals(ErrorCode.EINVAL, e.code(), e.reason());
    return e;
  }

  @Test
  void theDefaultsAreReferenceConfs() {
    assertEquals(L, Limits.from(testKit.system().settings().config()));
    assertEquals(new Limits(256, 256, 10_000, 100_000), L);
  }

  @Test
  void tagsAndRequestIdsUpToTheLimitAreServedLongerOnesAreEinvalNamingTheLimit() {
    VmapClient c = start();
    String tag = "t".repeat(L.tagLength());
    assertEquals(tag, await(c.alloc(AllocOptions.size(4096).tag(tag))).area().tag());
    VmapException longTag = einval(c.alloc(AllocOptions.size(4096).tag(tag + "x")));
    assertEquals("tag: 257 characters, more than vmap.limits.tag-length = 256", longTag.reason());

    String id = "i".repeat(L.requestIdLength());
    long start = await(c.alloc(AllocOptions.size(4096).requestId(id))).start();
    VmapException longId = einval(c.alloc(AllocOptions.size(4096).requestId(id + "x")));
    assertEquals("request id: 257 characters, more than vmap.limits.request-id-length = 256", longId.reason());
    VmapException longFreeId = einval(c.free(start, id + "x"));
    assertTrue(longFreeId.reason().contains("vmap.limits.request-id-length = 256"), longFreeId.reason());
    assertEquals(start, await(c.free(start, id)).start());
    assertEquals(1, info(vmap).busy().size(), "only the allocation with the long tag is left");
  }

  @Test
  void allocAllAndFreeAllOverTheLimitFailWhole() {
    VmapClient c = start();
    List<AllocOptions> many = new ArrayList<>(Collections.nCopies(L.callRequests() + 1, AllocOptions.size(4096)));
    VmapException e = einval(c.allocAll(many));
    assertEquals("allocAll: 100001 requests, more than vmap.limits.call-requests = 100000", e.reason());
    VmapException f = einval(c.freeAll(Collections.nCopies(L.callRequests() + 1, B)));
    assertTrue(f.reason().startsWith("freeAll: 100001 requests"), f.reason());
    assertTrue(info(vmap).busy().isEmpty(), "nothing of the refused call was allocated");
    // At the limit the call goes through (small here: each one its own result).
    assertEquals(3, await(c.allocAll(List.of(AllocOptions.size(4096), AllocOptions.size(4096), AllocOptions.size(0)))).size());
  }

  @Test
  void aNodeAnswersABatchOverTheLimitWithEinvalForEachRequestAndStoresNothing() {
    start();
    TestProbe<ClientProtocol.Replies> r = testKit.createTestProbe(ClientProtocol.Replies.class);
    List<ClientProtocol.Request> requests = new ArrayList<>();
    for (int i = 0; i <= L.batchRequests(); i++) {
      requests.add(Requests.alloc("big-" + i, AllocSpec.of(G, 4096, G.page(), null, null, 0, "", Policy.FAIL_FAST)));
    }
    node(vmap, 0).tell(new ClientProtocol.Batch(7, requests, r.ref()));
    ClientProtocol.Replies replies = r.expectMessageClass(ClientProtocol.Replies.class);
    assertEquals(7, replies.batch());
    assertEquals(requests.size(), replies.replies().size());
    for (ClientProtocol.Reply x : replies.replies()) {
      ClientProtocol.Failed f = assertInstanceOf(ClientProtocol.Failed.class, x);
      assertEquals(ErrorCode.EINVAL, f.code());
      assertEquals("batch: 10001 requests, more than vmap.limits.batch-requests = 10000", f.reason());
    }
    assertTrue(info(vmap).busy().isEmpty());
    // The same request in a batch within the limit is served: the refusal was not its answer.
    node(vmap, 0).tell(Requests.one(requests.get(0), r.ref()));
    Requests.reply(r, ClientProtocol.Allocated.class);
  }

  @Test
  void aNodeRefusesATagOverTheLimitFromAnotherProcessAndServesTheRestOfTheBatch() {
    start();
    TestProbe<ClientProtocol.Replies> r = testKit.createTestProbe(ClientProtocol.Replies.class);
    // AllocSpec.of does not know the limit: a process other than VmapClient can send such a tag.
    AllocSpec longTag = AllocSpec.of(G, 4096, G.page(), null, null, 0, "x".repeat(100_000), Policy.FAIL_FAST);
    AllocSpec fine = AllocSpec.of(G, 4096, G.page(), null, null, 0, "ok", Policy.FAIL_FAST);
    node(vmap, 0).tell(new ClientProtocol.Batch(-1,
        List.of(Requests.alloc("long-tag", longTag), Requests.alloc("fine", fine)), r.ref()));
    ClientProtocol.Replies replies = r.expectMessageClass(ClientProtocol.Replies.class);
    ClientProtocol.Failed f = assertInstanceOf(ClientProtocol.Failed.class, replies.replies().get(0));
    assertEquals("tag: 100000 characters, more than vmap.limits.tag-length = 256", f.reason());
    assertInstanceOf(ClientProtocol.Allocated.class, replies.replies().get(1));
    assertEquals(1, info(vmap).busy().size());
    assertTrue(info(vmap).busy().get(0).area().end() <= B + 16 * ZONE);
  }

  @Test
  void aBatchWithoutRequestsOrKeysIsDroppedAndTheNodeKeepsServing() {
    start();
    TestProbe<ClientProtocol.Replies> r = testKit.createTestProbe(ClientProtocol.Replies.class);
    List<ClientProtocol.Request> withNulls = new ArrayList<>();
    withNulls.add(null);
    withNulls.add(new ClientProtocol.FindRequest(null, B));
    withNulls.add(Requests.find(B));
    node(vmap, 0).tell(new ClientProtocol.Batch(3, null, r.ref()));
    node(vmap, 0).tell(new ClientProtocol.Batch(4, withNulls, r.ref()));
    ClientProtocol.Replies replies = r.expectMessageClass(ClientProtocol.Replies.class);
    assertEquals(4, replies.batch(), "the batch without a list got no answer; the other one did");
    assertEquals(1, replies.replies().size(), "only the request with a key is answered");
    assertInstanceOf(ClientProtocol.Found.class, replies.replies().get(0));
  }
}
