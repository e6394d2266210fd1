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
 *
 * <p>The pieces other nodes hold of spanning areas go first; the start owners' pieces only once all
 * of those are answered. A start owner forgets an area when its own piece is released, and a
 * successor coordinator re-drives only what start owners still list as spliced and unreleased: had
 * a start owner released first and the coordinator died before another owner released its part,
 * that part would stay held for good (found by {@code vmap torture kill}, README "Torture tests").
 * In this order, an area is listed until every other part of it is released.
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
  /** The start owners' pieces, queued once every piece of the first wave is answered. */
  private final Map<Integer, Deque<Piece>> startPieces = new HashMap<>();
  private final Map<Integer, Outstanding> outstanding = new HashMap<>();
  private long nextBatch;
  private long ticks;

  /**
   * Queues every part of every area, by owner (the parts other nodes hold first, the start owners'
   * after), and sends each owner of the first wave its first batch.
   */
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
        Map<Integer, Deque<Piece>> wave = p.node() == la.node() ? startPieces : queues;
        wave.computeIfAbsent(p.node(), k -> new ArrayDeque<>())
            .add(new Piece(new ReleasePiece(la.area().start(), p.start(), p.end()), la.area()));
      }
    }
    if (queues.isEmpty()) startOwnersWave();
    else for (int k : new ArrayList<>(queues.keySet())) sendNext(k);
  }

  /** Every part others hold is released: now the start owners' pieces. */
  private void startOwnersWave() {
    queues.putAll(startPieces);
    startPieces.clear();
    for (int k : new ArrayList<>(queues.keySet())) sendNext(k);
  }

  /** Whether every batch was sent and answered. */
  boolean done() {
    return outstanding.isEmpty() && queues.isEmpty() && startPieces.isEmpty();
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
    if (outstanding.isEmpty() && queues.isEmpty() && !startPieces.isEmpty()) startOwnersWave();
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
