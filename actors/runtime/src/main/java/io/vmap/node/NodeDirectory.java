package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import java.util.List;

/**
 * How a node, the purge coordinator or a client reaches vmap node {@code k}: local actor refs in
 * one JVM, sharding entity refs in a cluster. Both are {@link RecipientRef}s, so tell and ask work
 * the same way.
 */
public interface NodeDirectory {

  RecipientRef<VmapNode.Command> node(int k);

  int size();

  /** Local actors, index = node id. */
  static NodeDirectory of(List<ActorRef<VmapNode.Command>> refs) {
    List<ActorRef<VmapNode.Command>> copy = List.copyOf(refs);
    return new NodeDirectory() {
      @Override
      public RecipientRef<VmapNode.Command> node(int k) {
        return copy.get(k);
      }

      @Override
      public int size() {
        return copy.size();
      }
    };
  }
}
