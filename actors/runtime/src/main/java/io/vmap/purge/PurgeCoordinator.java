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
import java.time.Duration;
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

  /**
   * A node merged one release batch back into its shard.
   *
   * @param batch the id of the {@link VmapNode.ReleasePieces} answered, or -1 (answers whichever
   *     batch of {@code node} is outstanding)
   */
  public record Released(long epoch, int node, int areas, long bytes, long batch) implements Command {
    /** An answer without a batch id. */
    public Released(long epoch, int node, int areas, long bytes) {
      this(epoch, node, areas, bytes, -1);
    }
  }

  /**
   * A node's answer to {@link VmapNode.ReportUnreleased}: areas an earlier epoch spliced but never
   * released, and every unpurged page whose area starts there.
   */
  public record Unreleased(int node, long spliceEpoch, List<LazyArea> purging, long unpurgedPages)
      implements Command {}

  private record SubscriberGone(ActorRef<Flush> subscriber)
      implements Command, akka.actor.NoSerializationVerificationNeeded {}

  /** Periodic: resend what the running phase still waits for (a lost request or answer). */
  private enum ResendTick implements Command, akka.actor.NoSerializationVerificationNeeded { INSTANCE }

  /** How often the default coordinator resends unanswered requests ({@link #create(Geometry, NodeDirectory, long, int)}). */
  public static final Duration DEFAULT_RESEND_AFTER = Duration.ofSeconds(30);

  // =================================================================== creation

  /**
   * @param thresholdPages purge when lazy pages exceed this ({@code lazy_max_pages()})
   * @param releaseBatch pieces per release message to one node
   */
  public static Behavior<Command> create(
      Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch) {
    return create(geometry, nodes, thresholdPages, releaseBatch, DEFAULT_RESEND_AFTER);
  }

  /**
   * @param resendAfter a request of the running phase (report, splice, flush, release batch) that
   *     has no answer after this long is sent again; every one of them is idempotent, so message
   *     loss delays a purge instead of stalling it for good
   */
  public static Behavior<Command> create(
      Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch, Duration resendAfter) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(ResendTick.INSTANCE, ResendTick.INSTANCE, resendAfter);
                  return new PurgeCoordinator(ctx, geometry, nodes, thresholdPages, releaseBatch, resendAfter);
                }));
  }

  // =================================================================== state

  private enum Phase { RECOVERING, IDLE, SPLICING, FLUSHING, RELEASING }

  private final Geometry geometry;
  private final NodeDirectory nodes;
  private final long thresholdPages;
  private final int releaseBatch;
  private final long resendAfterNanos;

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
  /** Nodes whose splice answer this epoch still waits for (a duplicate answer counts once). */
  private final Set<Integer> splicesPending = new java.util.HashSet<>();
  private final List<LazyArea> spliced = new ArrayList<>();
  /** Pages freed on nodes after they answered this epoch's splice. */
  private long freedSinceSplice;
  private final Map<ActorRef<Flush>, Instant> acksPending = new LinkedHashMap<>();
  /** The running epoch's flush, resent to subscribers that have not acked it. */
  private Flush flushSent;
  /** A piece to release and the area it belongs to (its identity, checked by the node). */
  private record Piece(ReleasePiece piece, Area area) {}

  private final Map<Integer, Deque<Piece>> releaseQueues = new HashMap<>();
  /** The one release batch per node that has no answer yet. */
  private record Outstanding(long batch, VmapNode.ReleasePieces message, long sentAt) {}

  private final Map<Integer, Outstanding> outstanding = new HashMap<>();
  private long nextBatch;
  /** When the running phase's requests (reports, splices, flushes) were last sent. */
  private long phaseSentAt;
  private int releasedThisEpoch;

  private PurgeCoordinator(
      ActorContext<Command> ctx,
      Geometry geometry,
      NodeDirectory nodes,
      long thresholdPages,
      int releaseBatch,
      Duration resendAfter) {
    super(ctx);
    this.geometry = geometry;
    this.nodes = nodes;
    this.thresholdPages = thresholdPages;
    this.releaseBatch = releaseBatch;
    this.resendAfterNanos = resendAfter.toNanos();
    phaseSentAt = System.nanoTime();
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
        .onMessage(ResendTick.class, t -> onResendTick())
        .build();
  }

  // =================================================================== resends

  /**
   * Sends again what the running phase waits for and has not had an answer to within the resend
   * interval: reports (recovering), splices, flushes, release batches. Each is idempotent on the
   * receiving side, and answers are counted once per node, subscriber or batch.
   */
  private Behavior<Command> onResendTick() {
    long now = System.nanoTime();
    boolean phaseDue = now - phaseSentAt >= resendAfterNanos;
    switch (phase) {
      case RECOVERING -> {
        if (!phaseDue) break;
        phaseSentAt = now;
        for (int k = 0; k < nodes.size(); k++) {
          if (!reported.contains(k)) nodes.node(k).tell(new VmapNode.ReportUnreleased(getContext().getSelf()));
        }
      }
      case SPLICING -> {
        if (!phaseDue) break;
        phaseSentAt = now;
        for (int k : splicesPending) nodes.node(k).tell(new VmapNode.SpliceLazy(epoch, getContext().getSelf()));
      }
      case FLUSHING -> {
        if (!phaseDue || flushSent == null) break;
        phaseSentAt = now;
        for (ActorRef<Flush> s : acksPending.keySet()) s.tell(flushSent);
      }
      case RELEASING -> {
        for (Map.Entry<Integer, Outstanding> e : outstanding.entrySet()) {
          Outstanding o = e.getValue();
          if (now - o.sentAt() < resendAfterNanos) continue;
          e.setValue(new Outstanding(o.batch(), o.message(), now));
          nodes.node(e.getKey()).tell(o.message());
        }
      }
      case IDLE -> {}
    }
    return this;
  }

  // =================================================================== triggers

  private Behavior<Command> onLazyFreed(LazyFreed m) {
    // While recovering, a node's frees before its report are counted in the report.
    if (phase == Phase.RECOVERING && !reported.contains(m.node())) return this;
    lazyPages += m.pages();
    if (phase == Phase.SPLICING && !splicesPending.contains(m.node())) freedSinceSplice += m.pages();
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
    splicesPending.clear();
    freedSinceSplice = 0;
    phaseSentAt = System.nanoTime();
    for (int k = 0; k < nodes.size(); k++) {
      splicesPending.add(k);
      nodes.node(k).tell(new VmapNode.SpliceLazy(epoch, getContext().getSelf()));
    }
  }

  private Behavior<Command> onSpliced(Spliced m) {
    // Only the first answer of each node counts: a resent splice is answered again.
    if (m.epoch() != epoch || phase != Phase.SPLICING || !splicesPending.remove(m.node())) return this;
    spliced.addAll(m.areas());
    if (!splicesPending.isEmpty()) return this;
    if (spliced.isEmpty()) {
      // Nothing was lazy anywhere at the splice, so only frees after it count. (Equal to the count
      // kept so far unless LazyFreed messages were lost or repeated; then purging nothing over and
      // over, or never, is avoided.)
      lazyPages = freedSinceSplice;
      finishEpoch();
      return this;
    }
    flushSpliced();
    return this;
  }

  private void flushSpliced() {
    phase = Phase.FLUSHING;
    acksPending.clear();
    flushSent = null;
    phaseSentAt = System.nanoTime();
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
    flushSent = new Flush(epoch, frozen, ackTo);
    for (ActorRef<Flush> s : subscribers) {
      acksPending.put(s, now);
      s.tell(flushSent);
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
            .add(new Piece(new ReleasePiece(la.area().start(), p.start(), p.end()), la.area()));
      }
    }
    spliced.clear();
    flushSent = null;
    outstanding.clear();
    for (int k : new ArrayList<>(releaseQueues.keySet())) sendBatch(k);
    // Spliced areas with no pieces at all cannot exist; an epoch with nothing to release ends here.
    if (outstanding.isEmpty() && releaseQueues.isEmpty()) finishEpoch();
  }

  private void sendBatch(int node) {
    Deque<Piece> q = releaseQueues.get(node);
    if (q == null || q.isEmpty()) {
      releaseQueues.remove(node);
      return;
    }
    List<ReleasePiece> batch = new ArrayList<>(Math.min(releaseBatch, q.size()));
    List<Area> areas = new ArrayList<>(batch.size());
    while (!q.isEmpty() && batch.size() < releaseBatch) {
      Piece p = q.poll();
      batch.add(p.piece());
      areas.add(p.area());
    }
    long id = nextBatch++;
    VmapNode.ReleasePieces msg =
        new VmapNode.ReleasePieces(epoch, List.copyOf(batch), getContext().getSelf(), id, List.copyOf(areas));
    outstanding.put(node, new Outstanding(id, msg, System.nanoTime()));
    nodes.node(node).tell(msg);
  }

  private Behavior<Command> onReleased(Released m) {
    if (m.epoch() != epoch || phase != Phase.RELEASING) return this;
    Outstanding o = outstanding.get(m.node());
    // A late or repeated answer of an earlier batch must not count for the one outstanding now.
    if (o == null || (m.batch() >= 0 && m.batch() != o.batch())) return this;
    outstanding.remove(m.node());
    lazyPages = Math.max(0, lazyPages - geometry.pagesOf(m.bytes()));
    releasedThisEpoch += m.areas();
    sendBatch(m.node());
    if (outstanding.isEmpty() && releaseQueues.isEmpty()) finishEpoch();
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
