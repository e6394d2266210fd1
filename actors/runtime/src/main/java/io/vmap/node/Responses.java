package io.vmap.node;

import akka.actor.typed.ActorRef;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Failed;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.ClientProtocol.Reply;
import io.vmap.protocol.LocalReplies;
import io.vmap.state.ErrorCode;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a node's answers to client requests go. The requests of one batch are answered together,
 * in one {@link Replies} sent when the events of the whole batch are stored; a request answered
 * later (after a walk, a spanning allocation, a purge, a check with another node) is answered
 * alone. Either way no answer leaves before the events applied before it are stored, and a journal
 * failure turns every held answer into ETIMEDOUT ("retry with the same request id"). A client in
 * this ActorSystem gets them on the node's thread ({@link LocalReplies}), others by a tell.
 */
final class Responses {

  static final String JOURNAL_FAILED = "journal write failed; nothing was stored: retry with the same request id";

  private final Durability durability;
  private final LocalReplies local;
  private ActorRef<Replies> batchTo;
  private long batch;
  private List<Reply> batchReplies;

  Responses(Durability durability, LocalReplies local) {
    this.durability = durability;
    this.local = local;
  }

  /** Starts collecting the answers of {@code b}. */
  void begin(ClientProtocol.Batch b) {
    batchTo = b.replyTo();
    batch = b.batch();
    batchReplies = new ArrayList<>(b.requests().size());
  }

  /** Answers a request of the batch being handled. */
  void now(Reply r) {
    batchReplies.add(r);
  }

  /**
   * Sends the batch's answers once stored; also when there are none, for a batch the client waits
   * to see acknowledged.
   */
  void end() {
    ActorRef<Replies> to = batchTo;
    Replies replies = new Replies(batch, batchReplies);
    batchTo = null;
    batchReplies = null;
    if (replies.batch() < 0 && replies.replies().isEmpty()) return;
    durability.afterStored(() -> local.send(to, replies), () -> local.send(to, failed(replies)));
  }

  /** Answers a request that waited, alone, once the events before it are stored. */
  void later(ActorRef<Replies> to, Reply r) {
    Replies replies = new Replies(-1, List.of(r));
    durability.afterStored(() -> local.send(to, replies), () -> local.send(to, failed(replies)));
  }

  private static Replies failed(Replies r) {
    List<Reply> out = new ArrayList<>(r.replies().size());
    for (Reply x : r.replies()) out.add(new Failed(x.key(), ErrorCode.ETIMEDOUT, JOURNAL_FAILED));
    return new Replies(r.batch(), out);
  }
}
