package io.vmap.chaos;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.protocol.PurgeProtocol.Flush;

/**
 * A flush subscriber that records every acknowledgement in a {@link History} (the epoch's ranges,
 * just before the ack is sent), for the checker's flush rule. It stands for any actor that caches
 * translations: it acks each flush it receives (again, when the coordinator resends one).
 */
public final class RecordingSubscriber {

  private RecordingSubscriber() {}

  /** @param name the subscriber's name in the history */
  public static Behavior<Flush> create(String name, History history) {
    return Behaviors.setup(
        ctx -> {
          ActorRef<Flush> self = ctx.getSelf();
          return Behaviors.receive(Flush.class)
              .onMessage(
                  Flush.class,
                  f -> {
                    history.flushAcked(name, f.epoch(), f.ranges());
                    f.ackTo().tell(f.ack(self));
                    return Behaviors.same();
                  })
              .build();
        });
  }
}
