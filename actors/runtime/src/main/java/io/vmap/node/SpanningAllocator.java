package io.vmap.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.vmap.protocol.AllocSpec;
import io.vmap.protocol.Part;
import io.vmap.protocol.ZoneEdge;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.BiFunction;

/**
 * Places one area across zones owned by different nodes, on behalf of its home node (the parent),
 * so the home node keeps serving while this runs.
 *
 * <ol>
 *   <li>Search: asks the owners of a window of zones for their {@link ZoneEdge}s and scans the
 *       zones in address order, following free runs across zone boundaries, for the lowest aligned
 *       start whose range fits in one run. Windows grow (doubling) until the range is covered.
 *   <li>Reserve: every owner carves its part out of its shard under a lease.
 *   <li>Commit at the start owner ({@code nodeOf(start)}): the commit point. Only then are the
 *       other owners told to commit and the home node answered.
 * </ol>
 *
 * <p>If this actor dies anywhere in between, the owners' leases run out: the start owner aborts,
 * the others ask it and release, so nothing leaks and nothing is handed out twice.
 */
public final class SpanningAllocator extends AbstractBehavior<SpanningAllocator.Command> {

  /** Internal messages only: this actor is spawned by a node and talks to nodes through asks. */
  public interface Command extends akka.actor.NoSerializationVerificationNeeded {}

  private record EdgesAnswer(long window, int owner, VmapNode.EdgeRuns runs) implements Command {}

  private record ReserveAnswer(String reservationId, int owner, VmapNode.ReserveReply reply)
      implements Command {}

  private record CommitAnswer(String reservationId, VmapNode.CommitReply reply) implements Command {}

  public static <T> Behavior<Command> create(
      String requestId,
      AllocSpec spec,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers,
      int home,
      ActorRef<T> answerTo,
      BiFunction<Area, String, T> answer) {
    return Behaviors.setup(
        ctx ->
            new SpanningAllocator(ctx, requestId, spec, geometry, settings, peers)
                .start(area -> answerTo.tell(answer.apply(area, null)),
                    reason -> answerTo.tell(answer.apply(null, reason))));
  }

  private final String requestId;
  private final AllocSpec spec;
  private final Geometry geometry;
  private final NodeSettings settings;
  private final NodeDirectory peers;
  private final long lastZone;

  private java.util.function.Consumer<Area> onSuccess;
  private java.util.function.Consumer<String> onFailure;
  private int attempt;

  // search state
  private long windowFirst;
  private long windowLast;
  private long windowZones;
  private long windowSerial;
  private int edgesExpected;
  private final Map<Long, ZoneEdge> edges = new HashMap<>();
  private boolean runOpen;
  private long runStart;

  // reservation state
  private String reservationId;
  private Area candidate;
  private int startOwner;
  private record OwnerParts(int owner, List<Part> parts) {}

  private Set<Integer> owners;
  private List<OwnerParts> reserveOrder;
  private List<Part> allParts;
  /** Owners that granted so far, a prefix of {@link #reserveOrder}. */
  private int reserved;
  private String refusal;

  private SpanningAllocator(
      ActorContext<Command> ctx,
      String requestId,
      AllocSpec spec,
      Geometry geometry,
      NodeSettings settings,
      NodeDirectory peers) {
    super(ctx);
    this.requestId = requestId;
    this.spec = spec;
    this.geometry = geometry;
    this.settings = settings;
    this.peers = peers;
    this.lastZone = geometry.zoneOf(spec.hi() - 1);
  }

  private Behavior<Command> start(
      java.util.function.Consumer<Area> success, java.util.function.Consumer<String> failure) {
    this.onSuccess = success;
    this.onFailure = failure;
    return beginSearch();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(EdgesAnswer.class, this::onEdges)
        .onMessage(ReserveAnswer.class, this::onReserveAnswer)
        .onMessage(CommitAnswer.class, this::onCommitAnswer)
        .build();
  }

  // ------------------------------------------------------------------ search

  private Behavior<Command> beginSearch() {
    // No aligned start in [lo, hi - size] at all (a huge alignment, a tiny range): no zone scan.
    long first = Unsigned.alignUp(spec.lo(), spec.align());
    long end = first == Unsigned.OVERFLOW ? Unsigned.OVERFLOW : Unsigned.addOrOverflow(first, spec.size());
    if (end == Unsigned.OVERFLOW || Unsigned.lt(spec.hi(), end)) return searchExhausted();
    attempt++;
    runOpen = false;
    windowZones = Math.max(settings.spanWindowZones(), spec.size() / geometry.zone() * 2 + 2);
    askWindow(geometry.zoneOf(spec.lo()));
    return this;
  }

