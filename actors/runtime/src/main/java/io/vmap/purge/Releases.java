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
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The release phase of one epoch: the flushed space goes back to its owners in batches of at most
 * {@code batchSize} pieces, one batch outstanding per node, so a node serves allocations between
 * batches (the 2016 purge_lock lesson). A batch is resent until answered; answers are matched by
 * batch id, so a late or repeated answer never counts for the batch outstanding now.
 *
 * <p>Batches are built when they are sent, never all at once: a node's next batch takes the next
 * areas of the lists it handed over (its own areas: their start piece releases every part of them
 * on that node) and the pieces other nodes' areas left queued for it (parts of spanning areas). So
 * starting the phase and answering a batch cost O(batch), whatever the number of areas purged.
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
  /** Per start owner: its handed-over areas not batched yet (a cursor over lists, no copy). */
  private final Map<Integer, Iterator<LazyArea>> own = new HashMap<>();
  /** Per node: pieces of spanning areas that start on another node, waiting for a batch. */
  private final Map<Integer, ArrayDeque<Piece>> foreign = new HashMap<>();
  private final Map<Integer, Outstanding> outstanding = new HashMap<>();
  private long nextBatch;
  private long ticks;

  /**
   * Sends each node that has anything to release its first batch.
   *
   * @param handed per start owner, the areas it handed over (lists are read, never changed)
   */
  Releases(long epoch, Map<Integer, List<List<LazyArea>>> handed, int batchSize, NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> replyTo, long firstBatchId, long ticks) {
    if (batchSize < 1) throw new IllegalArgumentException("release batch must be >= 1: " + batchSize);
    this.epoch = epoch;
    this.ticks = ticks;
    this.batchSize = batchSize;
    this.nodes = nodes;
    this.replyTo = replyTo;
    this.nextBatch = firstBatchId;
    handed.forEach((node, lists) -> own.put(node, lists.stream().flatMap(List::stream).iterator()));
    for (int k : new ArrayList<>(own.keySet())) {
      if (!outstanding.containsKey(k)) sendNext(k);
    }
  }

  /** Whether every batch was sent and answered. */
  boolean done() {
    return outstanding.isEmpty() && own.isEmpty() && foreign.isEmpty();
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

  /**
   * Sends {@code node} its next batch, if it has anything left; nodes handed pieces on the way that
   * have no batch outstanding get theirs too.
   */
  private void sendNext(int node) {
    // batchSize may be "unbounded" (Integer.MAX_VALUE: the whole release in one message).
    List<ReleasePiece> batch = new ArrayList<>(Math.min(batchSize, 1024));
    List<Area> areas = new ArrayList<>(Math.min(batchSize, 1024));
    List<Integer> woken = null;
    ArrayDeque<Piece> waiting = foreign.get(node);
    Iterator<LazyArea> mine = own.get(node);
    while (batch.size() < batchSize) {
      Piece p = waiting == null ? null : waiting.poll();
      if (p == null && mine != null && mine.hasNext()) {
        LazyArea la = mine.next();
        Area a = la.area();
        // The start piece gives back every part of the area on its start owner at once.
        p = new Piece(new ReleasePiece(a.start(), a.start(), pieceEnd(la)), a);
        for (Part part : la.parts()) {
          if (part.node() == node) continue;
          foreign.computeIfAbsent(part.node(), k -> new ArrayDeque<>())
              .add(new Piece(new ReleasePiece(a.start(), part.start(), part.end()), a));
          if (!outstanding.containsKey(part.node())) {
            if (woken == null) woken = new ArrayList<>();
            woken.add(part.node());
          }
        }
      }
      if (p == null) break;
      batch.add(p.piece());
      areas.add(p.area());
    }
    if (waiting != null && waiting.isEmpty()) foreign.remove(node);
    if (mine != null && !mine.hasNext()) own.remove(node);
    if (!batch.isEmpty()) {
      long id = nextBatch++;
      PurgeProtocol.ReleasePieces msg =
          new PurgeProtocol.ReleasePieces(epoch, List.copyOf(batch), replyTo, id, List.copyOf(areas));
      outstanding.put(node, new Outstanding(id, msg, ticks));
      nodes.node(node).tell(msg);
    }
    if (woken != null) {
      for (int k : woken) if (!outstanding.containsKey(k)) sendNext(k);
    }
  }

  /** The end of the part of {@code la} that starts at its start. */
  private static long pieceEnd(LazyArea la) {
    long start = la.area().start();
    for (Part p : la.parts()) if (p.start() == start) return p.end();
    return la.area().end();
  }
}
