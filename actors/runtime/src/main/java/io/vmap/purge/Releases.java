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
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
 *
 * <p>At most {@code inFlight} batches are outstanding across all nodes at once
 * ({@code vmap.purge.batches-in-flight}; unbounded by default): nodes with something to release wait
 * in a round-robin queue for a free slot. Without a cap, with 16 nodes every node has a batch at once
 * and an allocation to any node may queue on the nodes' dispatcher threads behind up to 15 release
 * batches; with it, behind at most {@code inFlight}, for a longer purge (BENCHMARKS.md, purge latency).
 *
 * <p>The start piece of a spanning area is sent only once every part other nodes hold of it is
 * released. A start owner forgets an area when its own piece is released, and a successor
 * coordinator re-drives only what start owners still list as spliced and unreleased: had a start
 * owner released first and the coordinator died before another owner released its part, that part
 * would stay held for good (found by {@code vmap torture kill}, README "Torture tests"). In this
 * order an area stays listed until every other part of it is released.
 */
final class Releases {

  /** A piece to release and the area it belongs to (its identity, checked by the node). */
  private record Piece(ReleasePiece piece, Area area) {}

  /** The one batch per node that has no answer yet, and the resend tick it was sent at. */
  private record Outstanding(long batch, PurgeProtocol.ReleasePieces message, long sentAt) {}

  /** A spanning area's start piece, its start owner and how many of its other parts are unreleased. */
  private static final class Waiting {
    final int owner;
    final Piece start;
    int parts;

    Waiting(int owner, Piece start) {
      this.owner = owner;
      this.start = start;
    }
  }

  private final long epoch;
  private final int batchSize;
  private final NodeDirectory nodes;
  private final ActorRef<PurgeProtocol.Command> replyTo;
  /** Per start owner: its handed-over areas not batched yet (a cursor over lists, no copy). */
  private final Map<Integer, Iterator<LazyArea>> own = new HashMap<>();
  /** Per node: pieces of spanning areas that start on another node, waiting for a batch. */
  private final Map<Integer, ArrayDeque<Piece>> foreign = new HashMap<>();
  /**
   * Per spanning area (by start) whose other parts are not all released yet: those parts' count
   * left, and the start piece that waits for them.
   */
  private final Map<Long, Waiting> waitingForParts = new HashMap<>();
  private final Map<Integer, Outstanding> outstanding = new HashMap<>();
  /**
   * Nodes that may have something to release and no batch outstanding, in the order they get a
   * slot; a node that may still have more after a batch joins the end again when it answers.
   */
  private final ArrayDeque<Integer> ready = new ArrayDeque<>();
  private final Set<Integer> queued = new HashSet<>();
  private final int inFlight;
  private long nextBatch;
  private long ticks;

  /**
   * Sends the first {@code inFlight} nodes that have anything to release their first batch.
   *
   * @param handed per start owner, the areas it handed over (lists are read, never changed)
   * @param inFlight most batches outstanding at once, over all nodes
   */
  Releases(long epoch, Map<Integer, List<List<LazyArea>>> handed, int batchSize, int inFlight, NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> replyTo, long firstBatchId, long ticks) {
    if (batchSize < 1) throw new IllegalArgumentException("release batch must be >= 1: " + batchSize);
    if (inFlight < 1) throw new IllegalArgumentException("release batches in flight must be >= 1: " + inFlight);
    this.inFlight = inFlight;
    this.epoch = epoch;
    this.ticks = ticks;
    this.batchSize = batchSize;
    this.nodes = nodes;
    this.replyTo = replyTo;
    this.nextBatch = firstBatchId;
    handed.forEach((node, lists) -> own.put(node, new Concatenated(lists)));
    for (int k : new ArrayList<>(own.keySet())) wake(k);
    pump();
  }

