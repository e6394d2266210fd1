package io.vmap.purge;

import akka.actor.typed.ActorRef;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.ReleasePiece;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The release phase of one epoch: the flushed space goes back to its owners in batches of at most
 * {@code batchSize} pieces, one batch outstanding per node, so a node serves allocations between
 * batches (the 2016 purge_lock lesson). A batch is resent until answered; answers are matched by
 * batch id, so a late or repeated answer never counts for the batch outstanding now.
 */
final class Releases {

  /** A piece to release and the area it belongs to (its identity, checked by the node). */
  private record Piece(ReleasePiece piece, Area area) {}

  /** The one batch per node that has no answer yet, and the resend tick it was sent at. */
  private record Outstanding(long batch, PurgeProtocol.ReleasePieces message, long sentAt) {}

  private final long epoch;
  private final int batchSize;
  private final NodeDirectory nodes;
  private final ActorRef<PurgeProtocol.Command> replyTo;
  private final Map<Integer, Deque<Piece>> queues = new HashMap<>();
  private final Map<Integer, Outstanding> outstanding = new HashMap<>();
  private long nextBatch;
  private long ticks;

  /** Queues every part of every area, by owner, and sends each owner its first batch. */
  Releases(long epoch, List<LazyArea> spliced, int batchSize, NodeDirectory nodes, ActorRef<PurgeProtocol.Command> replyTo,
      long firstBatchId, long ticks) {
    this.epoch = epoch;
    this.ticks = ticks;
    this.batchSize = batchSize;
    this.nodes = nodes;
    this.replyTo = replyTo;
    this.nextBatch = firstBatchId;
    for (LazyArea la : spliced) {
      for (Part p : la.parts()) {
        queues.computeIfAbsent(p.node(), k -> new ArrayDeque<>())
            .add(new Piece(new ReleasePiece(la.area().start(), p.start(), p.end()), la.area()));
      }
    }
    for (int k : new ArrayList<>(queues.keySet())) sendNext(k);
  }

  /** Whether every batch was sent and answered. */
  boolean done() {
    return outstanding.isEmpty() && queues.isEmpty();
  }

  /** The next batch id to use, for the epoch after this one. */
  long nextBatchId() {
    return nextBatch;
  }

  /**
   * Counts {@code m} if it answers the batch outstanding on its node, and sends that node's next.
   *
   * @return whether it counted
   */
  boolean answered(PurgeProtocol.Released m) {
    Outstanding o = outstanding.get(m.node());
    if (o == null || (m.batch() >= 0 && m.batch() != o.batch())) return false;
    outstanding.remove(m.node());
    sendNext(m.node());
    return true;
  }

  /** At resend tick {@code now}: sends again every batch unanswered since the tick before last. */
  void resendDue(long now) {
    ticks = now;
    for (Map.Entry<Integer, Outstanding> e : outstanding.entrySet()) {
      Outstanding o = e.getValue();
      if (now - o.sentAt() < 2) continue;
      e.setValue(new Outstanding(o.batch(), o.message(), now));
      nodes.node(e.getKey()).tell(o.message());
    }
  }

  private void sendNext(int node) {
    Deque<Piece> q = queues.get(node);
    if (q == null || q.isEmpty()) {
      queues.remove(node);
      return;
    }
    List<ReleasePiece> batch = new ArrayList<>(Math.min(batchSize, q.size()));
    List<Area> areas = new ArrayList<>(batch.size());
    while (!q.isEmpty() && batch.size() < batchSize) {
      Piece p = q.poll();
      batch.add(p.piece());
      areas.add(p.area());
    }
    long id = nextBatch++;
    PurgeProtocol.ReleasePieces msg =
        new PurgeProtocol.ReleasePieces(epoch, List.copyOf(batch), replyTo, id, List.copyOf(areas));
    outstanding.put(node, new Outstanding(id, msg, ticks));
    nodes.node(node).tell(msg);
  }
}
