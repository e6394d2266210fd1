package io.vmap.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.SignalHandler;

/**
 * The journal identity as this member's journal stores it: one event, a {@link JournalIdentity}
 * line, under persistence id {@code <vmap.persistence-id-prefix>cluster-identity}. It recovers,
 * reports what it found ({@link Found}, identity null if none), and on {@link Create} writes a new
 * identity unless one is there already.
 *
 * <p>Creation is once per journal: two members that try at the same moment on one shared journal
 * both write sequence number 1, the journal's unique key refuses one of them, that write fails and
 * the actor stops; read again, it finds the other's identity.
 */
final class JournalIdentityStore
    extends EventSourcedBehavior<JournalIdentityStore.Command, String, JournalIdentityStore.State> {

  /** Local messages: the store is the check's child. */
  interface Command extends akka.actor.NoSerializationVerificationNeeded {}

  /** Store {@code fresh} if this journal has no identity yet; answer the one it has then. */
  record Create(JournalIdentity fresh, ActorRef<Found> replyTo) implements Command {}

  /** What the journal holds; {@code identity} null if it has no identity. */
  record Found(JournalIdentity identity) implements akka.actor.NoSerializationVerificationNeeded {}

  record State(JournalIdentity identity) {}

  static String persistenceId(String prefix) {
    return prefix + "cluster-identity";
  }

  static Behavior<Command> create(String persistenceId, ActorRef<Found> recovered) {
    return new JournalIdentityStore(PersistenceId.ofUniqueId(persistenceId), recovered);
  }

  private final ActorRef<Found> recovered;

  private JournalIdentityStore(PersistenceId id, ActorRef<Found> recovered) {
    super(id);
    this.recovered = recovered;
  }

  @Override
  public State emptyState() {
    return new State(null);
  }

  @Override
  public CommandHandler<Command, String, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Create.class, (state, c) -> state.identity() != null
            ? Effect().none().thenRun(s -> c.replyTo().tell(new Found(s.identity())))
            : Effect().persist(c.fresh().line()).thenRun(s -> c.replyTo().tell(new Found(s.identity()))))
        .build();
  }

  @Override
  public EventHandler<State, String> eventHandler() {
    // The first identity stays: a journal is created once (a second event would be a bug elsewhere).
    return newEventHandlerBuilder()
        .forAnyState()
        .onAnyEvent((state, line) -> state.identity() != null ? state : new State(JournalIdentity.parse(line)));
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> recovered.tell(new Found(state.identity())))
        .build();
  }
}