  /** Whether every batch was sent and answered. */
  boolean done() {
    return outstanding.isEmpty() && own.isEmpty() && foreign.isEmpty() && waitingForParts.isEmpty();
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
    // Parts of spanning areas released: a start piece whose last other part this was may go now.
    for (ReleasePiece p : o.message().pieces()) {
      if (p.start() == p.areaStart()) continue;
      Waiting w = waitingForParts.get(p.areaStart());
      if (w == null || --w.parts > 0) continue;
      waitingForParts.remove(p.areaStart());
      foreign.computeIfAbsent(w.owner, k -> new ArrayDeque<>()).add(w.start);
      wake(w.owner);
    }
    wake(m.node());
    pump();
    return true;
  }

  /** Queues {@code node} for a slot, unless it has a batch outstanding or is queued already. */
  private void wake(int node) {
    if (!outstanding.containsKey(node) && queued.add(node)) ready.add(node);
  }

  /** Gives free slots to queued nodes, in queue order, until the slots or the queue run out. */
  private void pump() {
    while (outstanding.size() < inFlight && !ready.isEmpty()) {
      int node = ready.poll();
      queued.remove(node);
      sendNext(node);
    }
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
   * Sends {@code node} its next batch, if it has anything left; nodes handed pieces on the way are
   * queued for a slot.
   */
  private void sendNext(int node) {
    // batchSize may be "unbounded" (Integer.MAX_VALUE: the whole release in one message).
    List<ReleasePiece> batch = new ArrayList<>(Math.min(batchSize, 1024));
    List<Area> areas = new ArrayList<>(Math.min(batchSize, 1024));
    ArrayDeque<Piece> waiting = foreign.get(node);
    Iterator<LazyArea> mine = own.get(node);
    while (batch.size() < batchSize) {
      Piece p = waiting == null ? null : waiting.poll();
      if (p == null && mine != null && mine.hasNext()) {
        LazyArea la = mine.next();
        Area a = la.area();
        // The start piece gives back every part of the area on its start owner at once.
        ReleasePiece start = new ReleasePiece(a.start(), a.start(), pieceEnd(la));
        List<Part> parts = la.parts();
        if (parts.isEmpty() || (parts.size() == 1 && parts.get(0).node() == node)) {
          // Not spanning (the common case): straight into the batch, no Piece around it.
          batch.add(start);
          areas.add(a);
          continue;
        }
        p = new Piece(start, a);
        Waiting w = null;
        for (Part part : la.parts()) {
          if (part.node() == node) continue;
          foreign.computeIfAbsent(part.node(), k -> new ArrayDeque<>())
              .add(new Piece(new ReleasePiece(a.start(), part.start(), part.end()), a));
          if (w == null) w = new Waiting(node, p);
          w.parts++;
          wake(part.node());
        }
        if (w != null) {
          // Spanning: its start piece waits until the other parts are released.
          waitingForParts.put(a.start(), w);
          continue;
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
  }

  /**
   * The areas of several lists one after the other, without copying them: a stream's flatMap
   * iterator buffered each list through a SpinedBuffer, a quarter of a release batch's own time.
   */
  private static final class Concatenated implements Iterator<LazyArea> {
    private final Iterator<List<LazyArea>> lists;
    private Iterator<LazyArea> current = java.util.Collections.emptyIterator();

    Concatenated(List<List<LazyArea>> lists) {
      this.lists = lists.iterator();
    }

    @Override
    public boolean hasNext() {
      while (!current.hasNext()) {
        if (!lists.hasNext()) return false;
        current = lists.next().iterator();
      }
      return true;
    }

    @Override
    public LazyArea next() {
      if (!hasNext()) throw new java.util.NoSuchElementException();
      return current.next();
    }
  }

  /** The end of the part of {@code la} that starts at its start. */
  private static long pieceEnd(LazyArea la) {
    long start = la.area().start();
    for (Part p : la.parts()) if (p.start() == start) return p.end();
    return la.area().end();
  }
}
