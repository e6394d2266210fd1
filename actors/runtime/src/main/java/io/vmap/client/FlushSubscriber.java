package io.vmap.client;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.vmap.protocol.PurgeProtocol.Flush;
import io.vmap.protocol.PurgeProtocol.FlushAck;

/**
 * Turns a {@link FlushListener} callback into a flush subscriber: each {@link Flush} is handed to
 * the listener and acked when the listener's stage completes normally. A listener that fails is
 * not acked: its epoch's space stays quarantined (safety over liveness) and the failure is logged.
 */
public final class FlushSubscriber extends AbstractBehavior<Flush> {

  /** Receives the ranges of every purge epoch; complete the stage once translations are dropped. */
  @FunctionalInterface
  public interface FlushListener {
    java.util.concurrent.CompletionStage<Void> onFlush(Flush flush);
  }

  public static Behavior<Flush> create(FlushListener listener) {
    return Behaviors.setup(ctx -> new FlushSubscriber(ctx, listener));
  }

  // The listener's stage completes on another thread, where the actor's own logger must not be used.
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FlushSubscriber.class);

  private final FlushListener listener;

  private FlushSubscriber(ActorContext<Flush> ctx, FlushListener listener) {
    super(ctx);
    this.listener = listener;
  }

  @Override
  public Receive<Flush> createReceive() {
    return newReceiveBuilder().onMessage(Flush.class, this::onFlush).build();
  }

  private Behavior<Flush> onFlush(Flush f) {
    ActorRef<Flush> self = getContext().getSelf();
    ActorRef<FlushAck> ackTo = f.ackTo();
    listener
        .onFlush(f)
        .whenComplete(
            (ok, failure) -> {
              if (failure == null) ackTo.tell(f.ack(self));
              else LOG.error("flush listener failed for epoch {}; its space stays quarantined", f.epoch(), failure);
            });
    return this;
  }
}
