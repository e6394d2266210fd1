package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.LazyTally;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.QuotaProtocol;
import io.vmap.protocol.ReadIndexes;
import io.vmap.space.Geometry;
import io.vmap.state.NodeState;
import io.vmap.state.ReadIndex;

/**
 * One vmap node (the kernel's {@code struct vmap_node}): alone owns its busy tree, its free shard
 * and its lazy list ({@link NodeState}), so its mailbox is the lock. This class is the receive
 * table; each concern is a collaborator that shares the node's {@link NodeContext}:
 *
 * <ul>
 *   <li>{@link HomeAllocations}: allocations homed here (home fit, neighbour walk, spanning, purge
 *       wait); {@link NeighbourAttempts}: this node as a neighbour in another home's walk;
 *   <li>{@link Lookups}: frees and finds; {@link Inspection}: info and the books for an fsck;
 *   <li>{@link SpanParticipant}: reservations and commits of spanning areas;
 *       {@link Placements}: confirming areas placed for other homes' requests;
 *   <li>{@link PurgeParticipant}: splice and release of purge epochs;
 *   <li>{@link Durability}: effects held until the events before them are stored ({@link
 *       GroupCommit} with the {@link NodeJournal} child when durable); {@link io.vmap.state.ClientAnswers}
 *       (in the state): first answers for retries.
 * </ul>
 */
public final class VmapNode extends AbstractBehavior<NodeMessage> {

  /**
   * A node that waits for {@link NodeMessage.Attach} (one JVM, where peers exist only after
   * spawning), stashing anything earlier.
   *
   * @param persistenceId null for a volatile node, else the journal's persistence id
   * @param tally where it counts its lazy pages, shared with the coordinator of this JVM (null:
   *     messages only)
   */
  public static Behavior<NodeMessage> create(int node, Geometry geometry, NodeSettings settings, String persistenceId,
      ReadIndexes indexes, LazyTally tally) {
    return Behaviors.withStash(
        settings.stashCapacity(),
        stash ->
            Behaviors.receive(NodeMessage.class)
                .onMessage(NodeMessage.Attach.class,
                    a -> stash.unstashAll(
                        create(node, geometry, settings, a.peers(), a.coordinator(), persistenceId, indexes, tally)))
                .onAnyMessage(m -> {
                  stash.stash(m);
                  return Behaviors.same();
                })
                .build());
  }

