package io.vmap.node;

import io.vmap.protocol.AllocSpec;
import io.vmap.protocol.LazyArea;
import io.vmap.protocol.Part;
import io.vmap.protocol.ReleasePiece;
import io.vmap.protocol.ZoneEdge;
import io.vmap.space.Area;
import io.vmap.space.BusyTree;
import io.vmap.space.FreeShard;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything one vmap node owns (the kernel's {@code struct vmap_node} plus its slice of {@code
 * free_vmap_area_root}), as a plain object with no Akka in it. The actor is its only user, so its
 * mailbox is the lock.
 *
 * <p>Every method that changes state is one state transition named after what happened (allocated,
 * freed, spliced, released, reserved, committed, cancelled); a durable node can persist exactly
 * those transitions as events and replay them through the same methods.
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
public final class NodeState {

  /** A piece of a spanning area that starts on another node; the space is carved out of our shard. */
  public record HeldPart(long start, long end, Area area, int startOwner, String reservationId) {}

  /** A two-phase reservation: the parts are carved out of our shard but belong to no area yet. */
  public record Reservation(
      String id, Area area, int startOwner, List<Part> myParts, List<Part> allParts) {
    boolean isStartOwner(int node) {
      return startOwner == node;
    }
  }

  /** What a start owner decided about a reservation (the two-phase commit's decision record). */
  public enum Decision {
    COMMITTED,
    ABORTED,
    PENDING
  }

  /** What a release batch did. */
  public record Released(int areas, long bytes) {}

  private final int node;
  private final Geometry geometry;
  private final FreeShard shard;
  private final BusyTree busy = new BusyTree();
  /** Parts of our own spanning areas, by area start; absent for single-zone areas. */
  private final Map<Long, List<Part>> spans = new HashMap<>();
  /** Pieces of other nodes' spanning areas that lie in our zones, by piece start. */
  private final TreeMap<Long, HeldPart> held = new TreeMap<>(Long::compareUnsigned);
  private final Map<String, Reservation> reservations = new LinkedHashMap<>();
  /** Freed areas not handed to a purge yet, in free order (vmap_purge_list). */
  private final LinkedHashMap<Long, LazyArea> lazy = new LinkedHashMap<>();
  /** Areas handed to a purge epoch and not released yet: still unusable, still counted lazy. */
  private final Map<Long, LazyArea> purging = new HashMap<>();
  /** Start-owner decisions, bounded: a part owner asks only within a lease of the reservation. */
  private final LinkedHashMap<String, Decision> decisions;

