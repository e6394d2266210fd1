package io.vmap.chaos;

import io.vmap.protocol.NodeMessage;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.StashBuffer;
import io.vmap.node.VmapNode;
import java.time.Duration;

/**
 * Gives a vmap node of an embedded allocator what Cluster Sharding gives it in a cluster: when the
 * node stops (a durable node stops after a journal write failure, failing what waited for the
 * write), a new incarnation is started and recovers from the journal. The restarter stands where
 * the node stood (its ref is the one in the node directory), forwards every message to the current
 * incarnation and hands the node's {@link NodeMessage.Attach} to each new one.
 *
 * <p>A new incarnation starts only after the previous one has terminated (its journal child
 * included), so a persistence id never has two writers. An incarnation that stops within 100 ms
 * of its start is restarted after a backoff (20 ms, doubling up to 2 s; messages wait meanwhile, up
 * to 10000), so a node that cannot start at all does not spin.
 */
public final class NodeRestarter {

  private NodeRestarter() {}

  private enum Respawn implements NodeMessage.Local { INSTANCE }

  private static final Duration MIN_BACKOFF = Duration.ofMillis(20);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);
  private static final long SHORT_LIVED_NANOS = Duration.ofMillis(100).toNanos();

  /** @param history if not null, the stop of each incarnation is recorded in it */
  public static Behavior<NodeMessage> create(int node, Behavior<NodeMessage> nodeBehavior, History history) {
    return Behaviors.withStash(
        10_000,
        stash ->
            Behaviors.setup(
                ctx -> {
                  var state = new Object() {
                    int incarnation;
                    ActorRef<NodeMessage> current;
                    NodeMessage.Attach attach;
                    long startedAt;
                    Duration backoff = MIN_BACKOFF;

                    void spawn() {
                      current = ctx.spawn(nodeBehavior, "incarnation-" + ++incarnation);
                      startedAt = System.nanoTime();
                      ctx.watch(current);
                      if (attach != null) current.tell(attach);
                    }
                  };
                  state.spawn();
                  return Behaviors.receive(NodeMessage.class)
                      .onMessage(
                          NodeMessage.Attach.class,
                          a -> {
                            state.attach = a;
                            if (state.current != null) state.current.tell(a);
                            return Behaviors.same();
                          })
                      .onMessage(
                          Respawn.class,
                          r -> {
                            state.spawn();
                            return stash.unstashAll(Behaviors.same());
                          })
                      .onAnyMessage(
                          m -> {
                            if (state.current != null) state.current.tell(m);
                            else if (!stash.isFull()) stash.stash(m);
                            return Behaviors.same();
                          })
                      .onSignal(
                          Terminated.class,
                          t -> {
                            if (!t.getRef().equals(state.current)) return Behaviors.same();
                            if (history != null) history.incarnationStopped(node, Incarnations.name(t.getRef()));
                            state.current = null;
                            if (System.nanoTime() - state.startedAt >= SHORT_LIVED_NANOS) {
                              state.backoff = MIN_BACKOFF;
                              ctx.getLog().info("node {}: incarnation {} stopped; starting the next", node, state.incarnation);
                              state.spawn();
                            } else {
                              ctx.getLog().warn("node {}: incarnation {} stopped right after its start; next in {} ms",
                                  node, state.incarnation, state.backoff.toMillis());
                              ctx.scheduleOnce(state.backoff, ctx.getSelf(), Respawn.INSTANCE);
                              Duration doubled = state.backoff.multipliedBy(2);
                              state.backoff = doubled.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : doubled;
                            }
                            return Behaviors.same();
                          })
                      .build();
                }));
  }
}
