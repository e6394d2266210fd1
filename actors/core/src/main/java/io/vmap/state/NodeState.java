package io.vmap.state;

import io.vmap.space.Area;
import io.vmap.space.BusyTree;
import io.vmap.space.FreeRuns;
import io.vmap.space.FreeShard;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Everything one vmap node owns (the kernel's {@code struct vmap_node} plus its slice of {@code
 * free_vmap_area_root}), as a plain object with no Akka in it. The actor is its only user, so its
 * mailbox is the lock.
 *
 * <p>State changes only through {@code apply}, one method per {@link NodeEvent} type with a typed
 * result (the allocated {@link Area}, the freed {@link LazyArea}, the spliced list, the {@link
 * Released} counts). A durable node stores exactly those events and replays them through the same
 * methods ({@link #replay}); {@link #onApplied} hands every applied event to the node's journal.
 *
 * <p>Invariants, checked by {@link #checkInvariants()}:
 *
 * <ul>
 *   <li>every byte of the node's zones is in exactly one of: the free shard, a busy area's part on
 *       this node, a lazy or purging area's part on this node, a held part (a piece of another
 *       node's spanning area), or a reservation;
 *   <li>busy areas start in zones this node owns ({@code nodeOf(start) == node}).
 * </ul>
 */
public final class NodeState implements ReadIndex {

  /** What a release batch did. */
  public record Released(int areas, long bytes) {}

  private final int node;
  private final Geometry geometry;
  private final FreeShard shard;
  private final BusyTree busy;
  /** Parts of our own spanning areas, by area start; absent for single-zone areas. */
  private final Map<Long, List<Part>> spans = new HashMap<>();
  /** Pieces of other nodes' spanning areas that lie in our zones, by piece start. */
  private final TreeMap<Long, HeldPart> held = new TreeMap<>(Long::compareUnsigned);
  private final Map<ReservationId, Reservation> reservations = new LinkedHashMap<>();
  /** Freed areas not handed to a purge yet, in free order (vmap_purge_list). */
  private LazyList lazy = new LazyList();
  /**
   * Areas handed to a purge epoch and not released yet: still unusable, still counted lazy. The
   * map of the lazy list handed over, not a copy (a splice is O(1)).
   */
  private AreasByStart purging = new AreasByStart();
  /** The epoch of the last splice: what a new purge coordinator re-drives after a crash. */
  private long spliceEpoch;
  /**
   * The epoch of the last release and the pieces released in it that the purging map does not
   * guard (held pieces; own areas of an epoch this node did not splice last): a late copy of one
   * of its batches must not release a piece again (a newer area with the same boundaries and tag may lie
   * there by then). Derived from the {@link NodeEvent.PiecesReleased} events and kept in snapshots,
   * so it survives a restart without a journal write of its own.
   */
  private long releaseEpoch = -1;
  private final Set<ReleasePiece> releasedInEpoch = new HashSet<>();
  /** First answers to clients' requests, by session window (a retry gets the first answer). */
  private final ClientAnswers clients;
  /** First answers to neighbour attempts placed here, by attempt, bounded. */
  private final BoundedMap<PlacementId, Answer> attempts;
  /** Placements freed because their home did not keep them, by placement, bounded. */
  private final BoundedMap<PlacementId, Answer> abandoned;
  /** Start-owner decisions: a part owner asks only within a lease of the reservation. */
  private final BoundedMap<ReservationId, Decision> decisions;
  private Consumer<NodeEvent> applied = e -> {};
  /** The tenant of each area and what each tenant holds here. */
  private final Ownership ownership = new Ownership();
  /**
   * Held parts plus reservations for other start owners: pieces of other nodes' areas that may
   * cover an address here. While there are none, a miss in the busy tree is certain (read by
   * {@link #find(long)} from other threads).
   */
  private volatile int foreignPieces;

  /** How much a node remembers of past answers and decisions, for retries. */
  public record Memory(int dedupWindow, int dedupSessions, int answers, int decisions) {
    public Memory {
      if (answers < 1 || decisions < 1) throw new IllegalArgumentException("answers " + answers + " or decisions " + decisions + " < 1");
    }
  }

  private final Memory memory;

  public NodeState(int node, Geometry geometry, Memory memory) {
    this(node, geometry, memory, FreeShard.of(geometry, node));
  }

  private NodeState(int node, Geometry geometry, Memory memory, FreeShard shard) {
    this.node = node;
    this.geometry = geometry;
    this.busy = new BusyTree(geometry.page());
    this.memory = memory;
    this.shard = shard;
    this.decisions = new BoundedMap<>(memory.decisions());
    this.clients = new ClientAnswers(memory.dedupWindow(), memory.dedupSessions(), memory.answers());
    this.attempts = new BoundedMap<>(memory.answers());
    this.abandoned = new BoundedMap<>(memory.answers());
  }

  /** Every event applied from now on is also handed to {@code sink} (a durable node's journal). */
  public void onApplied(Consumer<NodeEvent> sink) {
    this.applied = sink;
  }

  /** Applies a stored event through its typed handler. */
  public void replay(NodeEvent event) {
    event.replayOn(this);
  }

  public int node() {
    return node;
  }

  public Geometry geometry() {
    return geometry;
  }

  // ---------------------------------------------------------------- snapshots

  /** Everything but the free space, which is {@link #freeRuns()} (the snapshot's block lists are empty). */
  public NodeSnapshot snapshot() {
    long[] fs = {};
    long[] fe = {};
    List<Long> spanStarts = new ArrayList<>(spans.keySet());
    List<List<Part>> spanParts = new ArrayList<>();
    for (Long s : spanStarts) spanParts.add(List.copyOf(spans.get(s)));
    List<RequestKey> clientKeys = new ArrayList<>();
    List<Answer> clientAnswers = new ArrayList<>();
    clients.forEach((k, a) -> {
      clientKeys.add(k);
      clientAnswers.add(a);
    });
    return new NodeSnapshot(
        node, spliceEpoch, fs, fe, new ArrayList<>(busy.areas()), spanStarts, spanParts,
        new ArrayList<>(held.values()), new ArrayList<>(reservations.values()),
        lazy.copyInFreeOrder(), new ArrayList<>(purging.values()),
        new ArrayList<>(decisions.keys()), values(decisions), clientKeys, clientAnswers,
        new ArrayList<>(attempts.keys()), values(attempts), new ArrayList<>(abandoned.keys()), values(abandoned),
        releaseEpoch, new ArrayList<>(releasedInEpoch));
  }

  private static <K, V> List<V> values(BoundedMap<K, V> m) {
    List<V> out = new ArrayList<>(m.size());
    for (Map.Entry<K, V> e : m.entries()) out.add(e.getValue());
    return out;
  }

  /** The free shard's entries, runs of untouched zones as one each: O(entries), never one per zone. */
  public FreeRuns freeRuns() {
    return FreeRuns.of(shard);
  }

  /** The state a snapshot describes, its free space given as blocks (snapshots stored before free runs). */
  public static NodeState restore(NodeSnapshot s, Geometry geometry, Memory memory) {
    return restore(s, FreeShard.ofBlocks(geometry, s.freeStarts(), s.freeEnds(), s.freeStarts().length), geometry, memory);
  }

  /** The state a snapshot without block lists ({@link #snapshot()}) and its free space describe. */
  public static NodeState restore(NodeSnapshot s, FreeRuns free, Geometry geometry, Memory memory) {
    return restore(s, free.toShard(geometry), geometry, memory);
  }

  private static NodeState restore(NodeSnapshot s, FreeShard shard, Geometry geometry, Memory memory) {
    NodeState st = new NodeState(s.node(), geometry, memory, shard);
    st.spliceEpoch = s.spliceEpoch();
    for (Area a : s.busy()) st.busy.insert(a);
    for (int k = 0; k < s.spanStarts().size(); k++) st.spans.put(s.spanStarts().get(k), s.spanParts().get(k));
    for (HeldPart h : s.held()) st.held.put(h.start(), h);
    for (Reservation r : s.reservations()) st.reservations.put(r.id(), r);
    st.countForeignPieces();
    for (LazyArea la : s.lazy()) st.lazy.add(la);
    for (LazyArea la : s.purging()) st.purging.put(la);
    for (int k = 0; k < s.decisionIds().size(); k++) st.decisions.put(s.decisionIds().get(k), s.decisions().get(k));
    for (int k = 0; k < s.clientKeys().size(); k++) st.clients.record(s.clientKeys().get(k), s.clientAnswers().get(k));
    for (int k = 0; k < s.attemptKeys().size(); k++) st.attempts.put(s.attemptKeys().get(k), s.attemptAnswers().get(k));
    for (int k = 0; k < s.abandonedKeys().size(); k++) st.abandoned.put(s.abandonedKeys().get(k), s.abandoned().get(k));
    st.releaseEpoch = s.releaseEpoch();
    st.releasedInEpoch.addAll(s.releasedInEpoch());
    st.restoreOwners(Map.of());
    return st;
  }

  /** Sets the owners of this state's areas (from an {@link OwnedSnapshot}); tenant usage follows from them. */
  void restoreOwners(Map<Long, String> owners) {
    ownership.restore(owners, busy.areas(), unpurged());
  }

  /** Which tenant each area belongs to, and what each tenant holds here. */
  public Ownership ownership() {
    return ownership;
  }

  /** An independent copy (snapshot and restore); the copy has no {@link #onApplied} sink. */
  public NodeState copy() {
    NodeState c = restore(snapshot(), freeRuns(), geometry, memory);
    c.restoreOwners(ownership.owners());
    return c;
  }

  // ---------------------------------------------------------------- answers

  /**
   * The first answer to the allocation (or neighbour attempt) or free under {@code key}, or null if
   * none is remembered. A client request's key names one operation; a placement key may name both
   * an attempt's allocation and, if its home did not keep it, the free of that area.
   */
  public Answer answer(AnswerKey key, boolean free) {
    if (key instanceof RequestKey r) return clients.lookup(r);
    return (free ? abandoned : attempts).get((PlacementId) key);
  }

  private void record(AnswerKey key, boolean free, Answer answer) {
    if (key instanceof RequestKey r) clients.record(r, answer);
    else (free ? abandoned : attempts).put((PlacementId) key, answer);
  }

  /** Remembered answers to neighbour attempts, oldest first (a restarted node confirms its placements again). */
  public Collection<Map.Entry<PlacementId, Answer>> attemptAnswers() {
    return attempts.entries();
  }

  /** Remembered start-owner decisions, oldest first. */
  public Collection<Map.Entry<ReservationId, Decision>> decisions() {
    return decisions.entries();
  }

  /** Records a failed answer that changed nothing else. */
  public void apply(NodeEvent.Refused e) {
    record(e.key(), e.free(), new Answer.Failed(e.code(), e.reason()));
    applied.accept(e);
  }

  // ---------------------------------------------------------------- allocation

  /**
   * The lowest aligned fit in this node's shard within {@code [spec.lo, spec.hi)}, or null if the
   * shard has none. Changes nothing: {@link NodeEvent.AreaAllocated} takes it.
   */
  public Area findFit(AllocSpec spec) {
    if (!canHoldAlignment(spec.align())) return null;
    long start = shard.findLowest(spec.size(), spec.align(), spec.lo(), spec.hi());
    if (start == FreeShard.NO_FIT) return null;
    return new Area(start, start + spec.size(), spec.tag());
  }

  /**
   * Whether any of our zones starts at a multiple of {@code align}. An alignment of a zone or more
   * puts every candidate at a zone start whose index is a multiple of {@code m = align / zone}; we
   * own the indices {@code k mod nodes}; both hold for some index iff {@code gcd(nodes, m)} divides
   * {@code k}, and with {@code m} a power of two that gcd is {@code min(m, lowestOneBit(nodes))}.
   * Without this, a node that can never fit walks every one of its zone blocks (each big enough,
   * none aligned) on every request: milliseconds per node with 65,536 zones each.
   */
  private boolean canHoldAlignment(long align) {
    int nodes = geometry.nodes();
    if (nodes == 1 || Unsigned.lt(align, geometry.zone()) || align == geometry.zone()) return true;
    long m = Long.divideUnsigned(align, geometry.zone());
    long g = Math.min(m, Integer.lowestOneBit(nodes));
    return node % g == 0;
  }

  /** Carves the area out of the shard into the busy tree; returns it. */
  public Area apply(NodeEvent.AreaAllocated e) {
    return allocate(e.area(), e.key(), Principal.DEFAULT_TENANT, e);
  }

  /** As {@link #apply(NodeEvent.AreaAllocated)}, the area owned by {@code e.tenant()}. */
  public Area apply(NodeEvent.AreaAllocatedFor e) {
    return allocate(e.area(), e.key(), e.tenant(), e);
  }

  /**
   * Applies the allocation event of {@code area} for {@code tenant} ({@link NodeEvent.AreaAllocated}
   * for the default tenant, else {@link NodeEvent.AreaAllocatedFor}); returns the area.
   */
  public Area allocate(Area area, AnswerKey key, String tenant) {
    NodeEvent e = NodeEvent.allocated(area, key, tenant);
    return e instanceof NodeEvent.AreaAllocated plain ? apply(plain) : apply((NodeEvent.AreaAllocatedFor) e);
  }

  private Area allocate(Area area, AnswerKey key, String tenant, NodeEvent e) {
    if (!shard.allocExact(area.start(), area.end())) {
      throw new IllegalStateException("node " + node + ": " + area + " is not free");
    }
    ownership.allocated(area, tenant); // before the busy tree: a reader that finds the area finds its owner
    busy.insert(area);
    record(key, false, new Answer.Done(area));
    applied.accept(e);
    return area;
  }

  /** Remembers an area another node placed for a request homed here. */
  public void apply(NodeEvent.Placed e) {
    record(e.request(), false, new Answer.Done(e.area()));
    applied.accept(e);
  }

  /** The busy area starting exactly at {@code start}, or null. */
  public Area busyAt(long start) {
    return busy.get(start);
  }

  // ---------------------------------------------------------------- lookup and free

  /** The busy area of ours containing {@code addr}, or null. The owner's lookup. */
  public Area busyContaining(long addr) {
    return busy.find(addr);
  }

  /**
   * {@link ReadIndex}: the lookup any thread may make, without the node's mailbox. A durable node
   * publishes its journal's replica (the stored state), so what it answers was acknowledged.
   */
  @Override
  public Area find(long addr) {
    Area a = busy.findConcurrent(addr);
    if (a != null) return a;
    return foreignPieces == 0 ? null : ReadIndex.UNSURE;
  }

  /**
   * {@link #find} with the area's tenant, for readers on any thread: null if no area contains
   * {@code addr}, {@link OwnedArea#UNSURE} when only the node can tell (a foreign piece, or owners
   * changing under the read several times in a row).
   */
  @Override
  public OwnedArea findOwned(long addr) {
    for (int tries = 0; tries < 4; tries++) {
      long v = ownership.version();
      Area a = find(addr);
      if (a == null) return null;
      if (a == ReadIndex.UNSURE) return OwnedArea.UNSURE;
      String tenant = ownership.ownerOf(a.start());
      if (ownership.version() == v) return new OwnedArea(a, tenant);
    }
    return OwnedArea.UNSURE;
  }

  private void countForeignPieces() {
    int n = held.size();
    for (Reservation r : reservations.values()) if (r.startOwner() != node) n++;
    foreignPieces = n;
  }

  /**
   * The node holding the start of the area that covers {@code addr} from another node (a held part
   * or a reservation in our zones), or -1 if nothing of another node's lies at {@code addr}.
   */
  public int startOwnerCovering(long addr) {
    Map.Entry<Long, HeldPart> e = held.floorEntry(addr);
    if (e != null && Unsigned.lt(addr, e.getValue().end())) return e.getValue().startOwner();
    for (Reservation r : reservations.values()) {
      if (r.startOwner() == node) continue;
      for (Part p : r.myParts()) {
        if (Unsigned.le(p.start(), addr) && Unsigned.lt(addr, p.end())) return r.startOwner();
      }
    }
    return -1;
  }

  /**
   * {@code free_vmap_area_noflush()}: the busy area starting at {@code start} leaves the busy tree
   * and joins the lazy list; its space stays unusable until a purge releases it.
   */
  public LazyArea apply(NodeEvent.AreaFreed e) {
    long start = e.start();
    Area area = busy.remove(start);
    if (area == null) {
      throw new IllegalStateException("node " + node + ": no busy area starts at " + Unsigned.hex(start));
    }
    record(e.key(), true, new Answer.Done(area));
    List<Part> parts = spans.remove(start);
    if (parts == null) parts = List.of(new Part(node, area.start(), area.end()));
    LazyArea la = new LazyArea(area, node, parts);
    ownership.freed(area);
    lazy.add(la);
    applied.accept(e);
    return la;
  }

  // ---------------------------------------------------------------- purge

  /**
   * {@code llist_del_all()}: hands every lazy area to a purge epoch at once, in O(1) (the list
   * itself, not a copy); frees that arrive later belong to the next epoch. The areas stay unusable
   * (and counted lazy) until released.
   *
   * @return the areas to flush and release, in free order, owned by the caller (this state never
   *     changes the list again): the lazy list, plus anything an earlier epoch spliced and never
   *     released (its release was lost), which is flushed again and released with this epoch
   *     instead of staying quarantined for good
   */
  public List<LazyArea> apply(NodeEvent.LazySpliced e) {
    spliceEpoch = e.epoch();
    LazyList.HandedOver handed = lazy.handOver();
    lazy = new LazyList();
    List<LazyArea> out = handed.inFreeOrder();
    if (purging.isEmpty()) {
      purging = handed.byStart();
    } else {
      // Left over from an earlier epoch (a lost release): rare, and the only copy a splice makes.
      out = new ArrayList<>(out);
      out.addAll(purging.values());
      purging.putAll(handed.byStart());
    }
    applied.accept(e);
    return out;
  }

  /**
   * Returns flushed space to the free shard ({@code merge_or_add_vmap_area}). The start piece of
   * one of our areas releases all its parts here; a piece of another node's area releases that
   * held part. Pieces already released, or never ours, are ignored, so a repeated batch (a retry, a
   * successor coordinator re-driving an epoch) is harmless.
   */
  public Released apply(NodeEvent.PiecesReleased e) {
    if (e.epoch() != releaseEpoch) {
      releaseEpoch = e.epoch();
      releasedInEpoch.clear();
    }
    // An own area of the epoch spliced last leaves the purging map when released, which guards a
    // repeat: only the other pieces are recorded, so the set grows with the spanning traffic
    // rather than with every area of a big epoch.
    for (ReleasePiece p : e.pieces()) {
      if (!(p.start() == p.areaStart() && e.epoch() == spliceEpoch)) releasedInEpoch.add(p);
    }
    int areas = 0;
    long bytes = 0;
    for (ReleasePiece p : e.pieces()) {
      if (p.start() == p.areaStart()) {
        // Our own area: its start piece gives back every part of it on this node at once.
        LazyArea la = purging.remove(p.areaStart());
        // A successor coordinator may re-drive an epoch whose splice this node never stored.
        if (la == null) la = lazy.remove(p.areaStart());
        if (la == null) continue; // released already: a duplicate release changes nothing
        for (Part part : la.parts()) {
          if (part.node() != node) continue;
          shard.release(part.start(), part.end());
          bytes += part.end() - part.start();
        }
        ownership.released(la.area());
        areas++;
      } else {
        HeldPart h = held.get(p.start());
        if (h == null || h.end() != p.end() || h.area().start() != p.areaStart()) continue;
        held.remove(p.start());
        shard.release(p.start(), p.end());
        bytes += p.end() - p.start();
        countForeignPieces();
      }
    }
    applied.accept(e);
    return new Released(areas, bytes);
  }

  // ---------------------------------------------------------------- spanning: edges

  /** Edge runs of every zone this node owns in {@code [firstZone, lastZone]}, non-empty ones only. */
  public List<ZoneEdge> edgeRuns(long firstZone, long lastZone) {
    List<ZoneEdge> out = new ArrayList<>();
    int nodes = geometry.nodes();
    long rem = Long.remainderUnsigned(firstZone, nodes);
    long z = firstZone + Long.remainderUnsigned(node - rem + nodes, nodes);
    for (; Unsigned.le(z, lastZone) && Unsigned.le(firstZone, z); z += nodes) {
      long lo = geometry.zoneLo(z);
      long hi = geometry.zoneHi(z);
      long low = 0;
      long high = 0;
      long[] b = shard.blockContaining(lo);
      if (b != null) low = Unsigned.min(b[1], hi) - lo;
      long[] c = shard.blockContaining(hi - 1);
      if (c != null) high = hi - Unsigned.max(c[0], lo);
      if (low != 0 || high != 0) out.add(new ZoneEdge(z, low, high));
    }
    return out;
  }

  // ---------------------------------------------------------------- spanning: two-phase

  /**
   * Why {@code myParts} cannot be reserved under {@code id}, or null if they can (all free and
   * ours, and the id not already decided). Changes nothing.
   */
  public String reserveRefusal(ReservationId id, Area area, List<Part> myParts) {
    if (decisions.containsKey(id)) return "reservation " + id + " already " + decisions.get(id);
    if (area == null || myParts == null || myParts.isEmpty()) return "reservation " + id + " has no parts";
    long prevEnd = 0;
    boolean first = true;
    for (Part p : myParts) {
      String where = "node " + node + ": part " + Unsigned.hex(p.start()) + "-" + Unsigned.hex(p.end());
      if (!Unsigned.lt(p.start(), p.end())) return where + " is empty or inverted";
      if (p.node() != node || geometry.nodeOf(p.start()) != node
          || geometry.zoneOf(p.start()) != geometry.zoneOf(p.end() - 1)) {
        return where + " is not inside one zone of node " + node;
      }
      if (!geometry.contains(p.start(), p.end())) return where + " is outside the space";
      if (Unsigned.lt(p.start(), area.start()) || Unsigned.lt(area.end(), p.end())) {
        return where + " is outside its area " + area;
      }
      if (!first && Unsigned.lt(p.start(), prevEnd)) return where + " overlaps or precedes the part before it";
      if (!shard.isFree(p.start(), p.end())) return where + " is not free";
      prevEnd = p.end();
      first = false;
    }
    return null;
  }

  /** Carves a reservation's parts out of the shard. */
  public void apply(NodeEvent.SpanReserved e) {
    Reservation r = e.reservation();
    for (Part p : r.myParts()) {
      if (!shard.allocExact(p.start(), p.end())) {
        throw new IllegalStateException("node " + node + ": reserved " + Unsigned.hex(p.start()) + " is not free");
      }
    }
    reservations.put(r.id(), new Reservation(r.id(), r.startOwner(), List.copyOf(r.myParts()), List.copyOf(r.allParts())));
    countForeignPieces();
    applied.accept(e);
  }

  public Reservation reservation(ReservationId id) {
    return reservations.get(id);
  }

  /**
   * What the start owner decided about reservation {@code id}: null if it never saw it (the actor
   * then records it aborted with {@link NodeEvent.SpanResolved}, so a reserve that arrives after
   * the question, reordered by the network, is refused instead of committing space given back).
   */
  public Decision decision(ReservationId id) {
    Decision d = decisions.get(id);
    if (d != null) return d;
    return reservations.containsKey(id) ? Decision.PENDING : null;
  }

  /**
   * Start owner's commit point: the reservation becomes a busy area. The actor emits this only
   * while the reservation is held; a late commit finds it gone and gets "not committed".
   */
  public void apply(NodeEvent.SpanCommitted e) {
    commit(e.id(), Principal.DEFAULT_TENANT, e);
  }

  /** As {@link #apply(NodeEvent.SpanCommitted)}, the area owned by {@code e.tenant()}. */
  public void apply(NodeEvent.SpanCommittedFor e) {
    commit(e.id(), e.tenant(), e);
  }

  /** The start owner's commit of reservation {@code id} for {@code tenant} (the plain event for the default tenant). */
  public void commit(ReservationId id, String tenant) {
    if (tenant == null || tenant.equals(Principal.DEFAULT_TENANT)) apply(new NodeEvent.SpanCommitted(id));
    else apply(new NodeEvent.SpanCommittedFor(id, tenant));
  }

  private void commit(ReservationId id, String tenant, NodeEvent e) {
    Reservation r = reservations.remove(id);
    if (r == null || r.startOwner() != node) {
      throw new IllegalStateException("node " + node + ": no reservation " + id + " to commit");
    }
    ownership.allocated(r.area(), tenant);
    busy.insert(r.area());
    spans.put(r.area().start(), r.allParts());
    decisions.put(id, Decision.COMMITTED);
    applied.accept(e);
  }

  /** A part owner learns the area was committed: the reserved parts become held parts. */
  public void apply(NodeEvent.SpanPartCommitted e) {
    Reservation r = reservations.remove(e.id());
    if (r != null) {
      for (Part p : r.myParts()) {
        held.put(p.start(), new HeldPart(p.start(), p.end(), r.area(), r.startOwner(), e.id()));
      }
      countForeignPieces();
    }
    applied.accept(e);
  }

  /**
   * Gives a reservation's parts back to the shard. On the start owner the id is recorded aborted.
   * No-op for an unknown id.
   */
  public void apply(NodeEvent.SpanCancelled e) {
    Reservation r = reservations.remove(e.id());
    if (r != null) {
      if (r.startOwner() == node) decisions.put(e.id(), Decision.ABORTED);
      for (Part p : r.myParts()) shard.release(p.start(), p.end());
      countForeignPieces();
    }
    applied.accept(e);
  }

  /** Records an id the start owner never saw as aborted, so a late reserve of it is refused. */
  public void apply(NodeEvent.SpanResolved e) {
    decisions.putIfAbsent(e.id(), Decision.ABORTED);
    applied.accept(e);
  }

  // ---------------------------------------------------------------- views

  public Collection<Area> busyAreas() {
    return busy.areas();
  }

  public int busyCount() {
    return busy.size();
  }

  /** Lazy and purging areas (not released yet). */
  public List<LazyArea> unpurged() {
    List<LazyArea> out = lazy.copyInFreeOrder();
    out.addAll(purging.values());
    return out;
  }

  /** The area handed to a purge and not released yet that starts at {@code start}, or null. */
  public LazyArea purgingAt(long start) {
    return purging.get(start);
  }

  /** The lazily freed area not handed to a purge yet that starts at {@code start}, or null. */
  public LazyArea lazyAt(long start) {
    return lazy.get(start);
  }

  /** The held part (a piece of another node's spanning area) starting at {@code start}, or null. */
  public HeldPart heldAt(long start) {
    return held.get(start);
  }

  /** Areas handed to a purge epoch and not released yet (a successor coordinator re-drives them). */
  public List<LazyArea> purging() {
    return new ArrayList<>(purging.values());
  }

  public int purgingCount() {
    return purging.size();
  }

  /** Pages of every unpurged area whose start is ours. */
  public long unpurgedPages() {
    long b = 0;
    for (LazyArea la : lazy.areas()) b += la.area().size();
    for (LazyArea la : purging.values()) b += la.area().size();
    return geometry.pagesOf(b);
  }

  public long spliceEpoch() {
    return spliceEpoch;
  }

  /** Whether {@code piece} was released in {@code epoch}, the epoch of the last release (else false). */
  public boolean releasedInEpoch(long epoch, ReleasePiece piece) {
    return epoch == releaseEpoch && releasedInEpoch.contains(piece);
  }

  public int lazyCount() {
    return lazy.size() + purging.size();
  }

  public long freeBytes() {
    return shard.freeBytes();
  }

  public int freeBlocks() {
    return shard.blockCount();
  }

  public long largestFreeBlock() {
    return shard.largestBlock();
  }

  public int reservationCount() {
    return reservations.size();
  }

  public Collection<Reservation> reservations() {
    return java.util.Collections.unmodifiableCollection(reservations.values());
  }

  public long reservedBytes() {
    long b = 0;
    for (Reservation r : reservations.values()) {
      for (Part p : r.myParts()) b += p.end() - p.start();
    }
    return b;
  }

  public Collection<HeldPart> heldParts() {
    return held.values();
  }

  /** Parts of this node's busy spanning areas, by area start. */
  public Map<Long, List<Part>> spanningParts() {
    return java.util.Collections.unmodifiableMap(spans);
  }

  /** Every free block, in address order. */
  public void forEachFreeBlock(FreeShard.BlockVisitor v) {
    shard.forEach(v);
  }

  private long bytesHere(List<Part> parts, long size) {
    if (parts == null) return size;
    long b = 0;
    for (Part p : parts) if (p.node() == node) b += p.end() - p.start();
    return b;
  }

  /**
   * Checks the accounting invariant: free + busy pieces + lazy pieces + held + reserved bytes equal
   * the bytes of the node's zones. Throws IllegalStateException naming the difference. O(n).
   */
  public void checkInvariants() {
    shard.checkInvariants();
    long[] owned = {geometry.ownedBytes(node)};
    long heldBytes = 0;
    for (HeldPart h : held.values()) heldBytes += h.end() - h.start();
    long own = 0;
    for (Area a : busy.areas()) {
      if (geometry.nodeOf(a.start()) != node) {
        throw new IllegalStateException("node " + node + " holds busy " + a + " of node "
            + geometry.nodeOf(a.start()));
      }
      own += bytesHere(spans.get(a.start()), a.size());
    }
    for (LazyArea la : unpurged()) own += bytesHere(la.parts(), la.area().size());
    ownership.check(node, busy.areas(), unpurged());
    long sum = shard.freeBytes() + own + heldBytes + reservedBytes();
    if (sum != owned[0]) {
      throw new IllegalStateException("node " + node + ": free " + shard.freeBytes() + " + areas "
          + own + " + held " + heldBytes + " + reserved " + reservedBytes() + " = " + sum
          + " but the node owns " + owned[0]);
    }
  }
}
