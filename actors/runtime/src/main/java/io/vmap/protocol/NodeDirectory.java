package io.vmap.protocol;

import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import java.util.List;

/**
 * How the allocator's own actors reach vmap node {@code k}: local actor refs in one JVM, sharding
 * entity refs in a cluster. Both are {@link RecipientRef}s. Clients get the narrower {@link
 * #client(int)}.
 */
public interface NodeDirectory {

  RecipientRef<NodeMessage> node(int k);

  int size();

  /** Node {@code k} as a client may address it: client requests only. */
  @SuppressWarnings("unchecked")
  default RecipientRef<ClientProtocol.Command> client(int k) {
    // RecipientRef is contravariant (Scala's RecipientRef[-T]): a ref that accepts every node
    // message accepts client commands. Java cannot say so; the cast through a wildcard is safe.
    return (RecipientRef<ClientProtocol.Command>) (RecipientRef<?>) node(k);
  }

  /** Local actors, index = node id. */
  static NodeDirectory of(List<ActorRef<NodeMessage>> refs) {
    List<ActorRef<NodeMessage>> copy = List.copyOf(refs);
    return new NodeDirectory() {
      @Override
      public RecipientRef<NodeMessage> node(int k) {
        return copy.get(k);
      }

      @Override
      public int size() {
        return copy.size();
      }
    };
  }
}
