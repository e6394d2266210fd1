package io.vmap.node;

import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.Limits;
import io.vmap.state.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * A client's batch as it arrives, possibly from another process that is not a {@code VmapClient}:
 * checked against {@code vmap.limits} before the node looks at it. A batch over the size limit is
 * answered at once, every request with EINVAL naming the limit; an alloc with a tag over the limit
 * fails alone. Neither refusal is stored as the request's answer: it says nothing about the
 * request, so the same request in a smaller batch or with a shorter tag is served.
 */
final class BatchLimits {

  private BatchLimits() {}

  /**
   * Whether the node should handle {@code b}; if not, the refusal is already sent (or, for a
   * batch without a list or a reply address, logged: there is no one to answer).
   *
   * @param log the actor's logger, asked for only to log (an actor's getLog() fills the logging
   *     MDC on every call: a HashMap put per batch otherwise)
   */
  static boolean admit(ClientProtocol.Batch b, Limits limits, Supplier<Logger> log) {
    if (b.requests() == null || b.replyTo() == null) {
      log.get().warn("dropped a batch without {}: not sent by a vmap client", b.requests() == null ? "requests" : "a reply address");
      return false;
    }
    String refused = limits.batchRefusal(b.requests().size());
    if (refused == null) {
      // A loop, not a stream: this runs for every batch a node handles.
      for (ClientProtocol.Request r : b.requests()) {
        if (r == null || r.key() == null) {
          log.get().warn("batch {} from {}: requests without a key are dropped", b.batch(), b.replyTo().path());
          break;
        }
      }
      return true;
    }
    List<ClientProtocol.Reply> out = new ArrayList<>(b.requests().size());
    for (ClientProtocol.Request r : b.requests()) {
      if (r != null && r.key() != null) out.add(new ClientProtocol.Failed(r.key(), ErrorCode.EINVAL, refused));
    }
    b.replyTo().tell(new ClientProtocol.Replies(b.batch(), out));
    return false;
  }

  /** Why request {@code r} of an admitted batch is refused before it is handled, or null. */
  static String refusal(ClientProtocol.Request r, Limits limits) {
    if (r instanceof ClientProtocol.AllocRequest a && a.spec() != null) return limits.tagRefusal(a.spec().tag());
    return null;
  }
}
