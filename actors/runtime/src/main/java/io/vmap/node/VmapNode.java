package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.NoSerializationVerificationNeeded;
import akka.actor.typed.javadsl.TimerScheduler;
import io.vmap.protocol.AllocSpec;
import io.vmap.protocol.ErrorCode;
import io.vmap.protocol.LazyArea;
import io.vmap.protocol.Part;
import io.vmap.protocol.Policy;
import io.vmap.protocol.ReleasePiece;
import io.vmap.protocol.ZoneEdge;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.wire.WireMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One vmap node (the kernel's {@code struct vmap_node}): alone owns its busy tree, its free shard
 * and its lazy list, so its mailbox is the lock. It serves allocations homed on it (walking to
 * neighbour nodes and starting spanning allocations when its shard has no fit), frees and lookups
 * of addresses in its zones, and the purge and spanning messages of other actors.
 */
public final class VmapNode extends AbstractBehavior<VmapNode.Command> {

  // =================================================================== protocol

  /** Everything a vmap node accepts. */
  public interface Command extends WireMessage {}

  /** Allocate, with this node as home. Retrying with the same id returns the first answer. */
  public record Alloc(String requestId, AllocSpec spec, ActorRef<AllocReply> replyTo)
      implements Command {}

  /** Free the area starting at {@code addr} (lazily). Retrying with the same id returns the first answer. */
  public record Free(String requestId, long addr, ActorRef<FreeReply> replyTo) implements Command {}

  /** The busy area containing {@code addr}. */
  public record Find(long addr, ActorRef<FindReply> replyTo) implements Command {}

  /** This node's areas and counters, for {@code info}. */
  public record GetInfo(ActorRef<NodeInfo> replyTo) implements Command {}

  /** Answer to {@link Alloc}. */
  public sealed interface AllocReply extends WireMessage permits Allocated, AllocFailed {
    String requestId();
  }

  /** @param node the node whose busy tree holds the area ({@code nodeOf(area.start)}) */
  public record Allocated(String requestId, Area area, int node) implements AllocReply {}

  public record AllocFailed(String requestId, ErrorCode code, String reason) implements AllocReply {}

  /** Answer to {@link Free}. */
  public sealed interface FreeReply extends WireMessage permits Freed, FreeFailed {
    String requestId();
  }

  public record Freed(String requestId, Area area) implements FreeReply {}

  public record FreeFailed(String requestId, ErrorCode code, String reason) implements FreeReply {}

  /** Answer to {@link Find}: {@code area} is null when no busy area contains {@code addr}. */
  public record FindReply(long addr, Area area, int node) implements WireMessage {
    public boolean found() {
      return area != null;
    }
  }

  /** A node's view for {@code info}: busy and unpurged areas in no particular order. */
  public record NodeInfo(
      int node,
      List<Area> busy,
      List<LazyArea> lazy,
      long freeBytes,
      int freeBlocks,
      long largestFreeBlock,
      int reservations,
      long reservedBytes,
      int heldParts)
      implements WireMessage {}

  // ---- node to node: the neighbour walk and lookups of spanning areas

  /** Try this node's shard only; successes are remembered by {@code attemptId}. */
  public record AllocHere(String attemptId, AllocSpec spec, ActorRef<AllocReply> replyTo)
      implements Command {}

  /** Look {@code addr} up in this node's busy tree only. */
  public record FindHere(long addr, ActorRef<FindReply> replyTo) implements Command {}

  // ---- spanning allocation (see SpanningAllocator)

  public record GetEdgeRuns(long firstZone, long lastZone, ActorRef<EdgeRuns> replyTo)
      implements Command {}

  public record EdgeRuns(int node, List<ZoneEdge> edges) implements WireMessage {}

  /** Phase one: carve {@code myParts} out of the shard for at most {@code leaseMillis}. */
  public record Reserve(
      String reservationId,
      Area area,
      int startOwner,
      List<Part> myParts,
      List<Part> allParts,
      long leaseMillis,
      ActorRef<ReserveReply> replyTo)
      implements Command {}

  public record ReserveReply(String reservationId, int node, boolean ok, String reason)
      implements WireMessage {}

  /** Phase two on the start owner: the commit point. */
  public record CommitArea(String reservationId, ActorRef<CommitReply> replyTo) implements Command {}

  public record CommitReply(String reservationId, boolean committed) implements WireMessage {}

  /** Phase two on the other owners, sent only after the start owner committed. */
  public record CommitPart(String reservationId) implements Command {}

  /** Give a reservation's space back (the coordinator gave up). */
  public record CancelReservation(String reservationId) implements Command {}

  /** A part owner whose lease ran out asks the start owner what was decided. */
  public record ResolveReservation(String reservationId, int asker) implements Command {}

  public record Resolution(String reservationId, NodeState.Decision decision) implements Command {}

  // ---- purge

  /** Hand the lazy list to purge {@code epoch} ({@code llist_del_all}). */
  public record SpliceLazy(long epoch, ActorRef<PurgeCoordinator.Command> replyTo)
      implements Command {}

  /**
   * Merge flushed pieces back into the free shard; one bounded batch. Idempotent: pieces released
   * already are skipped. The answer echoes {@code batch} so that the coordinator, which resends a
   * batch until it is answered, can tell a late or duplicate answer from the current batch's.
   *
   * @param areas the area each piece belongs to (same order), or empty: a piece is released only
   *     if what lies there now is that area's, so a late copy never frees a newer area's space
   */
  public record ReleasePieces(
      long epoch, List<ReleasePiece> pieces, ActorRef<PurgeCoordinator.Command> replyTo, long batch,
      List<Area> areas)
      implements Command {
    /** A batch without an id (answered with batch -1) nor areas. */
    public ReleasePieces(long epoch, List<ReleasePiece> pieces, ActorRef<PurgeCoordinator.Command> replyTo) {
      this(epoch, pieces, replyTo, -1, List.of());
    }
  }

  // ---- placement confirmation (node to node)

  /**
   * A node that placed an area for another node's request (a neighbour's {@link AllocHere}, or
   * the start owner of a committed spanning area) asks the request's home, a lease later and then
   * every lease until answered, whether it kept that area. The home answers once what it answered
   * for the request is stored: kept (its answer is this area; or it has no answer at all, having
   * restarted since, and adopts the area as its answer so a retry finds it), or not kept (it
   * answered otherwise: the area was never given to anyone, and the placing node frees it). While
   * the request is still being placed it does not answer.
   */
  public record PlacementQuery(String requestId, String placementId, Area area, int asker) implements Command {}

  public record PlacementAnswer(String placementId, boolean kept) implements Command {}

  // ---- checking (vmap check)

  /** This node's books, for an fsck: free blocks, areas, parts, reservations and their ages. */
  public record Inspect(ActorRef<NodeReport> replyTo) implements Command {}

  /**
   * Answer to {@link Inspect}.
   *
   * @param freeStarts starts of the free shard's blocks, ascending; {@code freeEnds} their ends
   * @param spanning busy areas of this node that span zones, with every part (on any node)
   * @param unpurged lazily freed areas of this node not released yet, with their parts
   * @param held pieces of other nodes' spanning areas that lie in this node's zones
   */
  public record NodeReport(
      int node,
      long[] freeStarts,
      long[] freeEnds,
      List<Area> busy,
      List<LazyArea> spanning,
      List<LazyArea> unpurged,
      List<NodeState.HeldPart> held,
      List<ReservationAge> reservations)
      implements WireMessage {}

  /** A spanning reservation held by the inspected node, how long ago it was made and its lease. */
  public record ReservationAge(
      String id, Area area, int startOwner, List<Part> myParts, long ageMillis, long leaseMillis)
      implements WireMessage {}

  // ---- local wiring

  /** A (new) purge coordinator asks for what an interrupted epoch left: spliced, never released. */
  public record ReportUnreleased(ActorRef<PurgeCoordinator.Command> replyTo) implements Command {}

  /**
   * Does nothing: sent by every member at start so that each of the fixed set of sharded nodes is
   * started (and, if durable, recovered) before the first request needs it.
   */
  public record Wake() implements Command {}

  /** First message of a node created by {@link #create(int, Geometry, NodeSettings, String)}. */
  public record Attach(NodeDirectory peers, ActorRef<PurgeCoordinator.Command> coordinator)
      implements Command, NoSerializationVerificationNeeded {}

  // ---- internal (local only: never serialized)

  private interface Internal extends Command, NoSerializationVerificationNeeded {}

  private record LeaseExpired(String reservationId) implements Internal {}

  private record VerifyPlacement(String placementId) implements Internal {}

  private record WalkAnswer(String requestId, AllocReply reply) implements Internal {}

  private record SpanAnswer(String requestId, Area area, String reason) implements Internal {}

  private record PurgeAnswer(String requestId) implements Internal {}

  private record FreeCheckAnswer(String requestId, long addr, Area covering) implements Internal {}

  private enum FlushBatch implements Internal { INSTANCE }

  private record BatchPersisted(long batchId) implements Internal {}

  private record JournalRecovered(NodeState state) implements Internal {}

  private enum JournalStopped implements Internal { INSTANCE }

  // =================================================================== creation

  /**
   * A node that waits for {@link Attach} (local mode, where peers exist only after spawning).
   *
   * @param persistenceId null for a volatile node, else the journal's persistence id
   */
  public static Behavior<Command> create(
      int node, Geometry geometry, NodeSettings settings, String persistenceId) {
    return Behaviors.withStash(
        settings.stashCapacity(),
        stash ->
            Behaviors.receive(Command.class)
                .onMessage(
                    Attach.class,
                    a -> stash.unstashAll(create(node, geometry, settings, a.peers(), a.coordinator(), persistenceId)))
                .onAnyMessage(
                    m -> {
                      stash.stash(m);
                      return Behaviors.same();
                    })
                .build());
  }

  /**
   * A node that knows its peers and the purge coordinator from the start (cluster mode). A durable
   * node (non-null {@code persistenceId}) serves nothing until its journal has recovered its state.
   */
  public static Behavior<Command> create(
      int node,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      ActorRef<PurgeCoordinator.Command> coordinator,
      String persistenceId) {
    if (persistenceId == null) {
      return Behaviors.setup(
          ctx ->
              Behaviors.withTimers(
                  timers ->
                      new VmapNode(ctx, timers, node, geometry, settings, peers, coordinator,
                          new NodeState(node, geometry, settings.decisionCapacity()), null)));
    }
    return Behaviors.setup(
        ctx ->
            Behaviors.withStash(
                settings.stashCapacity(),
                stash -> {
                  ActorRef<NodeJournal.Recovered> recovered =
                      ctx.messageAdapter(NodeJournal.Recovered.class, r -> new JournalRecovered(r.state()));
                  ActorRef<NodeJournal.Command> journal =
                      ctx.spawn(
                          NodeJournal.create(persistenceId, node, geometry, settings.decisionCapacity(),
                              settings.snapshotEvery(), recovered),
                          "journal");
                  ctx.watchWith(journal, JournalStopped.INSTANCE);
                  // Recovery barrier: nothing is served until busy, lazy and purging are back.
                  return Behaviors.receive(Command.class)
                      .onMessage(
                          JournalRecovered.class,
                          r ->
                              stash.unstashAll(
                                  Behaviors.withTimers(
                                      timers ->
                                          new VmapNode(ctx, timers, node, geometry, settings, peers,
                                              coordinator, r.state(), journal))))
                      .onMessage(JournalStopped.class, s -> Behaviors.stopped())
                      .onAnyMessage(
                          m -> {
                            stash.stash(m);
                            return Behaviors.same();
                          })
                      .build();
                }));
  }

  // =================================================================== state

  /** An allocation homed here that is still walking, spanning or waiting for a purge. */
  private static final class InFlight {
    final AllocSpec spec;
    final List<ActorRef<AllocReply>> waiters = new ArrayList<>();
    /** 0 before the synchronous purge, 1 after (the one retry). */
    int pass;
    /** Offset from home of the node asked last in the walk. */
    int walked;

    InFlight(AllocSpec spec, ActorRef<AllocReply> first) {
      this.spec = spec;
      waiters.add(first);
    }
  }

  /**
   * An effect held back until the first {@code mark} events this node emitted are stored;
   * {@code onFailure} if they never are.
   */
  private record Effect(long mark, Runnable onSuccess, Runnable onFailure) {}

  private final TimerScheduler<Command> timers;
  private final int node;
  private final Geometry geometry;
  private final NodeSettings settings;
  private final NodeDirectory peers;
  private final ActorRef<PurgeCoordinator.Command> coordinator;
  private final NodeState state;
  /** Null for a volatile node: effects then happen at once. */
  private final ActorRef<NodeJournal.Command> journal;
  private final ActorRef<NodeJournal.Persisted> persistedAdapter;
  /** Answers that are not state (errors, placements by other nodes), by request id; bounded. */
  private final LinkedHashMap<String, WireMessage> answered;
  private final Map<String, InFlight> inFlight = new HashMap<>();
  private final Map<String, ActorRef<FreeReply>> inFlightFrees = new HashMap<>();
  /** When each reservation was made here (System.nanoTime) and its lease in ms, for {@link Inspect}. */
  private final Map<String, long[]> reservedAt = new HashMap<>();
  private final long startedNanos = System.nanoTime();
  /** An area this node placed for another home's request, not yet confirmed by that home. */
  private record Provisional(String requestId, int home, Area area) {}

  /** By placement id (an AllocHere attempt id or a spanning reservation id). */
  private final Map<String, Provisional> provisional = new HashMap<>();

  private static final String PLACED = "placed:";

  /** The epoch of the last release batch, and every piece released in it (a repeat is skipped). */
  private long releaseEpoch = -1;
  private final java.util.Set<ReleasePiece> releasedInEpoch = new java.util.HashSet<>();

  // group commit: events emitted and not yet sent, effects waiting for events to be stored
  private final Deque<NodeEvent> unsent = new ArrayDeque<>();
  private final Deque<Effect> waiting = new ArrayDeque<>();
  private long emitted;
  private long stored;
  /** Id of the one batch in flight, or -1. */
  private long batchInFlight = -1;
  private long batchEnd;
  private long nextBatchId;
  private boolean flushScheduled;

  private VmapNode(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      int node,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      ActorRef<PurgeCoordinator.Command> coordinator,
      NodeState state,
      ActorRef<NodeJournal.Command> journal) {
    super(ctx);
    this.timers = timers;
    this.node = node;
    this.geometry = geometry;
    this.settings = settings;
    this.peers = peers;
    this.coordinator = coordinator;
    this.state = state;
    this.journal = journal;
    if (state.reservationCount() > 0) {
      // Reservations recovered from the journal: their lease timers died with the previous
      // incarnation. Arm them again (a full lease from now), or they would hold space for good;
      // their age counts from this incarnation's start.
      for (NodeState.Reservation r : state.snapshot().reservations()) {
        reservedAt.put(r.id(), new long[] {startedNanos, settings.lease().toMillis()});
        timers.startSingleTimer(r.id(), new LeaseExpired(r.id()), settings.lease());
      }
    }
    if (journal != null) rebuildProvisional();
    this.persistedAdapter =
        journal == null ? null : ctx.messageAdapter(NodeJournal.Persisted.class, p -> new BatchPersisted(p.batchId()));
    int cap = settings.dedupCapacity();
    this.answered =
        new LinkedHashMap<>(16, 0.75f, false) {
          private static final long serialVersionUID = 1L;

          @Override
          protected boolean removeEldestEntry(Map.Entry<String, WireMessage> eldest) {
            return size() > cap;
          }
        };
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Alloc.class, this::onAlloc)
        .onMessage(Free.class, this::onFree)
        .onMessage(Find.class, this::onFind)
        .onMessage(GetInfo.class, this::onGetInfo)
        .onMessage(Inspect.class, this::onInspect)
        .onMessage(AllocHere.class, this::onAllocHere)
        .onMessage(FindHere.class, this::onFindHere)
        .onMessage(GetEdgeRuns.class, this::onGetEdgeRuns)
        .onMessage(Reserve.class, this::onReserve)
        .onMessage(CommitArea.class, this::onCommitArea)
        .onMessage(CommitPart.class, this::onCommitPart)
        .onMessage(CancelReservation.class, this::onCancel)
        .onMessage(ResolveReservation.class, this::onResolve)
        .onMessage(Resolution.class, this::onResolution)
        .onMessage(LeaseExpired.class, this::onLeaseExpired)
        .onMessage(PlacementQuery.class, this::onPlacementQuery)
        .onMessage(PlacementAnswer.class, this::onPlacementAnswer)
        .onMessage(VerifyPlacement.class, this::onVerifyPlacement)
        .onMessage(SpliceLazy.class, this::onSplice)
        .onMessage(ReleasePieces.class, this::onRelease)
        .onMessage(ReportUnreleased.class, this::onReportUnreleased)
        .onMessage(WalkAnswer.class, this::onWalkAnswer)
        .onMessage(SpanAnswer.class, this::onSpanAnswer)
        .onMessage(PurgeAnswer.class, this::onPurgeAnswer)
        .onMessage(FreeCheckAnswer.class, this::onFreeCheckAnswer)
        .onMessage(FlushBatch.class, m -> onFlushBatch())
        .onMessage(BatchPersisted.class, this::onBatchPersisted)
        .onMessage(JournalStopped.class, m -> onJournalStopped())
        .onMessage(Attach.class, a -> this)
        .onMessage(Wake.class, w -> this)
        .build();
  }

  // =================================================================== group commit

  /** Applies a transition now; a durable node also queues it for the next journal batch. */
  private Object emit(NodeEvent event) {
    Object result = state.apply(event);
    if (journal != null) {
      unsent.add(event);
      emitted++;
      scheduleFlush();
    }
    return result;
  }

  /** Runs {@code effect} once every event emitted so far is stored (at once for a volatile node). */
  private void afterPersist(Runnable effect) {
    afterPersist(effect, () -> {});
  }

  private void afterPersist(Runnable effect, Runnable onFailure) {
    if (journal == null || stored == emitted) {
      effect.run();
      return;
    }
    waiting.add(new Effect(emitted, effect, onFailure));
  }

  private void scheduleFlush() {
    // A message to self, not a write now: everything already in the mailbox joins this batch.
    if (!flushScheduled) {
      flushScheduled = true;
      getContext().getSelf().tell(FlushBatch.INSTANCE);
    }
  }

  private Behavior<Command> onFlushBatch() {
    flushScheduled = false;
    if (batchInFlight < 0) sendBatch();
    return this;
  }

  /** One journal write at a time; whatever was emitted meanwhile goes in the next. */
  private void sendBatch() {
    if (unsent.isEmpty()) return;
    int n = Math.min(unsent.size(), settings.maxBatchEvents());
    List<NodeEvent> events = new ArrayList<>(n);
    for (int i = 0; i < n; i++) events.add(unsent.poll());
    batchInFlight = nextBatchId++;
    batchEnd = stored + n;
    journal.tell(new NodeJournal.Persist(batchInFlight, events, persistedAdapter));
  }

  private Behavior<Command> onBatchPersisted(BatchPersisted m) {
    if (m.batchId() != batchInFlight) return this;
    batchInFlight = -1;
    stored = batchEnd;
    while (!waiting.isEmpty() && waiting.peek().mark() <= stored) waiting.poll().onSuccess().run();
    sendBatch();
    return this;
  }

  /**
   * A journal write failed (the journal stops on a persist failure). Nothing after the last stored
   * batch may be acknowledged: every waiting request gets an error, and the node stops so that it
   * restarts from what was stored (sharding restarts it).
   */
  private Behavior<Command> onJournalStopped() {
    getContext().getLog().error("node {}: journal stopped (write failure?); failing {} waiting effects and restarting",
        node, waiting.size());
    for (Effect e : waiting) e.onFailure().run();
    for (InFlight f : inFlight.values()) {
      for (ActorRef<AllocReply> w : f.waiters) {
        w.tell(new AllocFailed("", ErrorCode.ETIMEDOUT, "node " + node + " restarting after a journal failure; retry"));
      }
    }
    return Behaviors.stopped();
  }

  private static final String JOURNAL_FAILED = "journal write failed; nothing was stored: retry with the same request id";

  // =================================================================== allocation

  /** Free answers are remembered under this prefix: an alloc and a free may share an id. */
  private static final String FREE_KEY = "free:";

  /** The first answer to allocation request {@code id}, if remembered. */
  private WireMessage firstAnswer(String id) {
    WireMessage a = answered.get(id);
    if (a != null) return a;
    NodeState.Outcome o = state.allocOutcome(id);
    return o == null ? null : new Allocated(id, o.area(), geometry.nodeOf(o.area().start()));
  }

  /** The first answer to free request {@code id}, if remembered. */
  private WireMessage firstFreeAnswer(String id) {
    WireMessage a = answered.get(FREE_KEY + id);
    if (a != null) return a;
    NodeState.Outcome o = state.freeOutcome(id);
    return o == null ? null : new Freed(id, o.area());
  }

  private Behavior<Command> onAlloc(Alloc m) {
    if (firstAnswer(m.requestId()) instanceof AllocReply r) {
      afterPersist(() -> m.replyTo().tell(r));
      return this;
    }
    InFlight running = inFlight.get(m.requestId());
    if (running != null) {
      running.waiters.add(m.replyTo());
      return this;
    }
    AllocSpec spec;
    try {
      spec = validated(m.spec());
    } catch (RuntimeException e) {
      answer(m.requestId(), List.of(m.replyTo()), new AllocFailed(m.requestId(), ErrorCode.EINVAL, e.getMessage()));
      return this;
    }
    Area fit = state.findFit(spec);
    if (fit != null) {
      emit(new NodeEvent.AreaAllocated(fit, m.requestId()));
      replyAllocated(List.of(m.replyTo()), new Allocated(m.requestId(), fit, node));
      return this;
    }
    if (spec.policy() == Policy.FAIL_FAST) {
      answer(m.requestId(), List.of(m.replyTo()),
          new AllocFailed(m.requestId(), ErrorCode.EAGAIN, "no fit on home node " + node));
      return this;
    }
    InFlight f = new InFlight(spec, m.replyTo());
    inFlight.put(m.requestId(), f);
    walkOn(m.requestId(), f);
    return this;
  }

  /**
   * A spec from the wire, checked again: a request may come from another process, not through the
   * client, and a bad one must be an EINVAL answer, never a crash of the node.
   */
  private AllocSpec validated(AllocSpec s) {
    if (s == null) throw new AllocSpec.Invalid("no allocation spec");
    try {
      return AllocSpec.of(geometry, s.size(), s.align(), s.lo(), s.hi(), s.home(), s.tag(), s.policy());
    } catch (AllocSpec.Invalid e) {
      throw e;
    } catch (RuntimeException e) {
      throw new AllocSpec.Invalid("malformed request: " + e);
    }
  }

  /** Asks the next neighbour ({@code home+1, home+2, ...}), or moves on to spanning when all were asked. */
  private void walkOn(String requestId, InFlight f) {
    f.walked++;
    if (f.walked < geometry.nodes()) {
      askNeighbour(requestId, f);
      return;
    }
    if (geometry.nodes() > 1) {
      getContext()
          .spawnAnonymous(
              SpanningAllocator.create(
                  requestId, f.spec, geometry, settings, peers, node, getContext().getSelf(),
                  (area, reason) -> new SpanAnswer(requestId, area, reason)));
      return;
    }
    afterSpanning(requestId, f);
  }

  /**
   * Asks neighbour {@code home + walked} to allocate under attempt id {@code requestId/pass}. The
   * same attempt id is used for every ask of one neighbour in one pass, so a retry after a lost
   * answer gets the first answer (the neighbour remembers successes and failures by attempt id).
   */
  private void askNeighbour(String requestId, InFlight f) {
    int target = (node + f.walked) % geometry.nodes();
    // requestId/pass@home: the neighbour can tell, even after a restart, whom to ask whether the
    // area it places is kept (PlacementQuery).
    String attemptId = requestId + "/" + f.pass + "@" + node;
    getContext()
        .ask(
            AllocReply.class,
            peers.node(target),
            settings.askTimeout(),
            (ActorRef<AllocReply> ref) -> new AllocHere(attemptId, f.spec, ref),
            (reply, failure) ->
                new WalkAnswer(
                    requestId,
                    reply != null
                        ? reply
                        : new AllocFailed(requestId, ErrorCode.ETIMEDOUT, "node " + target + ": " + failure)));
  }

  private Behavior<Command> onWalkAnswer(WalkAnswer m) {
    InFlight f = inFlight.get(m.requestId());
    if (f == null) return this;
    if (m.reply() instanceof Allocated a) {
      placed(m.requestId(), a.area());
    } else if (m.reply() instanceof AllocFailed af && af.code() == ErrorCode.ETIMEDOUT) {
      // No answer (lost request or reply, or the neighbour's journal failed): the neighbour may
      // have allocated under this attempt id. Moving on would orphan that area, so ask the same
      // neighbour again with the same attempt id until it answers; its dedup returns the first
      // outcome.
      getContext().getLog().debug("request {}: no answer from node {}, asking again",
          m.requestId(), (node + f.walked) % geometry.nodes());
      askNeighbour(m.requestId(), f);
    } else {
      walkOn(m.requestId(), f);
    }
    return this;
  }

  private Behavior<Command> onSpanAnswer(SpanAnswer m) {
    InFlight f = inFlight.get(m.requestId());
    if (f == null) return this;
    if (m.area() != null) {
      placed(m.requestId(), m.area());
    } else {
      afterSpanning(m.requestId(), f);
    }
    return this;
  }

  /** Everything failed once: purge synchronously and retry once, or give up with ENOSPC. */
  private void afterSpanning(String requestId, InFlight f) {
    if (f.pass > 0) {
      InFlight done = inFlight.remove(requestId);
      answer(requestId, done.waiters,
          new AllocFailed(
              requestId,
              ErrorCode.ENOSPC,
              "no free range of " + f.spec.size() + " bytes aligned to " + f.spec.align() + " in "
                  + Unsigned.hex(f.spec.lo()) + ":" + Unsigned.hex(f.spec.hi())));
      return;
    }
    getContext()
        .ask(
            PurgeCoordinator.PurgeDone.class,
            coordinator,
            settings.askTimeout(),
            (ActorRef<PurgeCoordinator.PurgeDone> ref) -> new PurgeCoordinator.PurgeSync(ref),
            (done, failure) -> new PurgeAnswer(requestId));
  }

  private Behavior<Command> onPurgeAnswer(PurgeAnswer m) {
    InFlight f = inFlight.get(m.requestId());
    if (f == null) return this;
    f.pass = 1;
    f.walked = 0;
    Area fit = state.findFit(f.spec);
    if (fit != null) {
      inFlight.remove(m.requestId());
      emit(new NodeEvent.AreaAllocated(fit, m.requestId()));
      replyAllocated(f.waiters, new Allocated(m.requestId(), fit, node));
    } else {
      walkOn(m.requestId(), f);
    }
    return this;
  }

  /** Another node placed the area: remember it here, where retries of the request arrive. */
  private void placed(String requestId, Area area) {
    InFlight f = inFlight.remove(requestId);
    emit(new NodeEvent.Placed(requestId, area));
    replyAllocated(f.waiters, new Allocated(requestId, area, geometry.nodeOf(area.start())));
  }

  private void replyAllocated(List<ActorRef<AllocReply>> to, Allocated reply) {
    afterPersist(
        () -> to.forEach(r -> r.tell(reply)),
        () -> to.forEach(r -> r.tell(new AllocFailed(reply.requestId(), ErrorCode.ETIMEDOUT, JOURNAL_FAILED))));
  }

  /** Answers that change no state: remembered for retries, sent once earlier effects are out. */
  private <R extends WireMessage> void answer(String requestId, List<ActorRef<R>> to, R reply) {
    answered.put(reply instanceof FreeReply ? FREE_KEY + requestId : requestId, reply);
    afterPersist(() -> to.forEach(r -> r.tell(reply)));
  }

  private Behavior<Command> onAllocHere(AllocHere m) {
    if (firstAnswer(m.attemptId()) instanceof AllocReply first) {
      AllocReply answer = first;
      if (first instanceof Allocated a && !a.area().equals(state.busyAt(a.area().start()))) {
        // Freed since (its client freed it, or its home did not keep it): never hand it out again.
        answer = new AllocFailed(m.attemptId(), ErrorCode.ENOSPC, "attempt " + m.attemptId() + " is over");
      }
      AllocReply reply = answer;
      afterPersist(() -> m.replyTo().tell(reply));
      return this;
    }
    AllocSpec spec;
    try {
      spec = validated(m.spec());
    } catch (RuntimeException e) {
      m.replyTo().tell(new AllocFailed(m.attemptId(), ErrorCode.EINVAL, e.getMessage()));
      return this;
    }
    Area fit = state.findFit(spec);
    if (fit != null) {
      emit(new NodeEvent.AreaAllocated(fit, m.attemptId()));
      replyAllocated(List.of(m.replyTo()), new Allocated(m.attemptId(), fit, node));
      Provisional p = placement(m.attemptId(), fit);
      if (p != null && p.home() != node) provisional(m.attemptId(), p);
    } else {
      // A failure is remembered too (in memory): the home moves on after it, so a duplicate or a
      // late copy of this attempt must not allocate an area the home will never claim.
      answer(m.attemptId(), List.of(m.replyTo()),
          new AllocFailed(m.attemptId(), ErrorCode.ENOSPC, "no fit on node " + node));
    }
    return this;
  }

  // =================================================================== free and find

  private Behavior<Command> onFree(Free m) {
    if (firstFreeAnswer(m.requestId()) instanceof FreeReply r) {
      afterPersist(() -> m.replyTo().tell(r));
      return this;
    }
    int owner = geometry.nodeOf(m.addr());
    if (owner != node) {
      peers.node(owner).tell(m);
      return this;
    }
    if (state.busyAt(m.addr()) != null) {
      LazyArea la = (LazyArea) emit(new NodeEvent.AreaFreed(m.addr(), m.requestId()));
      Freed reply = new Freed(m.requestId(), la.area());
      afterPersist(
          () -> {
            coordinator.tell(new PurgeCoordinator.LazyFreed(node, geometry.pagesOf(la.area().size())));
            m.replyTo().tell(reply);
          },
          () -> m.replyTo().tell(new FreeFailed(m.requestId(), ErrorCode.ETIMEDOUT, JOURNAL_FAILED)));
      return this;
    }
    Area inside = state.find(m.addr());
    if (inside != null) {
      answer(m.requestId(), List.of(m.replyTo()), notItsStart(m.requestId(), m.addr(), inside));
      return this;
    }
    int startOwner = state.startOwnerCovering(m.addr());
    if (startOwner >= 0 && startOwner != node) {
      // Inside a piece of another node's spanning area: only its start owner knows if it is busy.
      getContext()
          .ask(
              FindReply.class,
              peers.node(startOwner),
              settings.askTimeout(),
              (ActorRef<FindReply> ref) -> new FindHere(m.addr(), ref),
              (found, failure) ->
                  new FreeCheckAnswer(m.requestId(), m.addr(), found == null ? null : found.area()));
      inFlightFrees.put(m.requestId(), m.replyTo());
      return this;
    }
    answer(m.requestId(), List.of(m.replyTo()), noArea(m.requestId(), m.addr()));
    return this;
  }

  private Behavior<Command> onFreeCheckAnswer(FreeCheckAnswer m) {
    ActorRef<FreeReply> to = inFlightFrees.remove(m.requestId());
    if (to == null) return this;
    FreeReply r =
        m.covering() != null
            ? notItsStart(m.requestId(), m.addr(), m.covering())
            : noArea(m.requestId(), m.addr());
    answer(m.requestId(), List.of(to), r);
    return this;
  }

  private static FreeFailed notItsStart(String requestId, long addr, Area area) {
    return new FreeFailed(
        requestId,
        ErrorCode.EINVAL,
        Unsigned.hex(addr) + " is inside area " + Unsigned.hex(area.start()) + "-"
            + Unsigned.hex(area.end()) + " but not its start");
  }

  private static FreeFailed noArea(String requestId, long addr) {
    return new FreeFailed(requestId, ErrorCode.ENOENT, "no busy area contains " + Unsigned.hex(addr));
  }

  private Behavior<Command> onFind(Find m) {
    int owner = geometry.nodeOf(m.addr());
    if (owner != node) {
      peers.node(owner).tell(m);
      return this;
    }
    Area a = state.find(m.addr());
    if (a != null) {
      m.replyTo().tell(new FindReply(m.addr(), a, node));
      return this;
    }
    // find_vmap_area()'s scan of other nodes, bounded: an area covering addr but starting on another
    // node must be a spanning area, and its piece in our zone records which node holds its start.
    int startOwner = state.startOwnerCovering(m.addr());
    if (startOwner >= 0 && startOwner != node) {
      peers.node(startOwner).tell(new FindHere(m.addr(), m.replyTo()));
    } else {
      m.replyTo().tell(new FindReply(m.addr(), null, -1));
    }
    return this;
  }

  private Behavior<Command> onFindHere(FindHere m) {
    Area a = state.find(m.addr());
    m.replyTo().tell(new FindReply(m.addr(), a, a == null ? -1 : node));
    return this;
  }

  private Behavior<Command> onGetInfo(GetInfo m) {
    m.replyTo()
        .tell(
            new NodeInfo(
                node,
                new ArrayList<>(state.busyAreas()),
                state.unpurged(),
                state.freeBytes(),
                state.freeBlocks(),
                state.largestFreeBlock(),
                state.reservationCount(),
                state.reservedBytes(),
                state.heldParts().size()));
    return this;
  }

  // =================================================================== spanning

  private Behavior<Command> onGetEdgeRuns(GetEdgeRuns m) {
    m.replyTo().tell(new EdgeRuns(node, state.edgeRuns(m.firstZone(), m.lastZone())));
    return this;
  }

  private Behavior<Command> onReserve(Reserve m) {
    String id = m.reservationId();
    if (state.reservation(id) != null) {
      afterPersist(() -> m.replyTo().tell(new ReserveReply(id, node, true, null)));
      return this;
    }
    String refusal = state.reserveRefusal(id, m.area(), m.myParts());
    if (refusal != null) {
      m.replyTo().tell(new ReserveReply(id, node, false, refusal));
      return this;
    }
    emit(new NodeEvent.SpanReserved(id, m.area(), m.startOwner(), m.myParts(), m.allParts()));
    timers.startSingleTimer(id, new LeaseExpired(id), Duration.ofMillis(m.leaseMillis()));
    if (reservedAt.size() > 2 * state.reservationCount() + 64) {
      reservedAt.keySet().removeIf(k -> state.reservation(k) == null);
    }
    reservedAt.put(id, new long[] {System.nanoTime(), m.leaseMillis()});
    afterPersist(() -> m.replyTo().tell(new ReserveReply(id, node, true, null)));
    return this;
  }

  private Behavior<Command> onCommitArea(CommitArea m) {
    String id = m.reservationId();
    NodeState.Reservation r = state.reservation(id);
    boolean committed;
    if (r != null && r.startOwner() == node) {
      emit(new NodeEvent.SpanCommitted(id));
      timers.cancel(id);
      committed = true;
      Provisional p = placement(id, r.area());
      if (p != null) provisional(id, p);
    } else {
      // Too late (lease expired, cancelled) or a retry of a commit that already happened.
      NodeState.Decision d = state.decision(id);
      if (d == null) emit(new NodeEvent.SpanResolved(id));
      committed = d == NodeState.Decision.COMMITTED;
    }
    afterPersist(() -> m.replyTo().tell(new CommitReply(id, committed)));
    return this;
  }

  private Behavior<Command> onCommitPart(CommitPart m) {
    if (state.reservation(m.reservationId()) != null) {
      emit(new NodeEvent.SpanPartCommitted(m.reservationId()));
      timers.cancel(m.reservationId());
    }
    return this;
  }

  private Behavior<Command> onCancel(CancelReservation m) {
    NodeState.Reservation r = state.reservation(m.reservationId());
    if (r != null) {
      emit(new NodeEvent.SpanCancelled(m.reservationId()));
      timers.cancel(m.reservationId());
    }
    return this;
  }

  private Behavior<Command> onLeaseExpired(LeaseExpired m) {
    NodeState.Reservation r = state.reservation(m.reservationId());
    if (r == null) return this;
    if (r.startOwner() == node) {
      getContext().getLog().info("reservation {} for {} expired uncommitted", r.id(), r.area());
      emit(new NodeEvent.SpanCancelled(r.id()));
    } else {
      // Only the start owner knows whether the area was committed: ask, and ask again a lease
      // later if no answer comes (the start owner may be restarting).
      peers.node(r.startOwner()).tell(new ResolveReservation(r.id(), node));
      timers.startSingleTimer(r.id(), new LeaseExpired(r.id()), settings.lease());
    }
    return this;
  }

  private Behavior<Command> onResolve(ResolveReservation m) {
    NodeState.Decision d = state.decision(m.reservationId());
    if (d == null) {
      emit(new NodeEvent.SpanResolved(m.reservationId()));
      d = NodeState.Decision.ABORTED;
    }
    Resolution answer = new Resolution(m.reservationId(), d);
    afterPersist(() -> peers.node(m.asker()).tell(answer));
    return this;
  }

  private Behavior<Command> onResolution(Resolution m) {
    if (state.reservation(m.reservationId()) == null) return this;
    switch (m.decision()) {
      case COMMITTED -> {
        emit(new NodeEvent.SpanPartCommitted(m.reservationId()));
        timers.cancel(m.reservationId());
      }
      case ABORTED -> {
        emit(new NodeEvent.SpanCancelled(m.reservationId()));
        timers.cancel(m.reservationId());
      }
      case PENDING -> {} // the timer is armed again already
    }
    return this;
  }

  // =================================================================== placement confirmation

  /**
   * The request and home a placement id names: {@code requestId/pass@home} (a neighbour's
   * attempt) or {@code requestId#home#area#unique} (a spanning reservation, area = {@link
   * #areaKey}); null for any other id
   * (written by hand, or by an older version). {@code area} is the area placed under it.
   */
  private Provisional placement(String id, Area area) {
    try {
      int at = id.lastIndexOf('@');
      int slash = at > 0 ? id.lastIndexOf('/', at) : -1;
      if (slash > 0 && id.indexOf('#', at) < 0) {
        Integer.parseInt(id.substring(slash + 1, at)); // the pass
        int home = Integer.parseInt(id.substring(at + 1));
        return home >= 0 && home < geometry.nodes() ? new Provisional(id.substring(0, slash), home, area) : null;
      }
      int last = id.lastIndexOf('#');
      int keyAt = last > 0 ? id.lastIndexOf('#', last - 1) : -1;
      int homeAt = keyAt > 0 ? id.lastIndexOf('#', keyAt - 1) : -1;
      if (homeAt <= 0) return null;
      int home = Integer.parseInt(id.substring(homeAt + 1, keyAt));
      if (home < 0 || home >= geometry.nodes() || !id.substring(keyAt + 1, last).equals(areaKey(area))) return null;
      return new Provisional(id.substring(0, homeAt), home, area);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * After a restart: placements for other homes that are still allocated are confirmed again
   * (the record of what was confirmed lived in memory). The ids come from the stored outcomes of
   * neighbour attempts and the stored decisions of spanning commits. A kept placement is simply
   * answered kept again.
   */
  private void rebuildProvisional() {
    NodeState.Snapshot s = state.snapshot();
    for (int i = 0; i < s.recentIds().size(); i++) {
      NodeState.Outcome o = s.recent().get(i);
      String id = s.recentIds().get(i);
      if (o.freed() || o.area() == null || id.indexOf('@') < 0) continue;
      Provisional p = placement(id, o.area());
      if (p == null || p.home() == node || !o.area().equals(state.busyAt(o.area().start()))) continue;
      if (state.freeOutcome("abandoned:" + id) != null) continue; // freed as not kept; the space was reused
      provisional(id, p);
    }
    for (int i = 0; i < s.decisionIds().size(); i++) {
      if (s.decisions().get(i) != NodeState.Decision.COMMITTED) continue;
      String id = s.decisionIds().get(i);
      int last = id.lastIndexOf('#');
      int keyAt = last > 0 ? id.lastIndexOf('#', last - 1) : -1;
      int dash = keyAt > 0 ? id.indexOf('-', keyAt) : -1;
      if (dash < 0 || dash > last) continue;
      Area a;
      try {
        a = state.busyAt(Long.parseUnsignedLong(id.substring(keyAt + 1, dash), 16));
      } catch (NumberFormatException e) {
        continue;
      }
      // placement() checks that the area there now is the one committed (start, end, tag).
      if (a == null || state.freeOutcome("abandoned:" + id) != null) continue;
      Provisional p = placement(id, a);
      if (p != null) provisional(id, p);
    }
  }

  /** The identity of an area in a spanning reservation id: start-end-taghash, hex. */
  static String areaKey(Area a) {
    return Long.toHexString(a.start()) + "-" + Long.toHexString(a.end()) + "-" + Integer.toHexString(a.tag().hashCode());
  }

  private void provisional(String placementId, Provisional p) {
    provisional.put(placementId, p);
    timers.startSingleTimer(PLACED + placementId, new VerifyPlacement(placementId), settings.lease());
  }

  private Behavior<Command> onVerifyPlacement(VerifyPlacement m) {
    Provisional p = provisional.get(m.placementId());
    if (p == null) return this;
    if (!p.area().equals(state.busyAt(p.area().start()))) {
      // Freed already: its client had it, so the home kept it.
      provisional.remove(m.placementId());
      return this;
    }
    peers.node(p.home()).tell(new PlacementQuery(p.requestId(), m.placementId(), p.area(), node));
    timers.startSingleTimer(PLACED + m.placementId(), m, settings.lease());
    return this;
  }

  private Behavior<Command> onPlacementQuery(PlacementQuery q) {
    if (inFlight.containsKey(q.requestId())) return this; // still placing: asked again a lease later
    boolean kept;
    WireMessage first = firstAnswer(q.requestId());
    if (first instanceof Allocated a) {
      kept = a.area().equals(q.area());
    } else if (first != null) {
      kept = false; // answered with an error
    } else {
      // No answer remembered: this node restarted after the area was placed and before storing
      // it. Adopt it as the request's answer, so a retry of the request gets it.
      getContext().getLog().info("node {}: adopting {} placed by node {} for request {}", node, q.area(),
          q.asker(), q.requestId());
      emit(new NodeEvent.Placed(q.requestId(), q.area()));
      kept = true;
    }
    PlacementAnswer answer = new PlacementAnswer(q.placementId(), kept);
    afterPersist(() -> peers.node(q.asker()).tell(answer));
    return this;
  }

  private Behavior<Command> onPlacementAnswer(PlacementAnswer m) {
    Provisional p = provisional.remove(m.placementId());
    if (p == null) return this;
    timers.cancel(PLACED + m.placementId());
    if (m.kept()) return this;
    // The home answered its request otherwise: nobody was ever given this area.
    answered.put(m.placementId(),
        new AllocFailed(m.placementId(), ErrorCode.ENOSPC, "placement abandoned by node " + p.home()));
    if (p.area().equals(state.busyAt(p.area().start()))) {
      getContext().getLog().info("node {}: freeing {}, which node {} did not keep for request {}", node, p.area(),
          p.home(), p.requestId());
      LazyArea la = (LazyArea) emit(new NodeEvent.AreaFreed(p.area().start(), "abandoned:" + m.placementId()));
      afterPersist(() -> coordinator.tell(new PurgeCoordinator.LazyFreed(node, geometry.pagesOf(la.area().size()))));
    }
    return this;
  }

  // =================================================================== purge

  private Behavior<Command> onSplice(SpliceLazy m) {
    if (m.epoch() <= state.spliceEpoch()) {
      // A repeated request (the coordinator resends until it has every node's answer, or a
      // duplicate): the splice happened already; answer with what it handed over and is not
      // released yet, without splicing later frees into an epoch that may be flushing already.
      PurgeCoordinator.Spliced again = new PurgeCoordinator.Spliced(m.epoch(), node, state.purging());
      afterPersist(() -> m.replyTo().tell(again));
      return this;
    }
    @SuppressWarnings("unchecked")
    List<LazyArea> spliced = (List<LazyArea>) emit(new NodeEvent.LazySpliced(m.epoch()));
    // Plus anything an earlier epoch spliced and never released (a release that was lost): it is
    // flushed again and released with this epoch instead of staying quarantined for good.
    List<LazyArea> handed = new ArrayList<>(spliced);
    if (state.purging().size() > spliced.size()) {
      java.util.Set<Long> fresh = new java.util.HashSet<>();
      for (LazyArea la : spliced) fresh.add(la.area().start());
      for (LazyArea la : state.purging()) if (!fresh.contains(la.area().start())) handed.add(la);
    }
    PurgeCoordinator.Spliced reply = new PurgeCoordinator.Spliced(m.epoch(), node, handed);
    afterPersist(() -> m.replyTo().tell(reply));
    return this;
  }

  private Behavior<Command> onRelease(ReleasePieces m) {
    // Pieces name areas by address only, and an address is reused as soon as its area is released.
    // So a late copy of a release (a resend, a duplicate) must not release whatever lies there now:
    //  - a release of an older epoch than the last splice is stale: its pieces were released (the
    //    coordinator starts an epoch only after every batch of the previous one was answered);
    //  - within an epoch, each piece is released once (a newer area may sit there by now);
    //  - of the epoch this node spliced last, only areas it handed over (purging) are released,
    //    never one freed after the splice (it has not been flushed).
    long spliced = state.spliceEpoch();
    List<ReleasePiece> pieces;
    if (m.epoch() < spliced) {
      pieces = List.of();
    } else {
      if (m.epoch() != releaseEpoch) {
        releaseEpoch = m.epoch();
        releasedInEpoch.clear();
      }
      boolean identified = m.areas() != null && m.areas().size() == m.pieces().size();
      // Parts still reserved here (a lost CommitPart) become held parts first.
      commitReservedPieces(m.pieces(), identified ? m.areas() : null);
      pieces = new ArrayList<>(m.pieces().size());
      for (int i = 0; i < m.pieces().size(); i++) {
        ReleasePiece p = m.pieces().get(i);
        if (releasedInEpoch.contains(p)) continue;
        boolean own = p.start() == p.areaStart();
        if (m.epoch() == spliced && own && state.purgingAt(p.areaStart()) == null) continue;
        // The area there now must be the one released (a newer area may lie at the same address).
        if (identified && !m.areas().get(i).equals(areaAt(p.start(), own))) continue;
        pieces.add(p);
      }
      releasedInEpoch.addAll(pieces);
    }
    NodeState.Released r =
        pieces.isEmpty()
            ? new NodeState.Released(0, 0)
            : (NodeState.Released) emit(new NodeEvent.PiecesReleased(m.epoch(), pieces));
    PurgeCoordinator.Released reply =
        new PurgeCoordinator.Released(m.epoch(), node, r.areas(), r.bytes(), m.batch());
    afterPersist(() -> m.replyTo().tell(reply));
    return this;
  }

  /** The area whose unreleased piece starts at {@code start}: own (purging or lazy) or held. */
  private Area areaAt(long start, boolean own) {
    if (own) {
      LazyArea la = state.purgingAt(start);
      if (la == null) la = state.lazyAt(start);
      return la == null ? null : la.area();
    }
    NodeState.HeldPart h = state.heldAt(start);
    return h == null ? null : h.area();
  }

  /**
   * A piece of another node's spanning area that this node still holds as a reservation (its
   * CommitPart was lost or is late): the area was committed (it was busy, then freed and flushed),
   * so the reservation becomes held parts first, and the release then frees them. Without this the
   * release would find nothing to free, and the reservation would later resolve to committed and
   * stay held for good.
   */
  private void commitReservedPieces(List<ReleasePiece> pieces, List<Area> areas) {
    if (state.reservationCount() == 0) return;
    for (int i = 0; i < pieces.size(); i++) {
      ReleasePiece p = pieces.get(i);
      if (p.start() == p.areaStart() || releasedInEpoch.contains(p)) continue;
      for (String id : new ArrayList<>(reservedAt.keySet())) {
        NodeState.Reservation r = state.reservation(id);
        if (r == null || r.startOwner() == node || r.area().start() != p.areaStart()) continue;
        if (areas != null && !areas.get(i).equals(r.area())) continue;
        for (Part part : r.myParts()) {
          if (part.start() == p.start() && part.end() == p.end()) {
            emit(new NodeEvent.SpanPartCommitted(id));
            timers.cancel(id);
            break;
          }
        }
      }
    }
  }

  private Behavior<Command> onInspect(Inspect m) {
    NodeState.Snapshot s = state.snapshot();
    List<LazyArea> spanning = new ArrayList<>();
    for (int i = 0; i < s.spanStarts().size(); i++) {
      Area a = state.busyAt(s.spanStarts().get(i));
      if (a != null) spanning.add(new LazyArea(a, node, List.copyOf(s.spanParts().get(i))));
    }
    long now = System.nanoTime();
    List<ReservationAge> reservations = new ArrayList<>();
    for (NodeState.Reservation r : s.reservations()) {
      // Reservations recovered from the journal count from this incarnation's start.
      long[] since = reservedAt.getOrDefault(r.id(), new long[] {startedNanos, settings.lease().toMillis()});
      reservations.add(new ReservationAge(r.id(), r.area(), r.startOwner(), r.myParts(),
          (now - since[0]) / 1_000_000, since[1]));
    }
    m.replyTo()
        .tell(new NodeReport(node, s.freeStarts(), s.freeEnds(), new ArrayList<>(s.busy()), spanning,
            state.unpurged(), new ArrayList<>(s.held()), reservations));
    return this;
  }

  private Behavior<Command> onReportUnreleased(ReportUnreleased m) {
    PurgeCoordinator.Unreleased reply =
        new PurgeCoordinator.Unreleased(node, state.spliceEpoch(), state.purging(), state.unpurgedPages());
    afterPersist(() -> m.replyTo().tell(reply));
    return this;
  }
}
