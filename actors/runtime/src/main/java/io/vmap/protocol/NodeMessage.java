package io.vmap.protocol;

import akka.actor.NoSerializationVerificationNeeded;
import akka.actor.typed.ActorRef;
import io.vmap.protocol.WireMessage;

/**
 * Everything a vmap node accepts, by audience: {@link ClientProtocol} (clients), {@link
 * PeerProtocol} (other nodes and the spanning allocator), {@link PurgeProtocol.ToNode} (the purge
 * coordinator), the node's lifecycle, and messages local to the node's own JVM.
 *
 * <p>Only the owner of an allocator (its {@link NodeDirectory}) holds refs of this type; clients
 * hold {@code ClientProtocol.Command} refs, so they cannot send a peer's or the coordinator's
 * messages.
 */
public sealed interface NodeMessage extends WireMessage
    permits ClientProtocol.Command, PeerProtocol.Command, PurgeProtocol.ToNode, QuotaProtocol.Command, NodeMessage.Wake,
        NodeMessage.Attach, NodeMessage.Local {

  /**
   * Does nothing: sent by every member at start so that each of the fixed set of sharded nodes is
   * started (and, if durable, recovered) before the first request needs it.
   */
  record Wake() implements NodeMessage {}

  /** First message of a node created without its peers (one JVM, where peers exist only after spawning). */
  record Attach(NodeDirectory peers, ActorRef<PurgeProtocol.Command> coordinator)
      implements NodeMessage, NoSerializationVerificationNeeded {}

  /** Messages that never leave the node's JVM: timers, adapters, journal wiring, supervision. */
  non-sealed interface Local extends NodeMessage, NoSerializationVerificationNeeded {}
}
