package io.vmap.state;

import io.vmap.space.Area;
import io.vmap.space.BusyTree;
import io.vmap.space.FreeRuns;
import io.vmap.space.FreeShard;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
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
 * <p>Two concerns keep their books in classes of their own, owned and changed only by the handlers
 * here: the two-phase spanning protocol ({@link SpanBook}, read through {@link #spans()}) and the
 * freed areas until a purge releases them ({@link LazyBook}, {@link #lazy()}). {@link
 * NodeSnapshots} writes and reads the snapshot of all of them.
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

  // The books are package-private for the snapshot codec (NodeSnapshots) only; everything else
  // here changes them through the apply handlers.

  final int node;
  private final Geometry geometry;
  final FreeShard shard;
  final BusyTree busy;
  /** Reservations, held parts, our spanning areas' parts and decisions (the two-phase protocol). */
  final SpanBook spans;
  /** The lazy list, the areas handed to a purge epoch, and the epochs (vmap_purge_list). */
  final LazyBook lazy;
  /** First answers to clients' requests, by session window (a retry gets the first answer). */
  final ClientAnswers clients;
  /** First answers to neighbour attempts placed here, by attempt, bounded. */
  final BoundedMap<PlacementId, Answer> attempts;
  /** Placements freed because their home did not keep them, by placement, bounded. */
  final BoundedMap<PlacementId, Answer> abandoned;
  private Consumer<NodeEvent> applied = e -> {};
  /** The tenant of each area and what each tenant holds here. */
  private final Ownership ownership = new Ownership();

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

  /** An empty state around {@code shard} (a new node's, or a snapshot's that {@link NodeSnapshots} fills). */
  NodeState(int node, Geometry geometry, Memory memory, FreeShard shard) {
    this.node = node;
    this.geometry = geometry;
    this.busy = new BusyTree(geometry.page());
    this.memory = memory;
    this.shard = shard;
    this.spans = new SpanBook(node, geometry, shard, memory.decisions());
    this.lazy = new LazyBook(geometry);
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

  /** This state as a snapshot, all but its free space ({@link #freeRuns()}): {@link NodeSnapshots} writes it. */
  public NodeSnapshot snapshot() {
    return NodeSnapshots.of(this);
  }

  /** The free shard's entries, runs of untouched zones as one each: O(entries), never one per zone. */
  public FreeRuns freeRuns() {
    return FreeRuns.of(shard);
  }

  /** The state a snapshot stored before free runs describes, its free blocks listed ({@link NodeSnapshots} reads it). */
  public static NodeState restore(NodeSnapshot s, Geometry geometry, Memory memory) {
    return NodeSnapshots.restore(s, geometry, memory);
  }

  /** The state {@link #snapshot()} and {@link #freeRuns()} describe. */
  public static NodeState restore(NodeSnapshot s, FreeRuns free, Geometry geometry, Memory memory) {
    return NodeSnapshots.restore(s, free, geometry, memory);
  }

  /** Sets the owners of this state's areas (from an {@link OwnedSnapshot}); tenant usage follows from them. */
  void restoreOwners(Map<Long, String> owners) {
    ownership.restore(owners, busy.areas(), lazy.unpurged());
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

  /** A client's acknowledgement floor; stored only if it dropped an answer. */
  public void apply(NodeEvent.Acknowledged e) {
    if (clients.acknowledge(e.session(), e.floor())) applied.accept(e);
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
    return spans.hasForeignPieces() ? ReadIndex.UNSURE : null;
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
    List<Part> parts = spans.forget(start);
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
    List<LazyArea> out = lazy.splice(e.epoch());
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
    lazy.noteReleased(e.epoch(), e.pieces());
    int areas = 0;
    long bytes = 0;
    for (ReleasePiece p : e.pieces()) {
      if (p.start() == p.areaStart()) {
        // Our own area: its start piece gives back every part of it on this node at once.
        LazyArea la = lazy.take(p.areaStart());
        if (la == null) continue; // released already: a duplicate release changes nothing
        for (Part part : la.parts()) {
          if (part.node() != node) continue;
          shard.release(part.start(), part.end());
          bytes += part.end() - part.start();
        }
        ownership.released(la.area());
        areas++;
      } else {
        if (!spans.releaseHeld(p)) continue;
        bytes += p.end() - p.start();
      }
    }
    applied.accept(e);
    return new Released(areas, bytes);
  }

  /**
   * This node's freed areas until released (the lazy list, the purging areas, the epochs), for
   * queries; they change only through the free and purge events above.
   */
  public LazyBook lazy() {
    return lazy;
  }

  // ---------------------------------------------------------------- spanning

  /**
   * This node's books of the spanning protocol (reservations, held parts, its spanning areas'
   * parts, decisions, edge runs), for queries; they change only through the span events below.
   */
  public SpanBook spans() {
    return spans;
  }

  /** Carves a reservation's parts out of the shard. */
  public void apply(NodeEvent.SpanReserved e) {
    spans.reserve(e.reservation());
    applied.accept(e);
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
    Reservation r = spans.takeOwn(id);
    ownership.allocated(r.area(), tenant);
    busy.insert(r.area());
    spans.committed(r);
    applied.accept(e);
  }

  /** A part owner learns the area was committed: the reserved parts become held parts. */
  public void apply(NodeEvent.SpanPartCommitted e) {
    spans.partCommitted(e.id());
    applied.accept(e);
  }

  /**
   * Gives a reservation's parts back to the shard. On the start owner the id is recorded aborted.
   * No-op for an unknown id.
   */
  public void apply(NodeEvent.SpanCancelled e) {
    spans.cancel(e.id());
    applied.accept(e);
  }

  /** Records an id the start owner never saw as aborted, so a late reserve of it is refused. */
  public void apply(NodeEvent.SpanResolved e) {
    spans.resolve(e.id());
    applied.accept(e);
  }

  // ---------------------------------------------------------------- views

  public Collection<Area> busyAreas() {
    return busy.areas();
  }

  public int busyCount() {
    return busy.size();
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
    long heldBytes = spans.heldBytes();
    long own = 0;
    for (Area a : busy.areas()) {
      if (geometry.nodeOf(a.start()) != node) {
        throw new IllegalStateException("node " + node + " holds busy " + a + " of node "
            + geometry.nodeOf(a.start()));
      }
      own += bytesHere(spans.spanningParts().get(a.start()), a.size());
    }
    List<LazyArea> unpurged = lazy.unpurged();
    for (LazyArea la : unpurged) own += bytesHere(la.parts(), la.area().size());
    ownership.check(node, busy.areas(), unpurged);
    long sum = shard.freeBytes() + own + heldBytes + spans.reservedBytes();
    if (sum != owned[0]) {
      throw new IllegalStateException("node " + node + ": free " + shard.freeBytes() + " + areas "
          + own + " + held " + heldBytes + " + reserved " + spans.reservedBytes() + " = " + sum
          + " but the node owns " + owned[0]);
    }
  }
}
