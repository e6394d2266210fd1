package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.PeerProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.state.AllocSpec;
import io.vmap.state.Part;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import io.vmap.state.ZoneEdge;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiFunction;

/**
 * Places one area across zones owned by different nodes, on behalf of its home node (the parent),
 * so the home node keeps serving while this runs.
 *
 * <ol>
 *   <li>Search: asks the owners of a window of zones for their {@link ZoneEdge}s and scans the
 *       zones in address order, following free runs across zone boundaries, for the lowest aligned
 *       start whose range fits in one run. Windows grow (doubling) until the range is covered.
 *   <li>Reserve: every owner carves its part out of its shard under a lease, one owner at a time.
 *   <li>Commit at the start owner ({@code nodeOf(start)}): the commit point. Only then are the
 *       other owners told to commit and the home node answered.
 * </ol>
 *
 * <p>If this actor dies anywhere in between, the owners' leases run out: the start owner aborts,
 * the others ask it and release, so nothing leaks and nothing is handed out twice. Every question
 * has a timer: an unanswered edge query or commit is asked again (both are idempotent), an
 * unanswered reservation gives the candidate up.
 */
public final class SpanningAllocator extends AbstractBehavior<SpanningAllocator.Command> {

  /** Local messages only: answers through adapters, and timeouts. */
  public interface Command extends akka.actor.NoSerializationVerificationNeeded {}

  private record EdgesAnswer(PeerProtocol.EdgeRuns runs) implements Command {}

  private record EdgesTimedOut(long query, int owner) implements Command {}

  private record ReserveAnswer(PeerProtocol.ReserveReply reply) implements Command {}

  private record ReserveTimedOut(ReservationId id, int owner) implements Command {}

  private record CommitAnswer(PeerProtocol.CommitReply reply) implements Command {}

  private record CommitTimedOut(ReservationId id) implements Command {}

