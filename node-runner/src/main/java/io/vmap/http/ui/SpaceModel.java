package io.vmap.http.ui;

import io.vmap.chaos.NodeBooks;
import io.vmap.http.api.InfoJson;
import io.vmap.http.api.NodesJson;
import io.vmap.http.api.SpaceAreaJson;
import io.vmap.http.api.SpaceAreasJson;
import io.vmap.http.api.SpaceJson;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * The whole space as the nodes' books show it at one moment (busy and lazily freed areas, reserved
 * parts of spanning allocations, free blocks), and the views the operator page and {@code vmap top}
 * draw from it: cells of zones ({@link #cells}), the ranges of a zoomed-in piece ({@link #areas}) and
 * per-node usage and fragmentation ({@link #nodes}). Pure: no actors, no clock.
 *
 * <p>Every range is counted where it lies: an area spanning zones of several nodes adds its bytes to
 * each zone it covers (so per-node bytes are bytes of that node's zones, whoever's busy tree holds
 * the area), while area counts belong to the node whose books hold the area.
 */
public final class SpaceModel {

  public static final int DEFAULT_CELLS = 2048;
  public static final int MAX_CELLS = 65536;
  public static final int DEFAULT_AREAS = 5000;
  public static final int MAX_AREAS = 100_000;
  /** At most this many spanning areas are listed with the cells. */
  public static final int SPANNING_LIMIT = 1000;
  /** At most this many owner nodes are listed for one area. */
  public static final int NODES_LISTED = 32;

  /**
   * One range of the books; {@code state} is one of {@link SpaceAreaJson#STATES}; {@code tenant} is
   * the area's (null for a free block or a reservation, whose tenant is known only at commit).
   */
  record Piece(long start, long end, String state, int node, String tag, String tenant) {}

  private final Geometry g;
  private final List<NodeBooks> books;
  private final String takenAt;
  /**
   * Every busy, lazy and reserved range, in no particular order (sorted only for a query's few).
   * Free blocks (a million on the default space) stay in the books' arrays, read in place.
   */
  private final List<Piece> pieces = new ArrayList<>();

  public SpaceModel(Geometry g, List<NodeBooks> books, Instant takenAt) {
    this.g = g;
    this.books = List.copyOf(books);
    this.takenAt = takenAt.toString();
    for (NodeBooks b : books) {
      for (Area a : b.busy()) pieces.add(new Piece(a.start(), a.end(), "busy", b.node(), a.tag(), b.tenantOf(a.start())));
      for (LazyArea la : b.unpurged()) {
        Area a = la.area();
        pieces.add(new Piece(a.start(), a.end(), "lazy", b.node(), a.tag(), b.tenantOf(a.start())));
      }
      for (NodeBooks.Reserved r : b.reservations()) {
        for (Part p : r.parts()) pieces.add(new Piece(p.start(), p.end(), "reserved", b.node(), r.area().tag(), null));
      }
    }
  }

  public Geometry geometry() {
    return g;
  }

  /** The geometry as the API shows it. */
  public static InfoJson.GeometryJson geometryJson(Geometry g) {
    return new InfoJson.GeometryJson(g.vstart(), g.vend(), g.page(), g.zone(), g.nodes(), g.spaceBytes());
  }

  // ---------------------------------------------------------------- cells

  /**
   * The zones of {@code [from, to)} (widened to whole zones, clipped to the space) in at most
   * {@code maxCells} cells of equally many zones.
   *
   * @throws IllegalArgumentException naming the value when the range is empty or outside the space
   *     or {@code maxCells} is not in 1..{@link #MAX_CELLS}
   */
  public SpaceJson cells(long from, long to, int maxCells) {
    if (maxCells < 1 || maxCells > MAX_CELLS) {
      throw new IllegalArgumentException("cells: " + maxCells + " is not in 1.." + MAX_CELLS);
    }
    long[] r = range(from, to);
    long zFrom = g.zoneOf(r[0]);
    long zTo = g.zoneOf(r[1] - 1);
    long zones = zTo - zFrom + 1;
    long k = (zones + maxCells - 1) / maxCells;
    int n = (int) ((zones + k - 1) / k);
    long lo = g.zoneLo(zFrom);
    long hi = g.zoneHi(zTo);
    Cells c = new Cells(zFrom, zTo, k, n);
    long[] busy = new long[n], lazy = new long[n], reserved = new long[n], free = new long[n];
    List<SpaceAreaJson> spanning = new ArrayList<>();
    boolean spanningTruncated = false;
    List<Piece> crossing = new ArrayList<>();
    for (Piece p : pieces) {
      if (!overlaps(p, lo, hi)) continue;
      long[] col = switch (p.state()) {
        case "busy" -> busy;
        case "lazy" -> lazy;
        case "reserved" -> reserved;
        default -> free;
      };
      c.add(col, Unsigned.max(p.start(), lo), Unsigned.min(p.end(), hi));
      if (!p.state().equals("reserved") && spans(p)) crossing.add(p);
    }
    for (NodeBooks b : books) {
      long[] fs = b.freeStarts(), fe = b.freeEnds();
      for (int i = 0; i < fs.length; i++) {
        if (Unsigned.lt(fs[i], hi) && Unsigned.lt(lo, fe[i])) c.add(free, Unsigned.max(fs[i], lo), Unsigned.min(fe[i], hi));
      }
      // A run of untouched zones: per cell by arithmetic, O(cells) per run, never per member.
      FreeRuns runs = b.freeRuns();
      for (int i = 0; i < runs.size(); i++) {
        if (runs.membersIn(i, lo, hi) == null) continue;
        long a = Unsigned.max(runs.starts()[i], lo);
        long e = runs.end(i) == 0 ? hi : Unsigned.min(runs.end(i), hi);
        for (int cell = c.cellOf(a), last = c.cellOf(e - 1); cell <= last; cell++) {
          free[cell] += runs.bytesIn(i, Unsigned.max(c.lo(cell), lo), Unsigned.min(c.hi(cell), hi));
        }
      }
    }
    crossing.sort(BY_START);
    for (Piece p : crossing) {
      if (spanning.size() == SPANNING_LIMIT) {
        spanningTruncated = true;
        break;
      }
      spanning.add(json(p));
    }
    List<Long> starts = new ArrayList<>(n);
    long[] bytes = new long[n];
    List<Integer> node = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      starts.add(c.lo(i));
      bytes[i] = c.hi(i) - c.lo(i);
      Integer owner = null; // a cell of several zones holds several nodes' zones, unless there is one node
      if (k == 1) owner = g.ownerOfZone(zFrom + i);
      else if (g.nodes() == 1) owner = 0;
      node.add(owner);
    }
    SpaceJson.Totals totals = new SpaceJson.Totals(hi - lo, sum(busy), sum(lazy), sum(reserved), sum(free));
    return new SpaceJson(geometryJson(g), lo, hi, zFrom, zones, k, n,
        new SpaceJson.Cells(starts, bytes, busy, lazy, reserved, free, node), totals, spanning, spanningTruncated, takenAt);
  }

  /** Cells of {@code k} zones each over zones {@code zFrom..zTo}. */
  private final class Cells {
    final long zFrom, zTo, k;
    final int n;

    Cells(long zFrom, long zTo, long k, int n) {
      this.zFrom = zFrom;
      this.zTo = zTo;
      this.k = k;
      this.n = n;
    }

    long lo(int i) {
      return g.zoneLo(zFrom + i * k);
    }

    long hi(int i) {
      return g.zoneHi(Math.min(zFrom + (i + 1) * k - 1, zTo));
    }

    int cellOf(long addr) {
      return (int) ((g.zoneOf(addr) - zFrom) / k);
    }

    /** Adds {@code [a, b)} (inside the cells) to the cells it covers; bounded by cells, not zones. */
    void add(long[] col, long a, long b) {
      int c0 = cellOf(a);
      int c1 = cellOf(b - 1);
      if (c0 == c1) {
        col[c0] += b - a;
        return;
      }
      for (int i = c0; i <= c1; i++) col[i] += Unsigned.min(b, hi(i)) - Unsigned.max(a, lo(i));
    }
  }

  // ---------------------------------------------------------------- areas

  /** Every range overlapping {@code [from, to)} in address order, at most {@code limit}. */
  public SpaceAreasJson areas(long from, long to, int limit) {
    if (limit < 1 || limit > MAX_AREAS) throw new IllegalArgumentException("limit: " + limit + " is not in 1.." + MAX_AREAS);
    long[] r = range(from, to);
    List<Piece> in = new ArrayList<>();
    for (Piece p : pieces) if (overlaps(p, r[0], r[1])) in.add(p);
    for (NodeBooks b : books) {
      long[] fs = b.freeStarts(), fe = b.freeEnds();
      for (int i = 0; i < fs.length; i++) {
        if (Unsigned.lt(fs[i], r[1]) && Unsigned.lt(r[0], fe[i])) in.add(new Piece(fs[i], fe[i], "free", b.node(), null, null));
      }
      // Of a run, the lowest limit + 1 members in range are enough: the answer keeps the lowest limit.
      FreeRuns runs = b.freeRuns();
      for (int i = 0; i < runs.size(); i++) {
        runs.forEachMember(i, r[0], r[1], limit + 1L, (s, e) -> in.add(new Piece(s, e, "free", b.node(), null, null)));
      }
    }
    in.sort(BY_START);
    List<SpaceAreaJson> out = new ArrayList<>(Math.min(in.size(), limit));
    for (int i = 0; i < in.size() && i < limit; i++) out.add(json(in.get(i)));
    return new SpaceAreasJson(r[0], r[1], g.zone(), limit, in.size() > limit, out, takenAt);
  }

  private SpaceAreaJson json(Piece p) {
    boolean spans = spans(p);
    return new SpaceAreaJson(p.start(), p.end(), p.end() - p.start(), p.state(), p.node(), p.tag(), p.tenant(), spans, owners(p));
  }

  /** Owners of the zones {@code p} covers, in zone order, at most {@link #NODES_LISTED}. */
  private List<Integer> owners(Piece p) {
    long z0 = g.zoneOf(p.start());
    long z1 = g.zoneOf(p.end() - 1);
    Set<Integer> s = new LinkedHashSet<>();
    for (long z = z0; z <= z1 && s.size() < Math.min(g.nodes(), NODES_LISTED); z++) s.add(g.ownerOfZone(z));
    return List.copyOf(s);
  }

  private boolean spans(Piece p) {
    return g.zoneOf(p.start()) != g.zoneOf(p.end() - 1);
  }

  // ---------------------------------------------------------------- nodes

  /** Per node: usage of its zones, its counts and fragmentation; {@code traffic} supplies the rest. */
  public List<NodesJson.Node> nodes(IntFunction<NodesJson.Traffic> traffic) {
    int nodes = g.nodes();
    long[] busyB = new long[nodes], lazyB = new long[nodes], resB = new long[nodes], freeB = new long[nodes];
    for (Piece p : pieces) {
      long[] col = switch (p.state()) {
        case "busy" -> busyB;
        case "lazy" -> lazyB;
        case "reserved" -> resB;
        default -> freeB;
      };
      addByOwner(col, p.start(), p.end());
    }
    for (NodeBooks b : books) {
      for (int i = 0; i < b.freeStarts().length; i++) addByOwner(freeB, b.freeStarts()[i], b.freeEnds()[i]);
      FreeRuns runs = b.freeRuns();
      for (int i = 0; i < runs.size(); i++) addRunByOwner(freeB, runs, i);
    }
    int pageBucket = 63 - Long.numberOfLeadingZeros(g.page());
    int top = pageBucket;
    for (NodeBooks b : books) {
      for (int i = 0; i < b.freeStarts().length; i++) top = Math.max(top, bucket(b.freeEnds()[i] - b.freeStarts()[i]));
      for (long w : b.freeRuns().widths()) top = Math.max(top, bucket(w));
    }
    List<NodesJson.Node> out = new ArrayList<>();
    List<NodeBooks> sorted = new ArrayList<>(books);
    sorted.sort(Comparator.comparingInt(NodeBooks::node));
    for (NodeBooks b : sorted) {
      int k = b.node();
      long[] blocks = new long[top - pageBucket + 1];
      long[] bucketBytes = new long[blocks.length];
      long largest = 0;
      for (int i = 0; i < b.freeStarts().length; i++) {
        long size = b.freeEnds()[i] - b.freeStarts()[i];
        int idx = Math.max(bucket(size), pageBucket) - pageBucket;
        blocks[idx]++;
        bucketBytes[idx] += size;
        largest = Unsigned.max(largest, size);
      }
      FreeRuns runs = b.freeRuns();
      for (int i = 0; i < runs.size(); i++) {
        long size = runs.widths()[i];
        int idx = Math.max(bucket(size), pageBucket) - pageBucket;
        blocks[idx] += runs.counts()[i];
        bucketBytes[idx] += runs.counts()[i] * size;
        largest = Unsigned.max(largest, size);
      }
      List<NodesJson.FreeBucket> hist = new ArrayList<>();
      for (int i = 0; i < blocks.length; i++) hist.add(new NodesJson.FreeBucket(1L << (i + pageBucket), blocks[i], bucketBytes[i]));
      int reservations = b.reservations().size();
      out.add(new NodesJson.Node(k, zonesOwned(k), zoneBytes(k), b.busy().size(), busyB[k], b.unpurged().size(), lazyB[k],
          reservations, resB[k], freeB[k], (int) Math.min(b.freeBlockCount(), Integer.MAX_VALUE), largest, b.held().size(), hist, traffic.apply(k)));
    }
    return out;
  }

  /** Adds {@code [a, b)} to the owners of the zones it covers. */
  private void addByOwner(long[] col, long a, long b) {
    if (g.nodes() == 1) {
      col[0] += b - a;
      return;
    }
    long z0 = g.zoneOf(a);
    long z1 = g.zoneOf(b - 1);
    if (z0 == z1) {
      col[g.ownerOfZone(z0)] += b - a;
      return;
    }
    // With more than one node the space has at most Geometry.MAX_ZONES zones: bounded.
    for (long z = z0; z <= z1; z++) col[g.ownerOfZone(z)] += Unsigned.min(b, g.zoneHi(z)) - Unsigned.max(a, g.zoneLo(z));
  }

  /**
   * Adds run {@code i}'s members to the owners of their zones: when the stride is a whole round of
   * the nodes' zones and a member lies in one zone, every member has the first one's owner (O(1));
   * otherwise member by member.
   */
  private void addRunByOwner(long[] col, FreeRuns runs, int i) {
    long s = runs.starts()[i];
    long w = runs.widths()[i];
    long round = g.nodes() * g.zone();
    boolean oneOwner = g.nodes() == 1
        || (Long.remainderUnsigned(runs.strides()[i], round) == 0 && g.zoneOf(s) == g.zoneOf(s + w - 1));
    if (oneOwner) {
      col[g.nodes() == 1 ? 0 : g.ownerOfZone(g.zoneOf(s))] += runs.counts()[i] * w;
    } else {
      runs.forEachMember(i, 0, -1L, Long.MAX_VALUE, (a, e) -> addByOwner(col, a, e));
    }
  }

  /** Zones of the space owned by node {@code k}. */
  long zonesOwned(int k) {
    long f = g.firstZone();
    long l = g.lastZone();
    int n = g.nodes();
    long z0 = f + Math.floorMod(k - Long.remainderUnsigned(f, n), (long) n);
    return z0 > l ? 0 : (l - z0) / n + 1;
  }

  /** Bytes of the space in node {@code k}'s zones (the first and last zone may be cut by the space). */
  long zoneBytes(int k) {
    if (g.nodes() == 1) return g.spaceBytes();
    long bytes = zonesOwned(k) * g.zone();
    long f = g.firstZone();
    long l = g.lastZone();
    // The space may cut its first and last zone.
    if (g.ownerOfZone(f) == k) bytes -= g.zone() - (g.zoneHi(f) - g.zoneLo(f));
    if (f != l && g.ownerOfZone(l) == k) bytes -= g.zone() - (g.zoneHi(l) - g.zoneLo(l));
    return bytes;
  }

  // ---------------------------------------------------------------- helpers

  private static final Comparator<Piece> BY_START = (x, y) -> Long.compareUnsigned(x.start(), y.start());

  /** floor(log2(size)) of an unsigned size above 0. */
  private static int bucket(long size) {
    return 63 - Long.numberOfLeadingZeros(size);
  }

  private static boolean overlaps(Piece p, long lo, long hi) {
    return Unsigned.lt(p.start(), hi) && Unsigned.lt(lo, p.end());
  }

  /** {@code [from, to)} clipped to the space and widened to whole zones. */
  private long[] range(long from, long to) {
    long a = Unsigned.max(from, g.vstart());
    long b = Unsigned.min(to, g.vend());
    if (!Unsigned.lt(a, b)) {
      throw new IllegalArgumentException("range: [" + Unsigned.hex(from) + ", " + Unsigned.hex(to)
          + ") does not overlap the space [" + Unsigned.hex(g.vstart()) + ", " + Unsigned.hex(g.vend()) + ")");
    }
    return new long[] {g.zoneLo(g.zoneOf(a)), g.zoneHi(g.zoneOf(b - 1))};
  }

  private static long sum(long[] a) {
    return Arrays.stream(a).sum();
  }
}
