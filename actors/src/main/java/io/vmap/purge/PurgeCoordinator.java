package io.vmap.purge;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.vmap.node.NodeDirectory;
import io.vmap.node.VmapNode;
import io.vmap.protocol.LazyArea;
import io.vmap.protocol.Part;
import io.vmap.protocol.ReleasePiece;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.wire.WireMessage;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs purge epochs, the kernel's {@code __purge_vmap_area_lazy()}: one per cluster.
 *
 * <p>It counts lazily freed pages ({@code vmap_lazy_nr}); when the count exceeds the threshold
 * ({@code lazy_max_pages()}), or an allocation overflows and asks for a synchronous purge, it runs
 * an epoch:
 *
 * <ol>
 *   <li>splice: every node hands over its lazy list at once; later frees belong to the next epoch;
 *   <li>flush: {@link Flush} to every subscriber, then wait for every {@link FlushAck} (the
 *       {@code flush_tlb_kernel_range()} step);
 *   <li>release: the space goes back to the owning nodes' shards in bounded batches, one batch
 *       outstanding per node, so a node serves allocations between batches (the 2016 purge_lock
 *       lesson); the lazy count drops as pieces are actually released.
 * </ol>
 *
 * <p>One epoch at a time. A threshold trigger that finds one running does nothing more; a
 * synchronous purge waits for the running epoch and then runs another for what is left. A
 * subscriber that never acks holds its epoch's space quarantined until it unsubscribes or stops:
 * {@link GetStatus} shows who holds which epoch.
 */
public final class PurgeCoordinator extends AbstractBehavior<PurgeCoordinator.Command> {

  // =================================================================== protocol

  public interface Command extends WireMessage {}

  /** A node freed an area of {@code pages} pages (it joined that node's lazy list). */
  public record LazyFreed(int node, long pages) implements Command {}

  /** Purge now and answer when an epoch that started after this request has finished. */
  public record PurgeSync(ActorRef<PurgeDone> replyTo) implements Command {}

  /** @param released areas whose space became reusable in the epoch that answered */
  public record PurgeDone(long epoch, int released) implements WireMessage {}

  /** Answer when no epoch is running. */
  public record AwaitIdle(ActorRef<Idle> replyTo) implements Command {}

  public record Idle(long lastEpoch) implements WireMessage {}

  /** Sent to a subscriber: drop translations of these ranges, then ack to {@code ackTo}. */
  public record Flush(long epoch, List<Area> ranges, ActorRef<FlushAck> ackTo) implements WireMessage {
    /** The acknowledgement a subscriber sends for this flush. */
    public FlushAck ack(ActorRef<Flush> subscriber) {
      return new FlushAck(epoch, subscriber);
    }
  }

  public record FlushAck(long epoch, ActorRef<Flush> subscriber) implements Command {}

  public record Subscribe(ActorRef<Flush> subscriber, ActorRef<Subscribed> replyTo)
      implements Command {}

  public record Subscribed(ActorRef<Flush> subscriber) implements WireMessage {}

  /** Stops flushes to {@code subscriber}; an epoch waiting only for it goes on. */
  public record Unsubscribe(ActorRef<Flush> subscriber) implements Command {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /** A subscriber that has not acked the running epoch's flush yet, and since when. */
  public record Holder(String subscriber, long epoch, Instant flushSentAt) implements WireMessage {}

  /**
   * @param phase idle, splicing, flushing or releasing
   * @param holders subscribers the running epoch waits for (quarantining its space)
   */
  public record Status(
      long epoch,
      String phase,
      long lazyPages,
      long thresholdPages,
      int subscribers,
      List<Holder> holders,
      long epochsRun,
      long areasReleased)
      implements WireMessage {}

  /** A node's lazy list for {@code epoch}. */
  public record Spliced(long epoch, int node, List<LazyArea> areas) implements Command {}

  /** A node merged one release batch back into its shard. */
  public record Released(long epoch, int node, int areas, long bytes) implements Command {}

  /**
   * A node's answer to {@link VmapNode.ReportUnreleased}: areas an earlier epoch spliced but never
   * released, and every unpurged page whose area starts there.
   */
  public record Unreleased(int node, long spliceEpoch, List<LazyArea> purging, long unpurgedPages)
      implements Command {}

  private record SubscriberGone(ActorRef<Flush> subscriber)
      implements Command, akka.actor.NoSerializationVerificationNeeded {}

  // =================================================================== creation

  /**
   * @param thresholdPages purge when lazy pages exceed this ({@code lazy_max_pages()})
   * @param releaseBatch pieces per release message to one node
   */
  public static Behavior<Command> create(
      Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch) {
    return Behaviors.setup(ctx -> new PurgeCoordinator(ctx, geometry, nodes, thresholdPages, releaseBatch));
  }

  // =================================================================== state

  private enum Phase { RECOVERING, IDLE, SPLICING, FLUSHING, RELEASING }

