package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.TimerScheduler;
import io.vmap.protocol.LazyTally;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Geometry;
import io.vmap.state.NodeState;
import java.util.function.Consumer;
import org.slf4j.Logger;

/**
 * What a vmap node's collaborators share: who the node is, its state and durability, how to reach
 * its peers and the purge coordinator, its timers, and the refs its peers answer to. Plain fields,
 * so a collaborator can be built in a test with a {@code TestInbox} for each ref.
 */
final class NodeContext {

  final int node;
  final Geometry geometry;
  final NodeSettings settings;
  final NodeState state;
  final Durability durability;
  final NodeDirectory peers;
  final ActorRef<PurgeProtocol.Command> coordinator;
  final TimerScheduler<NodeMessage> timers;
  final Logger log;
  final ActorRef<NodeMessage> self;
  /** Where neighbours answer this node's attempts. */
  final ActorRef<PeerProtocol.AttemptReply> attemptReplies;
  /** Where start owners answer the checks of frees inside their spanning areas. */
  final ActorRef<PeerProtocol.AddressChecked> addressChecks;
  /** Where the purge coordinator answers this node's synchronous purges. */
  final ActorRef<PurgeProtocol.PurgeDone> purgesDone;
  /** Starts a child (the spanning allocator of one request). */
  final Consumer<Behavior<?>> spawn;

  NodeContext(
      int node,
      Geometry geometry,
      NodeSettings settings,
      NodeState state,
      Durability durability,
      NodeDirectory peers,
      ActorRef<PurgeProtocol.Command> coordinator,
      TimerScheduler<NodeMessage> timers,
      Logger log,
      ActorRef<NodeMessage> self,
      ActorRef<PeerProtocol.AttemptReply> attemptReplies,
      ActorRef<PeerProtocol.AddressChecked> addressChecks,
      ActorRef<PurgeProtocol.PurgeDone> purgesDone,
      Consumer<Behavior<?>> spawn,
      io.vmap.protocol.LocalReplies localReplies,
      LazyTally tally) {
    this.node = node;
    this.geometry = geometry;
    this.settings = settings;
    this.state = state;
    this.durability = durability;
    this.peers = peers;
    this.coordinator = coordinator;
    this.timers = timers;
    this.log = log;
    this.self = self;
    this.attemptReplies = attemptReplies;
    this.addressChecks = addressChecks;
    this.purgesDone = purgesDone;
    this.spawn = spawn;
    this.tally = tally;
    this.responses = new Responses(durability, localReplies);
  }

  /** Answers to clients. */
  final Responses responses;
  /** Where this node counts its lazy pages while the coordinator runs in this JVM; null: messages only. */
  private final LazyTally tally;
  /** Pages freed in this turn, not told to the coordinator yet. */
  private long lazyPages;

  /** An area of {@code bytes} joined the lazy list: counted for the coordinator at the end of the turn. */
  void lazyFreed(long bytes) {
    lazyPages += geometry.pagesOf(bytes);
  }

  /**
   * Counts, once stored, the pages this turn freed: in the coordinator's tally when it is open
   * (the kernel's atomic {@code vmap_lazy_nr}, no message unless the count goes over the threshold),
   * else in one message per turn. Either way the count stays exact, so the threshold purge starts
   * exactly when lazy pages exceed it.
   */
  void endTurn() {
    if (lazyPages == 0) return;
    long pages = lazyPages;
    lazyPages = 0;
    durability.afterStored(() -> countLazy(pages));
  }

  private void countLazy(long pages) {
    LazyTally.Added added = tally == null ? LazyTally.Added.CLOSED : tally.add(pages);
    if (added == LazyTally.Added.CLOSED) coordinator.tell(new PurgeProtocol.LazyFreed(node, pages));
    else if (added == LazyTally.Added.OVER) coordinator.tell(new PurgeProtocol.LazyFreed(node, 0));
  }
}