  /**
   * A node that knows its peers and the purge coordinator from the start (cluster mode). A durable
   * node (non-null {@code persistenceId}) serves nothing until its journal has recovered its state:
   * the recovery barrier.
   *
   * @param indexes where the node publishes its read index while it serves
   * @param tally where it counts its lazy pages while the coordinator of this JVM has it open (null:
   *     messages only)
   */
  public static Behavior<NodeMessage> create(
      int node,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      ActorRef<PurgeProtocol.Command> coordinator,
      String persistenceId,
      ReadIndexes indexes,
      LazyTally tally) {
    if (persistenceId == null) {
      return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
        NodeState state = new NodeState(node, geometry, settings.memory());
        return new VmapNode(ctx, timers, node, geometry, settings, peers, coordinator, state, null, indexes, state, tally);
      }));
    }
    return Behaviors.setup(ctx -> Behaviors.withStash(settings.stashCapacity(), stash -> {
      ActorRef<NodeJournal.Recovered> recovered =
          ctx.messageAdapter(NodeJournal.Recovered.class, r -> new Internal.JournalRecovered(r.state(), r.stored()));
      ActorRef<NodeJournal.Command> journal = ctx.spawn(
          NodeJournal.create(persistenceId, node, geometry, settings.memory(), settings.snapshotEvery(), recovered),
          "journal");
      ctx.watchWith(journal, Internal.JournalStopped.INSTANCE);
      return Behaviors.receive(NodeMessage.class)
          .onMessage(Internal.JournalRecovered.class,
              r -> stash.unstashAll(Behaviors.withTimers(timers ->
                  new VmapNode(ctx, timers, node, geometry, settings, peers, coordinator, r.state(), journal, indexes,
                      r.stored(), tally))))
          .onMessage(Internal.JournalStopped.class, s -> Behaviors.stopped())
          .onAnyMessage(m -> {
            stash.stash(m);
            return Behaviors.same();
          })
          .build();
    }));
  }

  private final NodeContext c;
  /** Null for a volatile node. */
  private final GroupCommit groupCommit;
  private final HomeAllocations home;
  private final NeighbourAttempts neighbours;
  private final Lookups lookups;
  private final Inspection inspection;
  private final SpanParticipant spans;
  private final Placements placements;
  private final PurgeParticipant purge;
  private final QuotaGate quotas;
  private final ReadIndexes indexes;
  /** What this node publishes in {@link #indexes}: its state, or the journal's replica when durable. */
  private final ReadIndex index;
  /** vmap.limits: a batch from another process is checked against them (BatchLimits). */
  private final io.vmap.protocol.Limits limits;
  /** The actor's logger with its MDC, made only when something is logged (see BatchLimits.admit). */
  private final java.util.function.Supplier<org.slf4j.Logger> actorLog = () -> getContext().getLog();

  private VmapNode(
      ActorContext<NodeMessage> ctx,
      TimerScheduler<NodeMessage> timers,
      int node,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      ActorRef<PurgeProtocol.Command> coordinator,
      NodeState state,
      ActorRef<NodeJournal.Command> journal,
      ReadIndexes indexes,
      ReadIndex index,
      LazyTally tally) {
    super(ctx);
    this.limits = io.vmap.protocol.Limits.from(ctx.getSystem().settings().config());
    this.indexes = indexes;
    this.index = index;
    if (journal == null) {
      groupCommit = null;
    } else {
      ActorRef<NodeJournal.Persisted> persisted =
          ctx.messageAdapter(NodeJournal.Persisted.class, p -> new Internal.BatchPersisted(p.batchId()));
      groupCommit = new GroupCommit(journal, persisted, ctx.getSelf(), settings.maxBatchEvents());
      state.onApplied(groupCommit::record);
    }
    c = new NodeContext(node, geometry, settings, state, groupCommit == null ? Durability.IMMEDIATE : groupCommit,
        peers, coordinator, timers, ctx.getLog(), ctx.getSelf(),
        ctx.messageAdapter(PeerProtocol.AttemptReply.class, Internal.AttemptAnswered::new),
        ctx.messageAdapter(PeerProtocol.AddressChecked.class, Internal.AddressCheckAnswered::new),
        ctx.messageAdapter(PurgeProtocol.PurgeDone.class, d -> new Internal.PurgeAnswered(d.tag(), d)),
        ctx::spawnAnonymous, io.vmap.protocol.LocalReplies.get(ctx.getSystem()), tally);
    placements = new Placements(c);
    quotas = new QuotaGate(c);
    home = new HomeAllocations(c, quotas);
    quotas.answeringTo(home);
    placements.answeringFor(home);
    neighbours = new NeighbourAttempts(c, placements);
    lookups = new Lookups(c);
    spans = new SpanParticipant(c, placements);
    purge = new PurgeParticipant(c, spans);
    inspection = new Inspection(c, spans);
    if (journal != null) placements.confirmAgainAfterRecovery();
    if (indexes != null) indexes.publish(node, index);
  }

  /**
   * Every handler answers {@code Behaviors.same()}, never {@code this}: under the timers'
   * interceptor a returned {@code this} counts as a new behavior, which Akka wraps in a new
   * interceptor, after a walk of the behavior stack, for every message (BENCHMARKS.md "Same, not
   * this").
   */
  @Override
  public Receive<NodeMessage> createReceive() {
    return newReceiveBuilder()
        // clients
        .onMessage(ClientProtocol.Batch.class, this::onBatch)
        .onMessage(ClientProtocol.GetTenants.class, m -> {
          inspection.onGetTenants(m);
          return Behaviors.same();
        })
        .onMessage(ClientProtocol.GetInfo.class, m -> {
          inspection.onGetInfo(m);
          return Behaviors.same();
        })
        .onMessage(ClientProtocol.Inspect.class, m -> {
          inspection.onInspect(m);
          return Behaviors.same();
        })
        // peers
        .onMessage(PeerProtocol.AllocHere.class, m -> {
          neighbours.onAllocHere(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.FindHere.class, m -> {
          lookups.onFindHere(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.CheckAddress.class, m -> {
          lookups.onCheckAddress(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.GetEdgeRuns.class, m -> {
          spans.onGetEdgeRuns(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.Reserve.class, m -> {
          spans.onReserve(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.CommitArea.class, m -> {
          spans.onCommitArea(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.CommitPart.class, m -> {
          spans.onCommitPart(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.CancelReservation.class, m -> {
          spans.onCancel(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.ResolveReservation.class, m -> {
          spans.onResolve(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.Resolution.class, m -> {
          spans.onResolution(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.PlacementQuery.class, m -> {
          placements.onQuery(m);
          return Behaviors.same();
        })
        .onMessage(PeerProtocol.PlacementAnswer.class, m -> {
          placements.onAnswer(m);
          return Behaviors.same();
        })
        // the purge coordinator
        .onMessage(PurgeProtocol.SpliceLazy.class, m -> {
          purge.onSplice(m);
          return Behaviors.same();
        })
        .onMessage(PurgeProtocol.ReleasePieces.class, m -> {
          purge.onRelease(m);
          return Behaviors.same();
        })
        .onMessage(PurgeProtocol.ReportUnreleased.class, m -> {
          purge.onReportUnreleased(m);
          return Behaviors.same();
        })
        // this node's own timers and answers
        .onMessage(Internal.AttemptAnswered.class, m -> {
          home.onAttemptAnswered(m);
          return Behaviors.same();
        })
        .onMessage(Internal.AttemptTimedOut.class, m -> {
          home.onAttemptTimedOut(m);
          return Behaviors.same();
        })
        .onMessage(Internal.SpanAnswer.class, m -> {
          home.onSpanAnswer(m);
          return Behaviors.same();
        })
        .onMessage(Internal.PurgeAnswered.class, m -> {
          if (QuotaGate.isQuotaPurge(m.tag())) quotas.onPurgeAnswered(m);
          else home.onPurgeAnswered(m);
          return Behaviors.same();
        })
        // tenant quotas
        .onMessage(QuotaProtocol.Admit.class, m -> {
          quotas.onAdmit(m);
          return Behaviors.same();
        })
        .onMessage(QuotaProtocol.Admitted.class, m -> {
          quotas.onAdmitted(m);
          return Behaviors.same();
        })
        .onMessage(QuotaProtocol.Settle.class, m -> {
          quotas.onSettle(m);
          return Behaviors.same();
        })
        .onMessage(QuotaProtocol.UsageQuery.class, m -> {
          quotas.onUsageQuery(m);
          return Behaviors.same();
        })
        .onMessage(QuotaProtocol.UsageReport.class, m -> {
          quotas.onReport(m);
          return Behaviors.same();
        })
        .onMessage(QuotaGate.Timer.class, m -> {
          quotas.onTimer(m);
          return Behaviors.same();
        })
        .onMessage(Internal.AddressCheckAnswered.class, m -> {
          lookups.onAddressChecked(m);
          return Behaviors.same();
        })
        .onMessage(Internal.AddressCheckTimedOut.class, m -> {
          lookups.onAddressCheckTimedOut(m);
          return Behaviors.same();
        })
        .onMessage(Internal.LeaseExpired.class, m -> {
          spans.onLeaseExpired(m);
          return Behaviors.same();
        })
        .onMessage(Internal.VerifyPlacement.class, m -> {
          placements.onVerify(m);
          return Behaviors.same();
        })
        .onMessage(Internal.FlushBatch.class, m -> {
          groupCommit.onFlushBatch();
          return Behaviors.same();
        })
        .onMessage(Internal.BatchPersisted.class, m -> {
          groupCommit.onPersisted(m);
          return Behaviors.same();
        })
        .onMessage(Internal.JournalStopped.class, m -> onJournalStopped())
        // lifecycle
        .onMessage(NodeMessage.Attach.class, m -> this)
        .onMessage(NodeMessage.Wake.class, m -> this)
        .onSignal(PostStop.class, s -> {
          if (indexes != null) indexes.withdraw(c.node, index);
          return Behaviors.same();
        })
        .build();
  }

  /** Every request of a client's batch in order, answered in one reply (DESIGN.md "Batches"). */
  private Behavior<NodeMessage> onBatch(ClientProtocol.Batch b) {
    if (!BatchLimits.admit(b, limits, actorLog)) return Behaviors.same();
    c.responses.begin(b);
    for (ClientProtocol.Request r : b.requests()) {
      if (r == null || r.key() == null) continue; // no key to answer under (BatchLimits logged it)
      String refused = BatchLimits.refusal(r, limits);
      if (refused != null) {
        c.responses.now(new ClientProtocol.Failed(r.key(), io.vmap.state.ErrorCode.EINVAL, refused));
      } else if (r instanceof ClientProtocol.AllocRequest a) {
        home.onAlloc(a, b.replyTo());
      } else if (r instanceof ClientProtocol.FreeRequest f) {
        lookups.onFree(f, b.replyTo());
      } else {
        lookups.onFind((ClientProtocol.FindRequest) r, b.replyTo());
      }
    }
    // The coordinator hears of the frees before the client hears of them: a purge the client then
    // waits for (or asks the status of) counts them.
    c.endTurn();
    c.responses.end();
    // After the answers: a floor stored alone must not hold them back until its write.
    if (b.ackFloor() >= 0) c.state.apply(new io.vmap.state.NodeEvent.Acknowledged(b.session(), b.ackFloor()));
    return Behaviors.same();
  }

  /**
   * A journal write failed (the journal stops on a persist failure). Nothing after the last stored
   * batch may be acknowledged: every waiting request gets an error, and the node stops so that it
   * restarts from what was stored (sharding restarts it).
   */
  private Behavior<NodeMessage> onJournalStopped() {
    if (indexes != null) indexes.withdraw(c.node, index);
    int held = groupCommit.failAll();
    getContext().getLog().error("node {}: journal stopped (write failure?); failed {} waiting effects; restarting",
        c.node, held);
    home.failAll();
    return Behaviors.stopped();
  }
}
