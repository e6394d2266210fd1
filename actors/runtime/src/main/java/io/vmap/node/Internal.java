package io.vmap.node;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.state.AttemptId;
import io.vmap.state.NodeState;
import io.vmap.state.PlacementId;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;

/** The vmap node's own messages (timers, reply adapters, journal wiring): never leave its JVM. */
final class Internal {

  private Internal() {}

  /** A neighbour answered an {@link PeerProtocol.AllocHere} (through the node's adapter). */
  record AttemptAnswered(PeerProtocol.AttemptReply reply) implements NodeMessage.Local {}

  /** A neighbour did not answer an attempt within the ask timeout. */
  record AttemptTimedOut(AttemptId attempt) implements NodeMessage.Local {}

  /** The spanning allocator of {@code request} finished: an area, or null with a reason. */
  record SpanAnswer(RequestKey request, Area area, String reason) implements NodeMessage.Local {}

  /** The purge coordinator answered a synchronous purge (or did not in time: {@code done} null). */
  record PurgeAnswered(long tag, PurgeProtocol.PurgeDone done) implements NodeMessage.Local {}

  /** A start owner answered whether {@code addr} is inside one of its busy areas (a free's check). */
  record AddressCheckAnswered(PeerProtocol.AddressChecked reply) implements NodeMessage.Local {}

  /** No answer to a free's check of {@code addr} in time. */
  record AddressCheckTimedOut(long addr) implements NodeMessage.Local {}

  /** A spanning reservation's lease ran out. */
  record LeaseExpired(ReservationId id) implements NodeMessage.Local {}

  /** Time to ask a request's home whether it kept an area placed for it. */
  record VerifyPlacement(PlacementId placement) implements NodeMessage.Local {}

  /** Group commit: write what was applied since the last write. */
  enum FlushBatch implements NodeMessage.Local { INSTANCE }

  /** The journal stored batch {@code batchId}. */
  record BatchPersisted(long batchId) implements NodeMessage.Local {}

  /** The journal recovered this state; {@code stored} is its replica, the node's read index. */
  record JournalRecovered(NodeState state, NodeState stored) implements NodeMessage.Local {}

  /** The journal child stopped (a write failed). */
  enum JournalStopped implements NodeMessage.Local { INSTANCE }
}
