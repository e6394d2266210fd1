package io.vmap.chaos;

import akka.actor.NoSerializationVerificationNeeded;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.BehaviorInterceptor;
import akka.actor.typed.TypedActorContext;
import akka.actor.typed.javadsl.Behaviors;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * The chaos interceptor of one actor: for every message its {@link ChaosSettings} target, it
 * decides with the actor's own random stream whether to drop, duplicate, delay or reorder it.
 * Create it through {@link Chaos#intercept}, which installs it with a {@code Behaviors.intercept}
 * factory so that every actor (and every incarnation of it) gets its own instance and state.
 *
 * <p>Never touched: signals (lifecycle, {@code Terminated}), and every message the settings do not
 * target (by default anything that is not a network-crossing {@link io.vmap.protocol.WireMessage}: the
 * actor's timers, ask adapters, group-commit and wiring messages). For a targeted message four
 * numbers are drawn, always, so the decisions of an actor are a function of the seed, its name and
 * the sequence of targeted messages it receives:
 *
 * <ol>
 *   <li>drop: the message is discarded, nothing else happens;
 *   <li>duplicate: a copy is delivered again after a uniform delay in [0, max-delay];
 *   <li>delay: the message is delivered after a uniform delay in (0, max-delay] (the actor's own
 *       scheduler, a message to itself);
 *   <li>reorder: the message is held until the actor has handled its next message (then it goes
 *       to the back of the mailbox), or for at most max-delay; one message is held at a time.
 * </ol>
 */
public final class ChaosInterceptor<T> extends BehaviorInterceptor<Object, T> {

  /** A message this interceptor took out earlier and now hands to the actor, unharmed. */
  private record Redeliver(Object message, Object by) implements NoSerializationVerificationNeeded {}

  /** Ends a reorder hold that no later message ended. */
  private record ReleaseHeld(long serial, Object by) implements NoSerializationVerificationNeeded {}

  private final Chaos chaos;
  private final SplittableRandom random;
  private final long maxDelayNanos;
  private Object held;
  private long heldSerial;

  ChaosInterceptor(Chaos chaos, String actorName) {
    super(Object.class);
    this.chaos = chaos;
    this.random = new SplittableRandom(mix(chaos.settings().seed(), actorName));
    this.maxDelayNanos = chaos.settings().maxDelay().toNanos();
  }

  /** A stable 64-bit stream seed of (seed, name): String.hashCode-style, then SplitMix64's finalizer. */
  static long mix(long seed, String name) {
    long h = seed;
    for (int i = 0; i < name.length(); i++) h = h * 31 + name.charAt(i);
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
    return h ^ (h >>> 31);
  }

  @Override
  @SuppressWarnings("unchecked")
  public Behavior<T> aroundReceive(TypedActorContext<Object> ctx, Object msg, ReceiveTarget<T> target) {
    if (msg instanceof Redeliver r && r.by() == this) return deliver(ctx, r.message(), target);
    if (msg instanceof ReleaseHeld h && h.by() == this) {
      if (held == null || h.serial() != heldSerial) return Behaviors.same();
      Object m = held;
      held = null;
      return target.apply(ctx, (T) m);
    }
    ChaosSettings.Faults f = chaos.settings().faultsFor(msg.getClass());
    if (f == ChaosSettings.Faults.NONE || !f.any()) return deliver(ctx, msg, target);
    double drop = random.nextDouble();
    double dup = random.nextDouble();
    double delay = random.nextDouble();
    double reorder = random.nextDouble();
    long delayNanos = maxDelayNanos == 0 ? 0 : 1 + random.nextLong(maxDelayNanos);
    long dupNanos = maxDelayNanos == 0 ? 0 : random.nextLong(maxDelayNanos + 1);
    if (!chaos.active()) return deliver(ctx, msg, target);
    Class<?> c = msg.getClass();
    if (drop < f.drop()) {
      chaos.count(Chaos.Fault.DROP, c);
      return Behaviors.same();
    }
    if (dup < f.duplicate()) {
      chaos.count(Chaos.Fault.DUPLICATE, c);
      later(ctx, new Redeliver(msg, this), dupNanos);
    }
    if (delay < f.delay()) {
      chaos.count(Chaos.Fault.DELAY, c);
      later(ctx, new Redeliver(msg, this), delayNanos);
      return Behaviors.same();
    }
    if (reorder < f.reorder() && held == null) {
      chaos.count(Chaos.Fault.REORDER, c);
      held = msg;
      later(ctx, new ReleaseHeld(++heldSerial, this), maxDelayNanos);
      return Behaviors.same();
    }
    return deliver(ctx, msg, target);
  }

  /** Hands {@code msg} to the actor; a held message goes to the back of the mailbox after it. */
  @SuppressWarnings("unchecked")
  private Behavior<T> deliver(TypedActorContext<Object> ctx, Object msg, ReceiveTarget<T> target) {
    Behavior<T> next = target.apply(ctx, (T) msg);
    if (held != null) {
      Object h = held;
      held = null;
      ctx.asJava().getSelf().tell(new Redeliver(h, this));
    }
    return next;
  }

  private static void later(TypedActorContext<Object> ctx, Object msg, long nanos) {
    ActorRef<Object> self = ctx.asJava().getSelf();
    if (nanos <= 0) self.tell(msg);
    else ctx.asJava().scheduleOnce(Duration.ofNanos(nanos), self, msg);
  }
}
