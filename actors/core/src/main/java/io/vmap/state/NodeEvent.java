package io.vmap.state;

import io.vmap.space.Area;
import java.util.List;

/**
 * One state transition of a vmap node. {@link NodeState}'s {@code apply} methods, one per event
 * type, are the only way a node's state changes, live or during recovery, so a durable node that
 * stores these and replays them ends up exactly where it was.
 */
public sealed interface NodeEvent {

  /** Applies this event to {@code state} through its typed handler (recovery, the journal's replica). */
  void replayOn(NodeState state);

  /**
   * The events of one journal write (group commit), stored as one journal event: a write of many
   * events costs one row and one serialization, not one per event.
   */
  record Batch(List<NodeEvent> events) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      for (NodeEvent e : events) e.replayOn(state);
    }
  }

  /**
   * The lowest fit was carved out of the shard and entered the busy tree.
   *
   * @param key the client request (home fit) or the neighbour attempt it answers
   */
  record AreaAllocated(Area area, AnswerKey key) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /**
   * As {@link AreaAllocated}, for an area of a tenant other than the default one: the owner is part
   * of the allocation's event, so it survives recovery and moves with the node. (An area of the
   * default tenant is still an {@link AreaAllocated}, the format it has always had.)
   */
  record AreaAllocatedFor(Area area, AnswerKey key, String tenant) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** The allocation event of {@code area} for {@code tenant}: the plain one for the default tenant. */
  static NodeEvent allocated(Area area, AnswerKey key, String tenant) {
    return tenant == null || tenant.equals(Principal.DEFAULT_TENANT)
        ? new AreaAllocated(area, key)
        : new AreaAllocatedFor(area, key, tenant);
  }

  /**
   * The area starting at {@code start} moved from the busy tree to the lazy list.
   *
   * @param key the client request, or the placement a home did not keep (the area was never given out)
   */
  record AreaFreed(long start, AnswerKey key) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** The lazy list was handed to purge {@code epoch} ({@code llist_del_all}). */
  record LazySpliced(long epoch) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** Flushed pieces went back into the free shard. */
  record PiecesReleased(long epoch, List<ReleasePiece> pieces) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** Parts of a spanning area were carved out under a lease. */
  record SpanReserved(Reservation reservation) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** The start owner's commit point: the reserved area became busy. */
  record SpanCommitted(ReservationId id) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** As {@link SpanCommitted}, for an area of a tenant other than the default one. */
  record SpanCommittedFor(ReservationId id, String tenant) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** A part owner learnt of the commit: its reserved parts became held parts. */
  record SpanPartCommitted(ReservationId id) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** A reservation's parts went back to the shard (aborted on the start owner). */
  record SpanCancelled(ReservationId id) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /** The start owner answered a part owner's question about an id it never saw: aborted. */
  record SpanResolved(ReservationId id) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /**
   * A request was answered with a failure and changed nothing else: stored so a retry gets the
   * same answer, also after a restart, and never a second, different effect.
   *
   * @param free whether it answers a free (an allocation and a free may share a placement key)
   */
  record Refused(AnswerKey key, boolean free, ErrorCode code, String reason) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /**
   * An allocation homed here was placed by another node (walk or spanning): remembered so a retry
   * of the request gets this area, not a second one, even after a restart.
   */
  record Placed(RequestKey request, Area area) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }

  /**
   * A client acknowledged every answer of {@code session} below {@code floor} (the lowest sequence
   * number it still waits for here): the node drops them ({@link ClientAnswers#acknowledge}).
   * Stored only when it dropped an answer, so the journal's replica and a recovered node keep what
   * the live node keeps.
   */
  record Acknowledged(long session, long floor) implements NodeEvent {
    @Override
    public void replayOn(NodeState state) {
      state.apply(this);
    }
  }
}
