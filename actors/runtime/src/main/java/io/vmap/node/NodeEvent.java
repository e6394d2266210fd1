package io.vmap.node;

import io.vmap.protocol.Part;
import io.vmap.protocol.ReleasePiece;
import io.vmap.space.Area;
import io.vmap.wire.WireMessage;
import java.util.List;

/**
 * One state transition of a vmap node. {@link NodeState#apply} is the only way a node's state
 * changes, live or during recovery, so a durable node that stores these and replays them ends up
 * exactly where it was.
 */
public sealed interface NodeEvent extends WireMessage {

  /** The lowest fit was carved out of the shard and entered the busy tree. */
  record AreaAllocated(Area area, String requestId) implements NodeEvent {}

  /** The area starting at {@code start} moved from the busy tree to the lazy list. */
  record AreaFreed(long start, String requestId) implements NodeEvent {}

  /** The lazy list was handed to purge {@code epoch} ({@code llist_del_all}). */
  record LazySpliced(long epoch) implements NodeEvent {}

  /** Flushed pieces went back into the free shard. */
  record PiecesReleased(long epoch, List<ReleasePiece> pieces) implements NodeEvent {}

  /** Parts of a spanning area were carved out under a lease. */
  record SpanReserved(String id, Area area, int startOwner, List<Part> myParts, List<Part> allParts)
      implements NodeEvent {}

  /** The start owner's commit point: the reserved area became busy. */
  record SpanCommitted(String id) implements NodeEvent {}

  /** A part owner learnt of the commit: its reserved parts became held parts. */
  record SpanPartCommitted(String id) implements NodeEvent {}

  /** A reservation's parts went back to the shard (aborted on the start owner). */
  record SpanCancelled(String id) implements NodeEvent {}

  /** The start owner answered a part owner's question about an id it never saw: aborted. */
  record SpanResolved(String id) implements NodeEvent {}

  /**
   * An allocation homed here was placed by another node (walk or spanning): remembered so a retry
   * of the request gets this area, not a second one, even after a restart.
   */
  record Placed(String requestId, Area area) implements NodeEvent {}
}
