package io.vmap.protocol;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import io.vmap.protocol.ClientProtocol.Replies;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers to the clients of this ActorSystem, handed over on the node's own thread (the reply side
 * of {@link ReadIndexes}: no mailbox between a node and a client in the same JVM).
 *
 * <p>A client session registers each of its reply actors with the code that handles its
 * {@link Replies}; a node sends its answers through {@link #send}, which calls that code directly
 * when the reply actor is one of this system's clients and tells the actor otherwise (a client in
 * another member, or in another ActorSystem of the same JVM: each system has its own registry, so
 * what crosses systems still goes over remoting). Measured at window 1, the mailbox hop cost a
 * thread wake-up per answer: the pool woke its idle thread to run the reply actor (BENCHMARKS.md
 * "Window 1").
 *
 * <p>Invariant: a registered handler is safe to call from any thread, once per {@link Replies},
 * and never blocks (it completes futures and sends the channel's next batch).
 */
public final class LocalReplies implements Extension {

  private static final Logger LOG = LoggerFactory.getLogger(LocalReplies.class);

  private static final ExtensionId<LocalReplies> ID = new ExtensionId<>() {
    @Override
    public LocalReplies createExtension(ActorSystem<?> system) {
      return new LocalReplies();
    }
  };

  /** A registry nobody registers with: every answer is a tell (node tests without a system's clients). */
  public static final LocalReplies NONE = new LocalReplies();

  private final ConcurrentHashMap<ActorRef<Replies>, Consumer<Replies>> handlers = new ConcurrentHashMap<>();

  private LocalReplies() {}

  /** {@code system}'s registry. */
  public static LocalReplies get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** From now on, answers to {@code replyTo} sent through this registry go to {@code handler}. */
  public void register(ActorRef<Replies> replyTo, Consumer<Replies> handler) {
    if (this == NONE) throw new IllegalStateException("LocalReplies.NONE takes no handlers");
    handlers.put(replyTo, handler);
  }

  /** Answers to {@code replyTo} go to the actor again (its session is closing). */
  public void unregister(ActorRef<Replies> replyTo) {
    handlers.remove(replyTo);
  }

  /** How many reply actors have a handler here (each client session registers one per node). */
  public int size() {
    return handlers.size();
  }

  /** Hands {@code replies} to {@code to}'s handler on this thread, or tells {@code to}. */
  public void send(ActorRef<Replies> to, Replies replies) {
    Consumer<Replies> handler = handlers.get(to);
    if (handler == null) {
      to.tell(replies);
      return;
    }
    try {
      handler.accept(replies);
    } catch (RuntimeException e) {
      // A client's fault must not stop the node that answered it.
      LOG.error("handling the answers of batch {} for {} failed", replies.batch(), to.path(), e);
    }
  }
}