  private final Geometry geometry;
  private final NodeDirectory nodes;
  private final long thresholdPages;
  private final int releaseBatch;

  private final Set<ActorRef<Flush>> subscribers = new LinkedHashSet<>();
  private long lazyPages;
  private long epoch;
  private long epochsRun;
  private long areasReleased;
  /** Starts recovering: a coordinator may be the successor of one that died mid-epoch. */
  private Phase phase = Phase.RECOVERING;
  private final Set<Integer> reported = new java.util.HashSet<>();
  private long recoveredEpoch;

  // the running epoch
  private List<ActorRef<PurgeDone>> epochWaiters = new ArrayList<>();
  private final List<ActorRef<PurgeDone>> nextEpochWaiters = new ArrayList<>();
  private final List<ActorRef<Idle>> idleWaiters = new ArrayList<>();
  private int splicesPending;
  private final List<LazyArea> spliced = new ArrayList<>();
  private final Map<ActorRef<Flush>, Instant> acksPending = new LinkedHashMap<>();
  private final Map<Integer, Deque<ReleasePiece>> releaseQueues = new HashMap<>();
  private int batchesOutstanding;
  private int releasedThisEpoch;

  private PurgeCoordinator(
      ActorContext<Command> ctx,
      Geometry geometry,
      NodeDirectory nodes,
      long thresholdPages,
      int releaseBatch) {
    super(ctx);
    this.geometry = geometry;
    this.nodes = nodes;
    this.thresholdPages = thresholdPages;
    this.releaseBatch = releaseBatch;
    for (int k = 0; k < nodes.size(); k++) {
      nodes.node(k).tell(new VmapNode.ReportUnreleased(ctx.getSelf()));
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(LazyFreed.class, this::onLazyFreed)
        .onMessage(PurgeSync.class, this::onPurgeSync)
        .onMessage(AwaitIdle.class, this::onAwaitIdle)
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(Unsubscribe.class, m -> dropSubscriber(m.subscriber()))
        .onMessage(SubscriberGone.class, m -> dropSubscriber(m.subscriber()))
        .onMessage(FlushAck.class, this::onFlushAck)
        .onMessage(Spliced.class, this::onSpliced)
        .onMessage(Released.class, this::onReleased)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(Unreleased.class, this::onUnreleased)
        .build();
  }

  // =================================================================== triggers

  private Behavior<Command> onLazyFreed(LazyFreed m) {
    // While recovering, a node's frees before its report are counted in the report.
    if (phase == Phase.RECOVERING && !reported.contains(m.node())) return this;
    lazyPages += m.pages();
    if (phase == Phase.IDLE && lazyPages > thresholdPages) startEpoch(new ArrayList<>());
    return this;
  }

  private Behavior<Command> onPurgeSync(PurgeSync m) {
    if (phase == Phase.IDLE) {
      List<ActorRef<PurgeDone>> w = new ArrayList<>();
      w.add(m.replyTo());
      startEpoch(w);
    } else {
      // Never fail because someone else is purging: wait for that epoch, then purge what is left.
      nextEpochWaiters.add(m.replyTo());
    }
    return this;
  }

  private Behavior<Command> onAwaitIdle(AwaitIdle m) {
    if (phase == Phase.IDLE) m.replyTo().tell(new Idle(epoch));
    else idleWaiters.add(m.replyTo());
    return this;
  }

  // =================================================================== recovery

  /**
   * Re-drives what a crashed predecessor left: areas spliced but not released are flushed again
   * (flush is idempotent) and only then released; the lazy count is rebuilt from the nodes.
   */
  private Behavior<Command> onUnreleased(Unreleased m) {
    if (phase != Phase.RECOVERING || !reported.add(m.node())) return this;
    lazyPages += m.unpurgedPages();
    recoveredEpoch = Math.max(recoveredEpoch, m.spliceEpoch());
    spliced.addAll(m.purging());
    if (reported.size() < nodes.size()) return this;
    epoch = Math.max(epoch, recoveredEpoch);
    if (spliced.isEmpty()) {
      phase = Phase.IDLE;
      afterEpoch();
      return this;
    }
    getContext().getLog().info("re-driving {} areas left unreleased by an interrupted purge", spliced.size());
    epoch++;
    epochWaiters = new ArrayList<>();
    releasedThisEpoch = 0;
    flushSpliced();
    return this;
  }

  // =================================================================== the epoch

  private void startEpoch(List<ActorRef<PurgeDone>> waiters) {
    epoch++;
    epochWaiters = waiters;
    phase = Phase.SPLICING;
    spliced.clear();
    releasedThisEpoch = 0;
    splicesPending = nodes.size();
    for (int k = 0; k < nodes.size(); k++) {
      nodes.node(k).tell(new VmapNode.SpliceLazy(epoch, getContext().getSelf()));
    }
  }

  private Behavior<Command> onSpliced(Spliced m) {
    if (m.epoch() != epoch || phase != Phase.SPLICING) return this;
    spliced.addAll(m.areas());
    if (--splicesPending > 0) return this;
    if (spliced.isEmpty()) {
      finishEpoch();
      return this;
    }
    flushSpliced();
    return this;
  }

  private void flushSpliced() {
    phase = Phase.FLUSHING;
    acksPending.clear();
    if (subscribers.isEmpty()) {
      startRelease();
      return;
    }
    List<Area> ranges = new ArrayList<>(spliced.size());
    for (LazyArea la : spliced) ranges.add(la.area());
    ranges.sort(Comparator.comparing(Area::start, Long::compareUnsigned));
    List<Area> frozen = List.copyOf(ranges);
    Instant now = Instant.now();
    ActorRef<FlushAck> ackTo = getContext().getSelf().narrow();
    for (ActorRef<Flush> s : subscribers) {
      acksPending.put(s, now);
      s.tell(new Flush(epoch, frozen, ackTo));
    }
  }

  private Behavior<Command> onFlushAck(FlushAck m) {
    // Acks for other epochs are stale duplicates: flush is idempotent, only this epoch's count.
    if (m.epoch() != epoch || phase != Phase.FLUSHING) return this;
    acksPending.remove(m.subscriber());
    if (acksPending.isEmpty()) startRelease();
    return this;
  }

  private void startRelease() {
    phase = Phase.RELEASING;
    releaseQueues.clear();
    for (LazyArea la : spliced) {
      for (Part p : la.parts()) {
        releaseQueues
            .computeIfAbsent(p.node(), k -> new ArrayDeque<>())
            .add(new ReleasePiece(la.area().start(), p.start(), p.end()));
      }
    }
    spliced.clear();
    batchesOutstanding = 0;
    for (int k : new ArrayList<>(releaseQueues.keySet())) sendBatch(k);
  }

  private void sendBatch(int node) {
    Deque<ReleasePiece> q = releaseQueues.get(node);
    if (q == null || q.isEmpty()) {
      releaseQueues.remove(node);
      return;
    }
    List<ReleasePiece> batch = new ArrayList<>(Math.min(releaseBatch, q.size()));
    while (!q.isEmpty() && batch.size() < releaseBatch) batch.add(q.poll());
    batchesOutstanding++;
    nodes.node(node).tell(new VmapNode.ReleasePieces(epoch, List.copyOf(batch), getContext().getSelf()));
  }

  private Behavior<Command> onReleased(Released m) {
    if (m.epoch() != epoch || phase != Phase.RELEASING) return this;
    batchesOutstanding--;
    lazyPages -= geometry.pagesOf(m.bytes());
    releasedThisEpoch += m.areas();
    sendBatch(m.node());
    if (batchesOutstanding == 0 && releaseQueues.isEmpty()) finishEpoch();
    return this;
  }

  private void finishEpoch() {
    phase = Phase.IDLE;
    epochsRun++;
    areasReleased += releasedThisEpoch;
    PurgeDone done = new PurgeDone(epoch, releasedThisEpoch);
    for (ActorRef<PurgeDone> w : epochWaiters) w.tell(done);
    epochWaiters = new ArrayList<>();
    afterEpoch();
  }

  /** The next epoch if one is owed (waiting purges, or still over the threshold), else idle. */
  private void afterEpoch() {
    if (!nextEpochWaiters.isEmpty()) {
      List<ActorRef<PurgeDone>> w = new ArrayList<>(nextEpochWaiters);
      nextEpochWaiters.clear();
      startEpoch(w);
    } else if (lazyPages > thresholdPages) {
      startEpoch(new ArrayList<>());
    } else {
      for (ActorRef<Idle> w : idleWaiters) w.tell(new Idle(epoch));
      idleWaiters.clear();
    }
  }

  // =================================================================== subscribers

  private Behavior<Command> onSubscribe(Subscribe m) {
    if (subscribers.add(m.subscriber())) {
      getContext().watchWith(m.subscriber(), new SubscriberGone(m.subscriber()));
    }
    if (m.replyTo() != null) m.replyTo().tell(new Subscribed(m.subscriber()));
    return this;
  }

  private Behavior<Command> dropSubscriber(ActorRef<Flush> s) {
    if (subscribers.remove(s)) getContext().unwatch(s);
    if (acksPending.remove(s) != null && acksPending.isEmpty() && phase == Phase.FLUSHING) {
      startRelease();
    }
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus m) {
    List<Holder> holders = new ArrayList<>();
    if (phase == Phase.FLUSHING) {
      for (Map.Entry<ActorRef<Flush>, Instant> e : acksPending.entrySet()) {
        holders.add(new Holder(e.getKey().path().toString(), epoch, e.getValue()));
      }
    }
    m.replyTo()
        .tell(
            new Status(
                epoch,
                phase.name().toLowerCase(),
                lazyPages,
                thresholdPages,
                subscribers.size(),
                holders,
                epochsRun,
                areasReleased));
    return this;
  }
}
