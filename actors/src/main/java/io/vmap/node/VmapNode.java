package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.StashBuffer;
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

  /** Merge flushed pieces back into the free shard; one bounded batch. */
  public record ReleasePieces(
      long epoch, List<ReleasePiece> pieces, ActorRef<PurgeCoordinator.Command> replyTo)
      implements Command {}

  // ---- local wiring

  /** First message of a node created by {@link #create(int, Geometry, NodeSettings)}. */
  public record Attach(NodeDirectory peers, ActorRef<PurgeCoordinator.Command> coordinator)
      implements Command {}

  // ---- internal

  private record LeaseExpired(String reservationId) implements Command {}

  private record WalkAnswer(String requestId, AllocReply reply) implements Command {}

  private record SpanAnswer(String requestId, Area area, String reason) implements Command {}

  private record PurgeAnswer(String requestId) implements Command {}

  private record FreeCheckAnswer(String requestId, long addr, Area covering) implements Command {}

  // =================================================================== creation

  /** A node that waits for {@link Attach} (local mode, where peers exist only after spawning). */
  public static Behavior<Command> create(int node, Geometry geometry, NodeSettings settings) {
    return Behaviors.withStash(
        1024,
        stash ->
            Behaviors.receive(Command.class)
                .onMessage(
                    Attach.class,
                    a ->
                        stash.unstashAll(
                            create(node, geometry, settings, a.peers(), a.coordinator())))
                .onAnyMessage(
                    m -> {
                      stash.stash(m);
                      return Behaviors.same();
                    })
                .build());
  }

  /** A node that knows its peers and the purge coordinator from the start (cluster mode). */
  public static Behavior<Command> create(
      int node,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      ActorRef<PurgeCoordinator.Command> coordinator) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new VmapNode(ctx, timers, node, geometry, settings, peers, coordinator)));
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

  private final TimerScheduler<Command> timers;
  private final int node;
  private final Geometry geometry;
  private final NodeSettings settings;
  private final NodeDirectory peers;
  private final ActorRef<PurgeCoordinator.Command> coordinator;
  private final NodeState state;
  /** First answers to requests, by id; bounded (oldest forgotten first). */
  private final LinkedHashMap<String, WireMessage> answered;
  private final Map<String, InFlight> inFlight = new HashMap<>();

  private VmapNode(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      int node,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      ActorRef<PurgeCoordinator.Command> coordinator) {
    super(ctx);
    this.timers = timers;
    this.node = node;
    this.geometry = geometry;
    this.settings = settings;
    this.peers = peers;
    this.coordinator = coordinator;
    this.state = new NodeState(node, geometry, settings.decisionCapacity());
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
        .onMessage(SpliceLazy.class, this::onSplice)
        .onMessage(ReleasePieces.class, this::onRelease)
        .onMessage(WalkAnswer.class, this::onWalkAnswer)
        .onMessage(SpanAnswer.class, this::onSpanAnswer)
        .onMessage(PurgeAnswer.class, this::onPurgeAnswer)
        .onMessage(FreeCheckAnswer.class, this::onFreeCheckAnswer)
        .onMessage(Attach.class, a -> this)
        .build();
  }

  // =================================================================== allocation

  private Behavior<Command> onAlloc(Alloc m) {
    WireMessage first = answered.get(m.requestId());
    if (first instanceof AllocReply r) {
      m.replyTo().tell(r);
      return this;
    }
    InFlight running = inFlight.get(m.requestId());
    if (running != null) {
      running.waiters.add(m.replyTo());
      return this;
    }
    AllocSpec spec;
    try {
      // Re-validated here: a request may come from another process, not through the client.
      AllocSpec s = m.spec();
      spec = AllocSpec.of(geometry, s.size(), s.align(), s.lo(), s.hi(), s.home(), s.tag(), s.policy());
    } catch (AllocSpec.Invalid e) {
      reply(m.requestId(), List.of(m.replyTo()), new AllocFailed(m.requestId(), ErrorCode.EINVAL, e.getMessage()));
      return this;
    } catch (RuntimeException e) {
      reply(m.requestId(), List.of(m.replyTo()), new AllocFailed(m.requestId(), ErrorCode.EINVAL, "malformed request: " + e));
      return this;
    }
    Area area = state.allocate(spec);
    if (area != null) {
      reply(m.requestId(), List.of(m.replyTo()), new Allocated(m.requestId(), area, node));
      return this;
    }
    if (spec.policy() == Policy.FAIL_FAST) {
      reply(
          m.requestId(),
          List.of(m.replyTo()),
          new AllocFailed(m.requestId(), ErrorCode.EAGAIN, "no fit on home node " + node));
      return this;
    }
    InFlight f = new InFlight(spec, m.replyTo());
    inFlight.put(m.requestId(), f);
    walkOn(m.requestId(), f);
    return this;
  }

  /** Asks the next neighbour ({@code home+1, home+2, ...}), or moves on to spanning when all were asked. */
  private void walkOn(String requestId, InFlight f) {
    f.walked++;
    if (f.walked < geometry.nodes()) {
      int target = (node + f.walked) % geometry.nodes();
      String attemptId = requestId + "/" + f.pass;
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

  private Behavior<Command> onWalkAnswer(WalkAnswer m) {
    InFlight f = inFlight.get(m.requestId());
    if (f == null) return this;
    if (m.reply() instanceof Allocated a) {
      finish(m.requestId(), new Allocated(m.requestId(), a.area(), a.node()));
    } else {
      walkOn(m.requestId(), f);
    }
    return this;
  }

  private Behavior<Command> onSpanAnswer(SpanAnswer m) {
    InFlight f = inFlight.get(m.requestId());
    if (f == null) return this;
    if (m.area() != null) {
      finish(m.requestId(), new Allocated(m.requestId(), m.area(), geometry.nodeOf(m.area().start())));
    } else {
      afterSpanning(m.requestId(), f);
    }
    return this;
  }

  /** Everything failed once: purge synchronously and retry once, or give up with ENOSPC. */
  private void afterSpanning(String requestId, InFlight f) {
    if (f.pass > 0) {
      finish(
          requestId,
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
    Area area = state.allocate(f.spec);
    if (area != null) {
      finish(m.requestId(), new Allocated(m.requestId(), area, node));
    } else {
      walkOn(m.requestId(), f);
    }
    return this;
  }

  private void finish(String requestId, AllocReply reply) {
    InFlight f = inFlight.remove(requestId);
    reply(requestId, f.waiters, reply);
  }

  private <R extends WireMessage> void reply(String requestId, List<ActorRef<R>> to, R reply) {
    answered.put(requestId, reply);
    for (ActorRef<R> r : to) r.tell(reply);
  }

  private Behavior<Command> onAllocHere(AllocHere m) {
    WireMessage first = answered.get(m.attemptId());
    if (first instanceof AllocReply r) {
      m.replyTo().tell(r);
      return this;
    }
    Area area = state.allocate(m.spec());
    if (area != null) {
      // Only successes are remembered: a failed attempt changed nothing and may be retried.
      Allocated a = new Allocated(m.attemptId(), area, node);
      answered.put(m.attemptId(), a);
      m.replyTo().tell(a);
    } else {
      m.replyTo().tell(new AllocFailed(m.attemptId(), ErrorCode.ENOSPC, "no fit on node " + node));
    }
    return this;
  }

  // =================================================================== free and find

  private Behavior<Command> onFree(Free m) {
    WireMessage first = answered.get(m.requestId());
    if (first instanceof FreeReply r) {
      m.replyTo().tell(r);
      return this;
    }
    int owner = geometry.nodeOf(m.addr());
    if (owner != node) {
      peers.node(owner).tell(m);
      return this;
    }
    LazyArea la = state.free(m.addr());
    if (la != null) {
      coordinator.tell(new PurgeCoordinator.LazyFreed(node, geometry.pagesOf(la.area().size())));
      reply(m.requestId(), List.of(m.replyTo()), new Freed(m.requestId(), la.area()));
      return this;
    }
    Area inside = state.find(m.addr());
    if (inside != null) {
      reply(m.requestId(), List.of(m.replyTo()), notItsStart(m.requestId(), m.addr(), inside));
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
    reply(m.requestId(), List.of(m.replyTo()), noArea(m.requestId(), m.addr()));
    return this;
  }

  private final Map<String, ActorRef<FreeReply>> inFlightFrees = new HashMap<>();

  private Behavior<Command> onFreeCheckAnswer(FreeCheckAnswer m) {
    ActorRef<FreeReply> to = inFlightFrees.remove(m.requestId());
    if (to == null) return this;
    FreeReply r =
        m.covering() != null
            ? notItsStart(m.requestId(), m.addr(), m.covering())
            : noArea(m.requestId(), m.addr());
    reply(m.requestId(), List.of(to), r);
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
    String reason = state.reserve(m.reservationId(), m.area(), m.startOwner(), m.myParts(), m.allParts());
    if (reason == null) {
      timers.startSingleTimer(
          m.reservationId(), new LeaseExpired(m.reservationId()), Duration.ofMillis(m.leaseMillis()));
    }
    m.replyTo().tell(new ReserveReply(m.reservationId(), node, reason == null, reason));
    return this;
  }

  private Behavior<Command> onCommitArea(CommitArea m) {
    boolean ok = state.commitAsStartOwner(m.reservationId());
    timers.cancel(m.reservationId());
    m.replyTo().tell(new CommitReply(m.reservationId(), ok));
    return this;
  }

  private Behavior<Command> onCommitPart(CommitPart m) {
    state.commitAsPartOwner(m.reservationId());
    timers.cancel(m.reservationId());
    return this;
  }

  private Behavior<Command> onCancel(CancelReservation m) {
    state.cancel(m.reservationId());
    timers.cancel(m.reservationId());
    return this;
  }

  private Behavior<Command> onLeaseExpired(LeaseExpired m) {
    NodeState.Reservation r = state.reservation(m.reservationId());
    if (r == null) return this;
    if (r.startOwner() == node) {
      getContext().getLog().info("reservation {} for {} expired uncommitted", r.id(), r.area());
      state.cancel(r.id());
    } else {
      // Only the start owner knows whether the area was committed: ask, and ask again a lease
      // later if no answer comes (the start owner may be restarting).
      peers.node(r.startOwner()).tell(new ResolveReservation(r.id(), node));
      timers.startSingleTimer(r.id(), new LeaseExpired(r.id()), settings.lease());
    }
    return this;
  }

  private Behavior<Command> onResolve(ResolveReservation m) {
    peers.node(m.asker()).tell(new Resolution(m.reservationId(), state.resolve(m.reservationId())));
    return this;
  }

  private Behavior<Command> onResolution(Resolution m) {
    switch (m.decision()) {
      case COMMITTED -> {
        state.commitAsPartOwner(m.reservationId());
        timers.cancel(m.reservationId());
      }
      case ABORTED -> {
        state.cancel(m.reservationId());
        timers.cancel(m.reservationId());
      }
      case PENDING -> {} // the timer is armed again already
    }
    return this;
  }

  // =================================================================== purge

  private Behavior<Command> onSplice(SpliceLazy m) {
    m.replyTo().tell(new PurgeCoordinator.Spliced(m.epoch(), node, state.spliceLazy()));
    return this;
  }

  private Behavior<Command> onRelease(ReleasePieces m) {
    NodeState.Released r = state.release(m.pieces());
    m.replyTo().tell(new PurgeCoordinator.Released(m.epoch(), node, r.areas(), r.bytes()));
    return this;
  }
}
