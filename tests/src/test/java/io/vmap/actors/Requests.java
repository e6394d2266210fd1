package io.vmap.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.ClientProtocol.Reply;
import io.vmap.state.AllocSpec;
import io.vmap.state.RequestKey;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Client protocol messages for tests that talk to nodes directly, with a probe as the client. */
public final class Requests {

  private Requests() {}

  private static final long TEST_SESSION = 0x7e57_0000_0000_0000L;
  private static final AtomicLong SEQ = new AtomicLong();

  /** A batch of one request that needs no acknowledgement: its one answer comes in one Replies. */
  public static ClientProtocol.Batch one(ClientProtocol.Request r, ActorRef<Replies> to) {
    return new ClientProtocol.Batch(-1, List.of(r), to);
  }

  /** The key a client uses for caller-chosen id {@code id} of an allocation. */
  public static RequestKey allocKey(String id) {
    return RequestKey.keyed("alloc", id);
  }

  public static RequestKey freeKey(String id) {
    return RequestKey.keyed("free", id);
  }

  /** The key a {@code VmapClient} sends for caller-chosen id {@code id} of a free of {@code addr}. */
  public static RequestKey freeKey(String id, long addr) {
    return RequestKey.keyed("free", id, RequestKey.fingerprint(addr));
  }

  /** The key a {@code VmapClient} sends for caller-chosen id {@code id} of an allocation of {@code spec}. */
  public static RequestKey allocKey(String id, AllocSpec spec) {
    return RequestKey.keyed("alloc", id, RequestKey.fingerprint(spec));
  }

  public static ClientProtocol.AllocRequest alloc(String id, AllocSpec spec) {
    return new ClientProtocol.AllocRequest(allocKey(id), spec);
  }

  public static ClientProtocol.FreeRequest free(String id, long addr) {
    return new ClientProtocol.FreeRequest(freeKey(id), addr);
  }

  /** A lookup with a fresh key of a test session. */
  public static ClientProtocol.FindRequest find(long addr) {
    return new ClientProtocol.FindRequest(new RequestKey(TEST_SESSION, SEQ.incrementAndGet()), addr);
  }

  /** The answer in the next Replies the probe gets, which must hold exactly one. */
  public static Reply reply(TestProbe<Replies> p) {
    Replies r = p.expectMessageClass(Replies.class);
    assertEquals(1, r.replies().size(), r::toString);
    return r.replies().get(0);
  }

  public static <T extends Reply> T reply(TestProbe<Replies> p, Class<T> type) {
    return assertInstanceOf(type, reply(p));
  }
}
