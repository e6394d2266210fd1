package io.vmap.chaos;

import akka.actor.typed.Behavior;
import akka.actor.typed.BehaviorInterceptor;
import akka.actor.typed.PostStop;
import akka.actor.typed.Signal;
import akka.actor.typed.TypedActorContext;
import akka.actor.typed.javadsl.Behaviors;

/**
 * Records when an actor incarnation of vmap node {@code k} starts and stops ({@link
 * History.Incarnation}), for the checker's rule that a node id has one owner at a time. Messages
 * and signals pass through unchanged.
 */
public final class Incarnations {

  private Incarnations() {}

  public static <T> Behavior<T> recorded(History history, int node, Behavior<T> behavior) {
    return Behaviors.<Object, T>intercept(() -> new Recorder<T>(history, node), behavior).narrow();
  }

  /** The name an incarnation is recorded under: its path and uid. */
  static String name(akka.actor.typed.ActorRef<?> ref) {
    return ref.path().toStringWithoutAddress() + "#" + ref.path().uid();
  }

  private static final class Recorder<T> extends BehaviorInterceptor<Object, T> {
    private final History history;
    private final int node;

    Recorder(History history, int node) {
      super(Object.class);
      this.history = history;
      this.node = node;
    }

    @Override
    public Behavior<T> aroundStart(TypedActorContext<Object> ctx, PreStartTarget<T> target) {
      history.incarnationStarted(node, name(ctx.asJava().getSelf()));
      return target.start(ctx);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Behavior<T> aroundReceive(TypedActorContext<Object> ctx, Object msg, ReceiveTarget<T> target) {
      return target.apply(ctx, (T) msg);
    }

    @Override
    public Behavior<T> aroundSignal(TypedActorContext<Object> ctx, Signal signal, SignalTarget<T> target) {
      if (signal instanceof PostStop) history.incarnationStopped(node, name(ctx.asJava().getSelf()));
      return target.apply(ctx, signal);
    }
  }
}