  private void askWindow(long first) {
    windowFirst = first;
    long last = first + windowZones - 1;
    windowLast = Unsigned.lt(last, first) || Unsigned.lt(lastZone, last) ? lastZone : last;
    windowSerial++;
    edges.clear();
    List<Integer> owners = new ArrayList<>();
    if (windowLast - windowFirst + 1 >= geometry.nodes() || windowLast - windowFirst + 1 < 0) {
      for (int k = 0; k < geometry.nodes(); k++) owners.add(k);
    } else {
      for (long z = windowFirst; Unsigned.le(z, windowLast); z++) owners.add(geometry.ownerOfZone(z));
    }
    edgesExpected = owners.size();
    for (int k : owners) askEdges(k);
  }

  private void askEdges(int k) {
    long serial = windowSerial;
    long first = windowFirst;
    long last = windowLast;
    getContext()
        .ask(
            VmapNode.EdgeRuns.class,
            peers.node(k),
            settings.askTimeout(),
            (ActorRef<VmapNode.EdgeRuns> ref) -> new VmapNode.GetEdgeRuns(first, last, ref),
            (runs, failure) -> new EdgesAnswer(serial, k, runs));
  }

  private Behavior<Command> onEdges(EdgesAnswer m) {
    if (m.window() != windowSerial) return this;
    if (m.runs() == null) {
      // A lost question or answer: ask that owner again (a read; nothing to undo).
      askEdges(m.owner());
      return this;
    }
    for (ZoneEdge e : m.runs().edges()) edges.put(e.zone(), e);
    if (--edgesExpected > 0) return this;
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
    windowZones = Math.min(windowZones * 2, 1L << 16);
    askWindow(windowLast + 1);
    return this;
  }

  private enum Fit { FOUND, NOT_HERE, NEVER }

  private long candidateStart;

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
    candidate = new Area(start, start + spec.size(), spec.tag());
    startOwner = geometry.nodeOf(start);
    // requestId#home#area#unique, area = start-end-taghash in hex: the start owner reads the
    // request, its home and the area from it (also after a restart: decisions are stored by id),
    // to confirm with the home that the committed area was kept (VmapNode.PlacementQuery).
    reservationId = requestId + "#" + spec.home() + "#" + VmapNode.areaKey(candidate) + "#" + UUID.randomUUID();
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
    owners = new HashSet<>(byOwner.keySet());
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
    String id = reservationId;
    Area area = candidate;
    int start = startOwner;
    List<Part> everything = allParts;
    long lease = settings.lease().toMillis();
    getContext()
        .ask(
            VmapNode.ReserveReply.class,
            peers.node(next.owner()),
            settings.askTimeout(),
            (ActorRef<VmapNode.ReserveReply> ref) ->
                new VmapNode.Reserve(id, area, start, next.parts(), everything, lease, ref),
            (reply, failure) -> new ReserveAnswer(id, next.owner(), reply));
  }

  private Behavior<Command> onReserveAnswer(ReserveAnswer m) {
    if (!m.reservationId().equals(reservationId)) return this;
    if (m.reply() == null || !m.reply().ok()) {
      refusal = m.reply() == null ? "node " + m.owner() + " did not answer" : m.reply().reason();
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
    String id = reservationId;
    getContext()
        .ask(
            VmapNode.CommitReply.class,
            peers.node(startOwner),
            settings.askTimeout(),
            (ActorRef<VmapNode.CommitReply> ref) -> new VmapNode.CommitArea(id, ref),
            (reply, failure) -> new CommitAnswer(id, reply));
  }

  private Behavior<Command> onCommitAnswer(CommitAnswer m) {
    if (!m.reservationId().equals(reservationId)) return this;
    if (m.reply() == null) {
      // Unknown outcome: the commit may have happened, and giving up now would leave a committed
      // area nobody is told about. The start owner's decision is final and remembered (a late
      // commit is refused and recorded aborted), so ask again until it answers.
      askCommit();
      return this;
    }
    if (!m.reply().committed()) {
      refusal = "reservation expired before commit";
      return giveUpCandidate();
    }
    for (int owner : owners) {
      if (owner != startOwner) peers.node(owner).tell(new VmapNode.CommitPart(reservationId));
    }
    onSuccess.accept(candidate);
    return Behaviors.stopped();
  }

  /** Lost a race for the candidate: give every part back and search again, a bounded number of times. */
  private Behavior<Command> giveUpCandidate() {
    // Every owner, not just those that granted: a reply that timed out may still have reserved.
    for (int owner : owners) peers.node(owner).tell(new VmapNode.CancelReservation(reservationId));
    getContext().getLog().debug("spanning {} lost {}: {}", requestId, candidate, refusal);
    if (attempt >= settings.spanMaxAttempts()) return fail("spanning reservation failed: " + refusal);
    return beginSearch();
  }

  private Behavior<Command> fail(String reason) {
    onFailure.accept(reason);
    return Behaviors.stopped();
  }
}
