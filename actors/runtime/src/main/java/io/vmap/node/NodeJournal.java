package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.SnapshotAdapter;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import io.vmap.space.Geometry;
import io.vmap.state.NodeEvent;
import io.vmap.state.OwnedSnapshot;
import io.vmap.state.NodeState;
import java.util.List;

/**
 * The durable half of a vmap node: stores the node's {@link NodeEvent}s in batches (group commit:
 * the events of one write are one journal event, a {@link NodeEvent.Batch}: one row, one
 * serialization) and recovers them.
 *
 * <p>The node itself cannot be the event-sourced actor: an {@link EventSourcedBehavior} stashes
 * commands while it persists, so every request would wait for its own journal round trip. Instead
 * the node applies transitions at once and holds back their effects (replies) until this child has
 * stored the batch. This child keeps a replica of the state, so snapshots need no coordination:
 * the replica after event N is exactly what event N's sequence number describes. It costs a second
 * copy of the state per node.
 */
public final class NodeJournal
    extends EventSourcedBehavior<NodeJournal.Command, NodeEvent, NodeJournal.Replica> {

  /** The node's messages to its journal: local, parent and child share the JVM. */
  public interface Command extends akka.actor.NoSerializationVerificationNeeded {}

  /** Store these events, in order, then answer {@link Persisted}. */
  public record Persist(long batchId, List<NodeEvent> events, ActorRef<Persisted> replyTo)
      implements Command {}

  public record Persisted(long batchId) implements akka.actor.NoSerializationVerificationNeeded {}

  /**
   * Sent to the node (its parent, same JVM) once recovery is complete: a copy of the recovered
   * state for the node to serve from, and the replica itself, the stored state, which the node
   * publishes as its read index (it only ever shows what is stored).
   */
  public record Recovered(NodeState state, NodeState stored) implements akka.actor.NoSerializationVerificationNeeded {}

  /** The replica; mutable, touched only by this actor's event handler. */
  public static final class Replica {
    final NodeState state;

    Replica(NodeState state) {
      this.state = state;
    }
  }

  public static Behavior<Command> create(
      String persistenceId,
      int node,
      Geometry geometry,
      NodeState.Memory memory,
      int snapshotEvery,
      ActorRef<Recovered> recovered) {
    return Behaviors.setup(
        ctx -> new NodeJournal(PersistenceId.ofUniqueId(persistenceId), node, geometry, memory, snapshotEvery, recovered));
  }

  private final int node;
  private final Geometry geometry;
  private final NodeState.Memory memory;
  private final int snapshotEvery;
  private final ActorRef<Recovered> recovered;

  private NodeJournal(
      PersistenceId id, int node, Geometry geometry, NodeState.Memory memory, int snapshotEvery, ActorRef<Recovered> recovered) {
    super(id);
    this.node = node;
    this.geometry = geometry;
    this.memory = memory;
    this.snapshotEvery = snapshotEvery;
    this.recovered = recovered;
  }

  @Override
  public Replica emptyState() {
    return new Replica(new NodeState(node, geometry, memory));
  }

  @Override
  public CommandHandler<Command, NodeEvent, Replica> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(
            Persist.class,
            (state, p) -> Effect().persist(p.events().size() == 1 ? p.events().get(0) : new NodeEvent.Batch(p.events()))
                .thenRun(s -> p.replyTo().tell(new Persisted(p.batchId()))))
        .build();
  }

  @Override
  public EventHandler<Replica, NodeEvent> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onAnyEvent(
            (replica, event) -> {
              replica.state.replay(event);
              return replica;
            });
  }

  @Override
  public SignalHandler<Replica> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), replica -> recovered.tell(new Recovered(replica.state.copy(), replica.state)))
        .build();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(snapshotEvery, 2);
  }

  @Override
  public SnapshotAdapter<Replica> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(Replica r) {
        // A plain NodeSnapshot while every area is the default tenant's; with the owners once not.
        return OwnedSnapshot.of(r.state);
      }

      @Override
      public Replica fromJournal(Object from) {
        return new Replica(OwnedSnapshot.restore(from, geometry, memory));
      }
    };
  }
}
