package io.vmap.purge;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.PreRestart;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.BehaviorBuilder;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.protocol.LazyTally;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.PurgeProtocol.AwaitIdle;
import io.vmap.protocol.PurgeProtocol.Command;
import io.vmap.protocol.PurgeProtocol.Flush;
import io.vmap.protocol.PurgeProtocol.FlushAck;
import io.vmap.protocol.PurgeProtocol.GetStatus;
import io.vmap.protocol.PurgeProtocol.Holder;
import io.vmap.protocol.PurgeProtocol.Idle;
import io.vmap.protocol.PurgeProtocol.LazyFreed;
import io.vmap.protocol.PurgeProtocol.PurgeDone;
import io.vmap.protocol.PurgeProtocol.PurgeSync;
import io.vmap.protocol.PurgeProtocol.Released;
import io.vmap.protocol.PurgeProtocol.Spliced;
import io.vmap.protocol.PurgeProtocol.Status;
import io.vmap.protocol.PurgeProtocol.Subscribe;
import io.vmap.protocol.PurgeProtocol.Subscribed;
import io.vmap.protocol.PurgeProtocol.Unreleased;
import io.vmap.protocol.PurgeProtocol.Unsubscribe;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.LazyArea;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
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
 * an epoch through its phases, one behavior each:
 *
 * <ol>
 *   <li>{@link #splicing}: every node hands over its lazy list at once; later frees belong to the
 *       next epoch;
 *   <li>{@link #flushing}: {@link Flush} to every subscriber, then wait for every {@link FlushAck}
 *       (the {@code flush_tlb_kernel_range()} step);
 *   <li>{@link #releasing}: the space goes back to the owning nodes' shards in bounded batches
 *       ({@link Releases}); the lazy count drops as pieces are actually released;
 * </ol>
 *
 * then {@link #idle} or the next epoch. It starts {@link #recovering}: it may be the successor of
 * a coordinator that died mid-epoch, whose spliced and unreleased areas it flushes again and
 * releases.
 *
 * <p>One epoch at a time. A threshold trigger that finds one running does nothing more; a
 * synchronous purge waits for the running epoch and then runs another for what is left. A
 * subscriber that never acks holds its epoch's space quarantined until it unsubscribes or stops:
 * {@link GetStatus} shows who holds which epoch. Every request a phase waits for is resent after
 * {@code resendAfter} without an answer, and answers are counted once per node, subscriber or
 * batch, so lost and repeated messages delay a purge but never stall it or count twice.
 */
public final class PurgeCoordinator {

  private record SubscriberGone(ActorRef<Flush> subscriber) implements PurgeProtocol.Local {}

  /** Periodic: resend what the running phase still waits for (a lost request or answer). */
  private enum ResendTick implements PurgeProtocol.Local { INSTANCE }

  /** How often the default coordinator resends unanswered requests. */
  public static final Duration DEFAULT_RESEND_AFTER = Duration.ofSeconds(30);

  /**
   * @param thresholdPages purge when lazy pages exceed this ({@code lazy_max_pages()})
   * @param releaseBatch pieces per release message to one node
   */
  public static Behavior<Command> create(Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch) {
    return create(geometry, nodes, thresholdPages, releaseBatch, DEFAULT_RESEND_AFTER);
  }

  /**
   * {@value #BATCHES_IN_FLIGHT_PATH} when the configuration does not say: 0, no cap (one batch in
   * flight per node). A cap of 1 or 2 did not measurably lower the allocation latency during a purge
   * on the shared 2-CPU machine (BENCHMARKS.md, "batches in flight"), so it is not the default.
   */
  public static final int DEFAULT_BATCHES_IN_FLIGHT = 0;

  /** The configuration key of the cap on release batches in flight over all nodes (0: no cap). */
  public static final String BATCHES_IN_FLIGHT_PATH = "vmap.purge.batches-in-flight";

  /**
   * A coordinator whose cap on release batches in flight is {@value #BATCHES_IN_FLIGHT_PATH} of the
   * actor system's configuration ({@link #DEFAULT_BATCHES_IN_FLIGHT} if absent).
   *
   * @param resendAfter a request of the running phase (report, splice, flush, release batch) that
   *     has no answer after this long is sent again; every one of them is idempotent, so message
   *     loss delays a purge instead of stalling it for good
   * @throws IllegalArgumentException (when started) naming the key if its value is negative
   */
  public static Behavior<Command> create(
      Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch, Duration resendAfter) {
    return create(geometry, nodes, thresholdPages, releaseBatch, resendAfter, (LazyTally) null);
  }

  /**
   * As {@link #create(Geometry, NodeDirectory, long, int, Duration)}, counting the lazy pages of the
   * nodes in this JVM through {@code tally} (null: every node sends its pages as messages).
   */
  public static Behavior<Command> create(
      Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch, Duration resendAfter,
      LazyTally tally) {
    return Behaviors.setup(ctx -> {
      com.typesafe.config.Config c = ctx.getSystem().settings().config();
      int inFlight = c.hasPath(BATCHES_IN_FLIGHT_PATH) ? c.getInt(BATCHES_IN_FLIGHT_PATH) : DEFAULT_BATCHES_IN_FLIGHT;
      if (inFlight < 0) throw new IllegalArgumentException(BATCHES_IN_FLIGHT_PATH + ": " + inFlight + " < 0");
      return create(geometry, nodes, thresholdPages, releaseBatch, resendAfter, inFlight == 0 ? Integer.MAX_VALUE : inFlight,
          tally);
    });
  }

  /** @param batchesInFlight most release batches outstanding at once, over all nodes (at least 1) */
  public static Behavior<Command> create(Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch,
      Duration resendAfter, int batchesInFlight) {
    return create(geometry, nodes, thresholdPages, releaseBatch, resendAfter, batchesInFlight, null);
  }

  private static Behavior<Command> create(Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch,
      Duration resendAfter, int batchesInFlight, LazyTally tally) {
    if (batchesInFlight < 1) throw new IllegalArgumentException("release batches in flight must be >= 1: " + batchesInFlight);
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(ResendTick.INSTANCE, ResendTick.INSTANCE, resendAfter);
      return new PurgeCoordinator(ctx, geometry, nodes, thresholdPages, releaseBatch, batchesInFlight,
          tally == null ? new LazyTally() : tally).recovering();
    }));
  }

  /** One running epoch: who waits for it and what it handles. */
  private static final class Epoch {
    final long number;
    final List<PurgeSync> waiters;
    /** Per start owner, the lists of areas it handed over (kept as sent: never copied nor changed). */
    final Map<Integer, List<List<LazyArea>>> handed = new HashMap<>();
    int areas;
    /** The resend tick at which the running phase's requests (splices, flushes) were last sent. */
    long sentAt;
    int released;

    Epoch(long number, List<PurgeSync> waiters) {
      this.number = number;
      this.waiters = waiters;
    }

    void hand(int node, List<LazyArea> list) {
      if (list.isEmpty()) return;
      handed.computeIfAbsent(node, k -> new ArrayList<>()).add(list);
      areas += list.size();
    }
  }

  private final ActorContext<Command> ctx;
  private final Geometry geometry;
  private final NodeDirectory nodes;
  private final long thresholdPages;
  private final int releaseBatch;
  private final int batchesInFlight;
  /**
   * Lazy pages the nodes of this JVM counted here instead of sending them ({@code vmap_lazy_nr}):
   * open while idle, flushing or releasing; {@link #lazyPages} is what came in messages or was taken
   * out of it. Without nodes sharing it, it stays empty.
   */
  private final LazyTally tally;
  /** Resend ticks so far (every resendAfter, on the scheduler's clock: ManualTime drives it in tests). */
  private long ticks;

  private final Set<ActorRef<Flush>> subscribers = new LinkedHashSet<>();
  private final List<PurgeSync> nextEpochWaiters = new ArrayList<>();
  private final List<ActorRef<Idle>> idleWaiters = new ArrayList<>();
  private long lazyPages;
  private long epoch;
  private long epochsRun;
  private long areasReleased;
  private long nextBatchId;

  private PurgeCoordinator(
      ActorContext<Command> ctx, Geometry geometry, NodeDirectory nodes, long thresholdPages, int releaseBatch,
      int batchesInFlight, LazyTally tally) {
    this.ctx = ctx;
    this.tally = tally;
    this.geometry = geometry;
    this.nodes = nodes;
    this.thresholdPages = thresholdPages;
    this.releaseBatch = releaseBatch;
    this.batchesInFlight = batchesInFlight;
  }

  // =================================================================== phases

  /**
   * Re-drives what a crashed predecessor left: every node reports its unpurged pages and the areas
   * an epoch spliced but never released; those are flushed again (flush is idempotent) and only then
   * released.
   */
  private Behavior<Command> recovering() {
    // A predecessor's tally (a restart in this JVM): every unpurged page is in the reports below.
    tally.close();
    Set<Integer> reported = new HashSet<>();
    Epoch redriven = new Epoch(0, new ArrayList<>());
    long[] recoveredEpoch = {0};
    long[] sentAt = {ticks};
    for (int k = 0; k < nodes.size(); k++) nodes.node(k).tell(new PurgeProtocol.ReportUnreleased(ctx.getSelf()));
    return phase("recovering", null, Behaviors.receive(Command.class)
        .onMessage(LazyFreed.class, m -> {
          // A node's frees before its report are counted in the report.
          if (reported.contains(m.node())) lazyPages += m.pages();
          return Behaviors.same();
        })
        .onMessage(Unreleased.class, m -> {
          if (!reported.add(m.node())) return Behaviors.same();
          lazyPages += m.unpurgedPages();
          recoveredEpoch[0] = Math.max(recoveredEpoch[0], m.spliceEpoch());
          redriven.hand(m.node(), m.purging());
          if (reported.size() < nodes.size()) return Behaviors.same();
          epoch = Math.max(epoch, recoveredEpoch[0]);
          if (redriven.areas == 0) return afterEpoch();
          ctx.getLog().info("re-driving {} areas left unreleased by an interrupted purge", redriven.areas);
          Epoch e = new Epoch(++epoch, new ArrayList<>());
          redriven.handed.forEach((k, lists) -> lists.forEach(l -> e.hand(k, l)));
          return flushing(e);
        })
        .onMessage(ResendTick.class, t -> {
          if (!due(sentAt[0])) return Behaviors.same();
          sentAt[0] = ticks;
          for (int k = 0; k < nodes.size(); k++) {
            if (!reported.contains(k)) nodes.node(k).tell(new PurgeProtocol.ReportUnreleased(ctx.getSelf()));
          }
          return Behaviors.same();
        }));
  }

  private Behavior<Command> idle() {
    // Open before telling the waiters: a caller that saw Idle and frees at once counts in the tally.
    tally.open(thresholdPages - lazyPages);
    for (ActorRef<Idle> w : idleWaiters) w.tell(new Idle(epoch));
    idleWaiters.clear();
    return phase("idle", null, Behaviors.receive(Command.class)
        .onMessage(LazyFreed.class, m -> {
          // From a node elsewhere, or one of this JVM's whose tally addition went over the headroom
          // (no pages then). The headroom is written before the tally is read (LazyTally).
          lazyPages += m.pages();
          tally.headroom(thresholdPages - lazyPages);
          return lazyPages + tally.pending() > thresholdPages ? startEpoch(new ArrayList<>()) : Behaviors.same();
        })
        .onMessage(PurgeSync.class, m -> {
          List<PurgeSync> w = new ArrayList<>();
          w.add(m);
          return startEpoch(w);
        })
        .onMessage(AwaitIdle.class, m -> {
          m.replyTo().tell(new Idle(epoch));
          return Behaviors.same();
        }));
  }

  /** {@code llist_del_all()} on every node: each answers with the lazy list it handed over. */
  private Behavior<Command> startEpoch(List<PurgeSync> waiters) {
    // Frees counted in the tally came before every splice below; later ones come as messages, so
    // that each node's are told apart before and after its splice.
    lazyPages += tally.close();
    Epoch e = new Epoch(++epoch, waiters);
    e.sentAt = ticks;
    Set<Integer> pending = new HashSet<>();
    for (int k = 0; k < nodes.size(); k++) {
      pending.add(k);
      nodes.node(k).tell(new PurgeProtocol.SpliceLazy(e.number, ctx.getSelf()));
    }
    long[] freedSinceSplice = {0};
    return phase("splicing", null, Behaviors.receive(Command.class)
        .onMessage(LazyFreed.class, m -> {
          lazyPages += m.pages();
          if (!pending.contains(m.node())) freedSinceSplice[0] += m.pages();
          return Behaviors.same();
        })
        .onMessage(Spliced.class, m -> {
          // Only the first answer of each node counts: a resent splice is answered again.
          if (m.epoch() != e.number || !pending.remove(m.node())) return Behaviors.same();
          e.hand(m.node(), m.areas());
          if (!pending.isEmpty()) return Behaviors.same();
          if (e.areas == 0) {
            // Nothing was lazy anywhere at the splice, so only frees after it count. (Equal to the
            // count kept so far unless LazyFreed messages were lost or repeated; then purging
            // nothing over and over, or never, is avoided.)
            lazyPages = freedSinceSplice[0];
            return finishEpoch(e);
          }
          return flushing(e);
        })
        .onMessage(ResendTick.class, t -> {
          if (!due(e.sentAt)) return Behaviors.same();
          e.sentAt = ticks;
          for (int k : pending) nodes.node(k).tell(new PurgeProtocol.SpliceLazy(e.number, ctx.getSelf()));
          return Behaviors.same();
        }));
  }

  /** {@code flush_tlb_kernel_range()}: every subscriber drops its translations of the spliced areas. */
  private Behavior<Command> flushing(Epoch e) {
    // Frees from now on only add to the count (no threshold purge while an epoch runs).
    tally.open(Long.MAX_VALUE);
    if (subscribers.isEmpty()) return releasing(e);
    // One pass, no sort: a big epoch's flush costs the coordinator O(areas), not O(areas log areas).
    List<Area> ranges = new ArrayList<>(e.areas);
    for (List<List<LazyArea>> lists : e.handed.values()) {
      for (List<LazyArea> list : lists) for (LazyArea la : list) ranges.add(la.area());
    }
    Flush flush = new Flush(e.number, ranges, ctx.getSelf().narrow());
    Map<ActorRef<Flush>, Instant> acksPending = new LinkedHashMap<>();
    Instant now = Instant.now();
    e.sentAt = ticks;
    for (ActorRef<Flush> s : subscribers) {
      acksPending.put(s, now);
      s.tell(flush);
    }
    return phase("flushing", acksPending, Behaviors.receive(Command.class)
        .onMessage(LazyFreed.class, m -> counted(m))
        .onMessage(FlushAck.class, m -> {
          // Acks for other epochs are stale duplicates: flush is idempotent, only this epoch's count.
          if (m.epoch() != e.number) return Behaviors.same();
          acksPending.remove(m.subscriber());
          return acksPending.isEmpty() ? releasing(e) : Behaviors.same();
        })
        .onMessage(Unsubscribe.class, m -> unsubscribedWhileFlushing(m.subscriber(), acksPending, e))
        .onMessage(SubscriberGone.class, m -> unsubscribedWhileFlushing(m.subscriber(), acksPending, e))
        .onMessage(ResendTick.class, t -> {
          if (!due(e.sentAt)) return Behaviors.same();
          e.sentAt = ticks;
          for (ActorRef<Flush> s : acksPending.keySet()) s.tell(flush);
          return Behaviors.same();
        }));
  }

  private Behavior<Command> unsubscribedWhileFlushing(ActorRef<Flush> s, Map<ActorRef<Flush>, Instant> acksPending, Epoch e) {
    dropSubscriber(s);
    return acksPending.remove(s) != null && acksPending.isEmpty() ? releasing(e) : Behaviors.same();
  }

  /** {@code merge_or_add_vmap_area()} on every owner, in bounded batches. */
  private Behavior<Command> releasing(Epoch e) {
    Releases releases = new Releases(e.number, e.handed, releaseBatch, batchesInFlight, nodes, ctx.getSelf(), nextBatchId, ticks);
    // Spliced areas with no pieces at all cannot exist; an epoch with nothing to release ends here.
    if (releases.done()) return finishEpoch(e, releases);
    return phase("releasing", null, Behaviors.receive(Command.class)
        .onMessage(LazyFreed.class, m -> counted(m))
        .onMessage(Released.class, m -> {
          if (m.epoch() != e.number || !releases.answered(m)) return Behaviors.same();
          lazyPages = Math.max(0, lazyPages - geometry.pagesOf(m.bytes()));
          e.released += m.areas();
          return releases.done() ? finishEpoch(e, releases) : Behaviors.same();
        })
        .onMessage(ResendTick.class, t -> {
          ticks++;
          releases.resendDue(ticks);
          return Behaviors.same();
        }));
  }

  private Behavior<Command> finishEpoch(Epoch e, Releases releases) {
    nextBatchId = releases.nextBatchId();
    return finishEpoch(e);
  }

  private Behavior<Command> finishEpoch(Epoch e) {
    epochsRun++;
    areasReleased += e.released;
    for (PurgeSync w : e.waiters) w.replyTo().tell(new PurgeDone(e.number, e.released, w.tag()));
    return afterEpoch();
  }

  /** The next epoch if one is owed (waiting purges, or still over the threshold), else idle. */
  private Behavior<Command> afterEpoch() {
    lazyPages += tally.close();
    if (!nextEpochWaiters.isEmpty()) {
      List<PurgeSync> w = new ArrayList<>(nextEpochWaiters);
      nextEpochWaiters.clear();
      return startEpoch(w);
    }
    if (lazyPages > thresholdPages) return startEpoch(new ArrayList<>());
    return idle();
  }

  // =================================================================== every phase

  /**
   * A phase's behavior: its own handlers first, then what every phase shares (subscriptions,
   * status, and, while an epoch runs, synchronous purges and idle waits queued for later); anything
   * else is a late or repeated answer of another phase and is ignored.
   *
   * @param holders subscribers the running epoch waits for, or null outside flushing
   */
  private Behavior<Command> phase(String name, Map<ActorRef<Flush>, Instant> holders, BehaviorBuilder<Command> own) {
    return own
        .onMessage(Subscribe.class, m -> {
          if (subscribers.add(m.subscriber())) ctx.watchWith(m.subscriber(), new SubscriberGone(m.subscriber()));
          if (m.replyTo() != null) m.replyTo().tell(new Subscribed(m.subscriber()));
          return Behaviors.same();
        })
        .onMessage(Unsubscribe.class, m -> {
          dropSubscriber(m.subscriber());
          return Behaviors.same();
        })
        .onMessage(SubscriberGone.class, m -> {
          dropSubscriber(m.subscriber());
          return Behaviors.same();
        })
        .onMessage(GetStatus.class, m -> {
          List<Holder> h = new ArrayList<>();
          if (holders != null) {
            for (Map.Entry<ActorRef<Flush>, Instant> e : holders.entrySet()) {
              h.add(new Holder(e.getKey().path().toString(), epoch, e.getValue()));
            }
          }
          m.replyTo().tell(new Status(epoch, name, lazyPages + tally.pending(), thresholdPages, subscribers.size(), h, epochsRun,
              areasReleased));
          return Behaviors.same();
        })
        .onMessage(PurgeSync.class, m -> {
          // Never fail because someone else is purging: wait for that epoch, then purge what is left.
          nextEpochWaiters.add(m);
          return Behaviors.same();
        })
        .onMessage(AwaitIdle.class, m -> {
          idleWaiters.add(m.replyTo());
          return Behaviors.same();
        })
        .onAnyMessage(m -> Behaviors.same())
        // Stopped or restarted: this JVM's nodes go back to messages, which a successor counts.
        .onSignal(PostStop.class, sig -> closed())
        .onSignal(PreRestart.class, sig -> closed())
        .build();
  }

  /**
   * Counts a resend tick; whether requests sent at tick {@code sentAt} are due again: at the second
   * tick after they were sent, so at least {@code resendAfter} and less than twice that later.
   */
  private boolean due(long sentAt) {
    ticks++;
    return ticks - sentAt >= 2;
  }

  private Behavior<Command> closed() {
    tally.close();
    return Behaviors.same();
  }

  private Behavior<Command> counted(LazyFreed m) {
    lazyPages += m.pages();
    return Behaviors.same();
  }

  private void dropSubscriber(ActorRef<Flush> s) {
    if (subscribers.remove(s)) ctx.unwatch(s);
  }
}