  /**
   * @param answerTo the home node; told {@code answer(area, null)} on success or {@code answer(null,
   *     reason)} when no spanning fit can be reserved
   */
  public static <T> Behavior<Command> create(
      RequestKey request,
      AllocSpec spec,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      ActorRef<T> answerTo,
      BiFunction<Area, String, T> answer) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new SpanningAllocator(ctx, timers, request, spec, geometry, settings, peers,
            area -> answerTo.tell(answer.apply(area, null)),
            reason -> answerTo.tell(answer.apply(null, reason)))
            .beginSearch()));
  }

  private final TimerScheduler<Command> timers;
  private final RequestKey request;
  private final AllocSpec spec;
  private final Geometry geometry;
  private final NodeSettings settings;
  private final NodeDirectory peers;
  private final long lastZone;
  private final java.util.function.Consumer<Area> onSuccess;
  private final java.util.function.Consumer<String> onFailure;
  private final ActorRef<PeerProtocol.EdgeRuns> edgeReplies;
  private final ActorRef<PeerProtocol.ReserveReply> reserveReplies;
  private final ActorRef<PeerProtocol.CommitReply> commitReplies;
  private int attempt;

  // search state
  private long windowFirst;
  private long windowLast;
  private long windowZones;
  /** Identifies the window being asked about; answers about an earlier one are ignored. */
  private long query;
  private final Map<Integer, Boolean> edgesPending = new HashMap<>();
  private final Map<Long, ZoneEdge> edges = new HashMap<>();
  private boolean runOpen;
  private long runStart;
  private long candidateStart;

  // reservation state
  private ReservationId reservation;
  private int startOwner;

  private record OwnerParts(int owner, List<Part> parts) {}

  private List<OwnerParts> reserveOrder;
  private List<Part> allParts;
  /** Owners that granted so far, a prefix of {@link #reserveOrder}. */
  private int reserved;
  private String refusal;

  private SpanningAllocator(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      RequestKey request,
      AllocSpec spec,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      java.util.function.Consumer<Area> onSuccess,
      java.util.function.Consumer<String> onFailure) {
    super(ctx);
    this.timers = timers;
    this.request = request;
    this.spec = spec;
    this.geometry = geometry;
    this.settings = settings;
    this.peers = peers;
    this.lastZone = geometry.zoneOf(spec.hi() - 1);
    this.onSuccess = onSuccess;
    this.onFailure = onFailure;
    this.edgeReplies = ctx.messageAdapter(PeerProtocol.EdgeRuns.class, EdgesAnswer::new);
    this.reserveReplies = ctx.messageAdapter(PeerProtocol.ReserveReply.class, ReserveAnswer::new);
    this.commitReplies = ctx.messageAdapter(PeerProtocol.CommitReply.class, CommitAnswer::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(EdgesAnswer.class, this::onEdges)
        .onMessage(EdgesTimedOut.class, this::onEdgesTimedOut)
        .onMessage(ReserveAnswer.class, m -> onReserveAnswer(m.reply().id(), m.reply().node(), m.reply()))
        .onMessage(ReserveTimedOut.class, m -> onReserveAnswer(m.id(), m.owner(), null))
        .onMessage(CommitAnswer.class, m -> onCommitAnswer(m.reply().id(), m.reply()))
        .onMessage(CommitTimedOut.class, m -> onCommitAnswer(m.id(), null))
        .build();
  }

  // ------------------------------------------------------------------ search

  private Behavior<Command> beginSearch() {
    // No aligned start in [lo, hi - size] at all (a huge alignment, a tiny range): no zone scan.
    long first = Unsigned.alignUp(spec.lo(), spec.align());
    long end = first == Unsigned.OVERFLOW ? Unsigned.OVERFLOW : Unsigned.addOrOverflow(first, spec.size());
    if (end == Unsigned.OVERFLOW || Unsigned.lt(spec.hi(), end)) return searchExhausted();
    // An area of at most min(align, zone) bytes at an aligned start ends inside its zone: the
    // walk over every node's shard has looked for it already, there is nothing to span.
    if (Unsigned.le(spec.size(), Math.min(spec.align(), geometry.zone()))) return searchExhausted();
    attempt++;
    runOpen = false;
    windowZones = firstWindowZones();
    long from = nextUsefulZone(geometry.zoneOf(spec.lo()), spec.lo());
    if (from < 0) return searchExhausted();
    askWindow(from);
    return this;
  }

  private long firstWindowZones() {
    return Math.max(settings.spanWindowZones(), spec.size() / geometry.zone() * 2 + 2);
  }

  /**
   * Where the scan goes on from zone {@code zone} when no fit starts below {@code from}: the zone
   * before the lowest aligned start {@code a >= from}, or {@code zone} if that is later; -1 if no
   * aligned start is left. Scanning from {@code zoneOf(a) - 1} with no run open finds what the
   * zone-by-zone scan finds: a free run that holds {@code a} and crosses a zone boundary is whole
   * from that zone's start, or begins in its high edge, or begins at {@code a}; its lowest aligned
   * start is {@code a} either way. For an align of at most a zone this is {@code zone} itself
   * (zones start at multiples of it). Above a zone it skips the zones between aligned starts:
   * without it a search aligned to 2^44 that found nothing scanned the 590,000 zones between the
   * space's two such starts, before the synchronous purge and again after it, 0.3-0.9 s
   * (align_shift_alloc_test).
   */
  private long nextUsefulZone(long zone, long from) {
    long a = Unsigned.alignUp(from, spec.align());
    if (a == Unsigned.OVERFLOW) return -1;
    long e = Unsigned.addOrOverflow(a, spec.size());
    if (e == Unsigned.OVERFLOW || Unsigned.lt(spec.hi(), e)) return -1;
    long za = geometry.zoneOf(a);
    return za != 0 && Unsigned.lt(zone, za - 1) ? za - 1 : zone;
  }

  private void askWindow(long first) {
    windowFirst = first;
    long last = first + windowZones - 1;
    windowLast = Unsigned.lt(last, first) || Unsigned.lt(lastZone, last) ? lastZone : last;
    query++;
    edges.clear();
    edgesPending.clear();
    if (windowLast - windowFirst + 1 >= geometry.nodes() || windowLast - windowFirst + 1 < 0) {
      for (int k = 0; k < geometry.nodes(); k++) edgesPending.put(k, Boolean.TRUE);
    } else {
      for (long z = windowFirst; Unsigned.le(z, windowLast); z++) edgesPending.put(geometry.ownerOfZone(z), Boolean.TRUE);
    }
    for (int k : edgesPending.keySet()) askEdges(k);
  }

  private void askEdges(int owner) {
    peers.node(owner).tell(new PeerProtocol.GetEdgeRuns(query, windowFirst, windowLast, edgeReplies));
    timers.startSingleTimer(new EdgesTimedOut(query, owner), new EdgesTimedOut(query, owner), settings.askTimeout());
  }

  private Behavior<Command> onEdgesTimedOut(EdgesTimedOut m) {
    // A lost question or answer: ask that owner again (a read; nothing to undo).
    if (m.query() == query && edgesPending.containsKey(m.owner())) askEdges(m.owner());
    return this;
  }

  private Behavior<Command> onEdges(EdgesAnswer m) {
    PeerProtocol.EdgeRuns runs = m.runs();
    if (runs.query() != query || edgesPending.remove(runs.node()) == null) return this;
    timers.cancel(new EdgesTimedOut(query, runs.node()));
    for (ZoneEdge e : runs.edges()) edges.put(e.zone(), e);
    if (!edgesPending.isEmpty()) return this;
    return scanWindow();
  }

  /** Follows free runs across the window's zones; see the class comment. */
  private Behavior<Command> scanWindow() {
    for (long z = windowFirst; ; z++) {
      long lo = geometry.zoneLo(z);
      long hi = geometry.zoneHi(z);
      ZoneEdge e = edges.get(z);
      long low = e == null ? 0 : e.lowRun();
      long high = e == null ? 0 : e.highRun();
      boolean full = low == hi - lo;
      if (runOpen) {
        Fit f = fit(runStart, lo + low);
        if (f == Fit.FOUND) return reserve(candidateStart);
        if (f == Fit.NEVER) return searchExhausted();
        if (!full) runOpen = false;
      }
      if (!runOpen) {
        if (full) {
          runOpen = true;
          runStart = lo;
          Fit f = fit(runStart, hi);
          if (f == Fit.FOUND) return reserve(candidateStart);
          if (f == Fit.NEVER) return searchExhausted();
        } else if (high > 0) {
          runOpen = true;
          runStart = hi - high;
        }
      }
      if (z == windowLast) break;
    }
    if (windowLast == lastZone) return searchExhausted();
    long next = nextUsefulZone(windowLast + 1,
        runOpen ? Unsigned.max(runStart, spec.lo()) : geometry.zoneLo(windowLast + 1));
    if (next < 0 || Unsigned.lt(lastZone, next)) return searchExhausted();
    if (next != windowLast + 1) runOpen = false; // the run is found again from next, if it is one
    // A jump past zones starts small again: each aligned start far above a zone costs one small
    // window, not the largest one.
    windowZones = next == windowLast + 1 ? Math.min(windowZones * 2, 1L << 16) : firstWindowZones();
    askWindow(next);
    return this;
  }

  private enum Fit { FOUND, NOT_HERE, NEVER }

  /**
   * Whether the run {@code [start, end)} holds the request. NEVER when even this run's lowest
   * aligned start ends past {@code hi}: every later run starts higher.
   */
  private Fit fit(long start, long end) {
    long a = Unsigned.alignUp(Unsigned.max(start, spec.lo()), spec.align());
    if (a == Unsigned.OVERFLOW) return Fit.NEVER;
    long e = Unsigned.addOrOverflow(a, spec.size());
    if (e == Unsigned.OVERFLOW || Unsigned.lt(spec.hi(), e)) return Fit.NEVER;
    if (Unsigned.le(e, end)) {
      candidateStart = a;
      return Fit.FOUND;
    }
    return Fit.NOT_HERE;
  }

  private Behavior<Command> searchExhausted() {
    return fail("no spanning fit");
  }

  // ------------------------------------------------------------------ reserve and commit

  private Behavior<Command> reserve(long start) {
    Area candidate = new Area(start, start + spec.size(), spec.tag());
    startOwner = geometry.nodeOf(start);
    // The id names the request, its home and the area: the start owner confirms with the home,
    // also after a restart (decisions are stored by id), that the committed area was kept.
    reservation = new ReservationId(request, spec.home(), candidate, ThreadLocalRandom.current().nextLong());
    List<Part> all = new ArrayList<>();
    for (long z = geometry.zoneOf(start); ; z++) {
      long lo = Unsigned.max(geometry.zoneLo(z), candidate.start());
      long hi = Unsigned.min(geometry.zoneHi(z), candidate.end());
      all.add(new Part(geometry.ownerOfZone(z), lo, hi));
      if (hi == candidate.end()) break;
    }
    // Owners in address order of their first part (insertion order of this map).
    Map<Integer, List<Part>> byOwner = new LinkedHashMap<>();
    for (Part p : all) byOwner.computeIfAbsent(p.node(), k -> new ArrayList<>()).add(p);
    reserveOrder = new ArrayList<>();
    for (Map.Entry<Integer, List<Part>> en : byOwner.entrySet()) {
      reserveOrder.add(new OwnerParts(en.getKey(), List.copyOf(en.getValue())));
    }
    allParts = List.copyOf(all);
    reserved = 0;
    reserveNext();
    return this;
  }

  /**
   * Reserves the owners one at a time, lowest part first. Two requests racing for one candidate
   * then meet at its lowest part, where exactly one wins and the other holds nothing: reserving all
   * owners at once could leave each holding a part the other needs, both losing (a livelock).
   */
  private void reserveNext() {
    OwnerParts next = reserveOrder.get(reserved);
    peers.node(next.owner()).tell(new PeerProtocol.Reserve(
        reservation, startOwner, next.parts(), allParts, settings.lease().toMillis(), reserveReplies));
    timers.startSingleTimer(reservation, new ReserveTimedOut(reservation, next.owner()), settings.askTimeout());
  }

  /** {@code reply} null: no answer in time. */
  private Behavior<Command> onReserveAnswer(ReservationId id, int owner, PeerProtocol.ReserveReply reply) {
    // Only the answer of the owner being reserved now counts: a late or repeated one is ignored.
    if (!id.equals(reservation) || reserved >= reserveOrder.size() || owner != reserveOrder.get(reserved).owner()) {
      return this;
    }
    timers.cancel(reservation);
    if (reply == null || !reply.ok()) {
      refusal = reply == null ? "node " + owner + " did not answer" : reply.reason();
      return giveUpCandidate();
    }
    if (++reserved < reserveOrder.size()) {
      reserveNext();
      return this;
    }
    askCommit();
    return this;
  }

  private void askCommit() {
    peers.node(startOwner).tell(new PeerProtocol.CommitArea(reservation, commitReplies, spec.tenant()));
    timers.startSingleTimer(reservation, new CommitTimedOut(reservation), settings.askTimeout());
  }

  /** {@code reply} null: no answer in time. */
  private Behavior<Command> onCommitAnswer(ReservationId id, PeerProtocol.CommitReply reply) {
    if (!id.equals(reservation) || reserved < reserveOrder.size()) return this;
    timers.cancel(reservation);
    if (reply == null) {
      // Unknown outcome: the commit may have happened, and giving up now would leave a committed
      // area nobody is told about. The start owner's decision is final and remembered (a late
      // commit is refused and recorded aborted), so ask again until it answers.
      askCommit();
      return this;
    }
    if (!reply.committed()) {
      refusal = "reservation expired before commit";
      return giveUpCandidate();
    }
    for (OwnerParts o : reserveOrder) {
      if (o.owner() != startOwner) peers.node(o.owner()).tell(new PeerProtocol.CommitPart(reservation));
    }
    onSuccess.accept(reservation.area());
    return Behaviors.stopped();
  }

  /** Lost a race for the candidate: give every part back and search again, a bounded number of times. */
  private Behavior<Command> giveUpCandidate() {
    // Every owner, not just those that granted: a reply that timed out may still have reserved.
    for (OwnerParts o : reserveOrder) peers.node(o.owner()).tell(new PeerProtocol.CancelReservation(reservation));
    getContext().getLog().debug("spanning {} lost {}: {}", request, reservation.area(), refusal);
    reservation = null;
    if (attempt >= settings.spanMaxAttempts()) return fail("spanning reservation failed: " + refusal);
    return beginSearch();
  }

  private Behavior<Command> fail(String reason) {
    onFailure.accept(reason);
    return Behaviors.stopped();
  }
}
