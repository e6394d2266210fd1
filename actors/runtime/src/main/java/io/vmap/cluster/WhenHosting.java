package io.vmap.cluster;

import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import java.util.concurrent.CompletionStage;

/**
 * Holds an actor's messages until this member hosts its share of the vmap nodes, then becomes the
 * actor. For the purge coordinator singleton: it talks to the nodes through sharding from its first
 * moment, and sharding is started on a member only once its journal is known to be the cluster's.
 * (Started before sharding, it failed with "Shard type [vmap-node] must be started first" when
 * several members started at once.) If the member never hosts (it is refused), the messages wait
 * until the member leaves and the singleton moves.
 */
final class WhenHosting {

  private WhenHosting() {}

  private enum Hosting implements akka.actor.NoSerializationVerificationNeeded { YES, NEVER }

  static <T> Behavior<T> create(CompletionStage<?> hosting, Behavior<T> then, int capacity) {
    Behavior<Object> waiting = Behaviors.withStash(capacity, stash -> Behaviors.setup(ctx -> {
      ctx.pipeToSelf(hosting, (ok, failure) -> failure == null ? Hosting.YES : Hosting.NEVER);
      return Behaviors.receive(Object.class)
          .onMessageEquals(Hosting.YES, () -> stash.unstashAll(then.unsafeCast()))
          .onMessageEquals(Hosting.NEVER, Behaviors::same)
          .onAnyMessage(m -> {
            if (stash.isFull()) ctx.getLog().warn("dropped {}: this member does not host vmap nodes yet", m);
            else stash.stash(m);
            return Behaviors.same();
          })
          .build();
    }));
    return waiting.narrow();
  }
}