  public NodeState(int node, Geometry geometry, int decisionCapacity) {
    this.node = node;
    this.geometry = geometry;
    this.shard = FreeShard.of(geometry, node);
    this.decisions =
        new LinkedHashMap<>(16, 0.75f, false) {
          private static final long serialVersionUID = 1L;

          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Decision> eldest) {
            return size() > decisionCapacity;
          }
        };
  }

  public int node() {
    return node;
  }

  public Geometry geometry() {
    return geometry;
  }

  // ---------------------------------------------------------------- allocation

  /**
   * The lowest aligned fit in this node's shard within {@code [spec.lo, spec.hi)}, moved into the
   * busy tree; null if the shard has none.
   */
  public Area allocate(AllocSpec spec) {
    long start = shard.allocLowest(spec.size(), spec.align(), spec.lo(), spec.hi());
    if (start == FreeShard.NO_FIT) return null;
    Area area = new Area(start, start + spec.size(), spec.tag());
    busy.insert(area);
    return area;
  }

  // ---------------------------------------------------------------- lookup and free

  /** The busy area of ours containing {@code addr}, or null. */
  public Area find(long addr) {
    return busy.find(addr);
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
   * and joins the lazy list; its space stays unusable until a purge releases it. Null if no busy
   * area starts there.
   */
  public LazyArea free(long start) {
    Area area = busy.remove(start);
    if (area == null) return null;
    List<Part> parts = spans.remove(start);
    if (parts == null) parts = List.of(new Part(node, area.start(), area.end()));
    LazyArea la = new LazyArea(area, node, parts);
    lazy.put(start, la);
    return la;
  }

  // ---------------------------------------------------------------- purge

  /**
   * {@code llist_del_all()}: hands every lazy area to a purge epoch at once; frees that arrive
   * later belong to the next epoch. The areas stay unusable (and counted lazy) until released.
   */
  public List<LazyArea> spliceLazy() {
    List<LazyArea> out = new ArrayList<>(lazy.values());
    for (LazyArea la : out) purging.put(la.area().start(), la);
    lazy.clear();
    return out;
  }

  /**
   * Returns flushed space to the free shard ({@code merge_or_add_vmap_area}). An area counts as
   * released when its start piece is.
   */
  public Released release(List<ReleasePiece> pieces) {
    int areas = 0;
    long bytes = 0;
    for (ReleasePiece p : pieces) {
      if (p.start() == p.areaStart()) {
        if (purging.remove(p.areaStart()) == null) {
          throw new IllegalStateException(
              "node " + node + ": release of " + Unsigned.hex(p.areaStart()) + " which is not purging");
        }
        areas++;
      } else {
        held.remove(p.start());
      }
      shard.release(p.start(), p.end());
      bytes += p.end() - p.start();
    }
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
   * Carves {@code myParts} out of the shard and records the reservation; null on success, else the
   * reason (and nothing changed). A repeated reserve of the same id succeeds without carving again.
   */
  public String reserve(String id, Area area, int startOwner, List<Part> myParts, List<Part> all) {
    if (reservations.containsKey(id)) return null;
    if (decisions.containsKey(id)) return "reservation " + id + " already " + decisions.get(id);
    for (Part p : myParts) {
      if (p.node() != node || !shard.isFree(p.start(), p.end())) {
        return "node " + node + ": " + Unsigned.hex(p.start()) + "-" + Unsigned.hex(p.end())
            + " is not free";
      }
    }
    for (Part p : myParts) {
      if (!shard.allocExact(p.start(), p.end())) {
        throw new IllegalStateException("isFree/allocExact disagree at " + Unsigned.hex(p.start()));
      }
    }
    reservations.put(id, new Reservation(id, area, startOwner, List.copyOf(myParts), List.copyOf(all)));
    return null;
  }

  public Reservation reservation(String id) {
    return reservations.get(id);
  }

  /**
   * A part owner asks the start owner what became of reservation {@code id}. An id the start owner
   * has never seen is recorded aborted, so a reserve that arrives after the question (messages can
   * be reordered across the network) is refused instead of committing space already given back.
   */
  public Decision resolve(String id) {
    Decision d = decisions.get(id);
    if (d != null) return d;
    if (reservations.containsKey(id)) return Decision.PENDING;
    decisions.put(id, Decision.ABORTED);
    return Decision.ABORTED;
  }

  /**
   * Start owner's commit point: the reservation becomes a busy area. False if the reservation is
   * gone (its lease expired, or it was cancelled), and the id is then recorded as aborted so a late
   * commit can never resurrect it.
   */
  public boolean commitAsStartOwner(String id) {
    Reservation r = reservations.get(id);
    if (r == null || r.startOwner() != node) {
      decisions.putIfAbsent(id, Decision.ABORTED);
      return decisions.get(id) == Decision.COMMITTED;
    }
    reservations.remove(id);
    busy.insert(r.area());
    spans.put(r.area().start(), r.allParts());
    decisions.put(id, Decision.COMMITTED);
    return true;
  }

  /** A part owner learns the area was committed: the reserved parts become held parts. */
  public void commitAsPartOwner(String id) {
    Reservation r = reservations.remove(id);
    if (r == null) return;
    for (Part p : r.myParts()) {
      held.put(p.start(), new HeldPart(p.start(), p.end(), r.area(), r.startOwner(), id));
    }
  }

  /**
   * Gives a reservation's parts back to the shard. On the start owner the id is recorded aborted.
   * No-op for an unknown id.
   */
  public void cancel(String id) {
    Reservation r = reservations.remove(id);
    if (r == null) return;
    if (r.startOwner() == node) decisions.put(id, Decision.ABORTED);
    for (Part p : r.myParts()) shard.release(p.start(), p.end());
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
    List<LazyArea> out = new ArrayList<>(lazy.values());
    out.addAll(purging.values());
    return out;
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

  private long bytesHere(long start, List<Part> parts, long size) {
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
    long[] owned = {0};
    geometry.forEachOwnedRange(node, (s, e) -> owned[0] += e - s);
    long held = 0;
    for (HeldPart h : this.held.values()) held += h.end() - h.start();
    long own = 0;
    for (Area a : busy.areas()) {
      if (geometry.nodeOf(a.start()) != node) {
        throw new IllegalStateException("node " + node + " holds busy " + a + " of node "
            + geometry.nodeOf(a.start()));
      }
      own += bytesHere(a.start(), spans.get(a.start()), a.size());
    }
    for (LazyArea la : unpurged()) own += bytesHere(la.area().start(), la.parts(), la.area().size());
    long sum = shard.freeBytes() + own + held + reservedBytes();
    if (sum != owned[0]) {
      throw new IllegalStateException("node " + node + ": free " + shard.freeBytes() + " + areas "
          + own + " + held " + held + " + reserved " + reservedBytes() + " = " + sum
          + " but the node owns " + owned[0]);
    }
  }
}
