package io.vmap.chaos;

import static io.vmap.chaos.Checker.FSCK;
import static io.vmap.chaos.Checker.same;

import io.vmap.chaos.Checker.Violation;
import io.vmap.state.HeldPart;
import io.vmap.client.VmapInfo;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The books half of {@link Checker} ({@value Checker#FSCK} violations): what an fsck of a live
 * allocator can check, from {@code vmap info} ({@link #fsck(VmapInfo)}) or from every node's full
 * books ({@link #fsck(Geometry, List, Duration)}). Plain Java, like the history checks.
 */
final class FsckCheck {

  private FsckCheck() {}

  /**
   * What {@code /proc/vmallocinfo}-level information allows checking: every area inside the space,
   * owned by {@code nodeOf(start)}, no two areas overlapping; and, when the system is quiet (purge
   * idle, no reservations), per node free + the node's share of every area (split by zone) +
   * reserved = the bytes of its zones, and free + busy + lazy + reserved = space.
   */
  public static List<Violation> fsck(VmapInfo info) {
    List<Violation> out = new ArrayList<>();
    Geometry g = info.geometry();
    List<VmapInfo.AreaInfo> all = new ArrayList<>(info.busy());
    all.addAll(info.lazy());
    all.sort((x, y) -> Long.compareUnsigned(x.area().start(), y.area().start()));
    long[] share = new long[g.nodes()];
    VmapInfo.AreaInfo prev = null;
    for (VmapInfo.AreaInfo a : all) {
      Area ar = a.area();
      if (!g.contains(ar.start(), ar.end())) out.add(new Violation(FSCK, "area " + ar + " is outside the space"));
      if (g.nodeOf(ar.start()) != a.node()) {
        out.add(new Violation(FSCK, "area " + ar + " is held by node " + a.node() + ", not nodeOf(start) = "
            + g.nodeOf(ar.start())));
      }
      if (prev != null && Unsigned.lt(ar.start(), prev.area().end())) {
        out.add(new Violation(FSCK, "areas " + prev.area() + " and " + ar + " overlap"));
      }
      prev = a;
      if (g.contains(ar.start(), ar.end())) splitByZone(g, ar.start(), ar.end(), share);
    }
    boolean quiet = (info.purge() == null || info.purge().phase().equals("idle")) && info.reservedBytes() == 0;
    if (!quiet) return out;
    for (VmapInfo.NodeStats n : info.nodes()) {
      if (n.node() < 0 || n.node() >= g.nodes()) continue;
      long owned = owned(g, n.node());
      long sum = n.freeBytes() + share[n.node()] + n.reservedBytes();
      if (sum != owned) {
        out.add(new Violation(FSCK, "node " + n.node() + ": free " + n.freeBytes() + " + areas " + share[n.node()]
            + " + reserved " + n.reservedBytes() + " = " + sum + " but its zones hold " + owned));
      }
    }
    if (!info.accountsForSpace()) {
      out.add(new Violation(FSCK, "free " + info.freeBytes() + " + busy " + info.busyBytes() + " + lazy "
          + info.lazyBytes() + " + reserved " + info.reservedBytes() + " != space " + g.spaceBytes()));
    }
    return out;
  }

  /** Whether {@link #fsck(VmapInfo)} could do its per-node accounting (purge idle, no reservations). */
  public static boolean quiet(VmapInfo info) {
    return (info.purge() == null || info.purge().phase().equals("idle")) && info.reservedBytes() == 0;
  }

  /**
   * The full fsck of every node's books: per node, the free blocks, its areas' parts, unpurged
   * parts, held parts of other nodes' spanning areas and reserved parts lie inside its zones,
   * never overlap and add up to exactly its zones (so free + busy + lazy + reserved = space);
   * spanning areas are consistent across owners (every part on another node is held there for
   * that area, every held part belongs to a live or unpurged area of its start owner); no
   * reservation is older than its lease plus {@code grace}.
   */
  public static List<Violation> fsck(Geometry g, List<NodeBooks> books, Duration grace) {
    List<Violation> out = new ArrayList<>();
    Map<Integer, NodeBooks> byNode = new HashMap<>();
    for (NodeBooks b : books) byNode.put(b.node(), b);
    for (NodeBooks b : books) {
      int k = b.node();
      String who = "node " + k;
      List<long[]> pieces = new ArrayList<>(); // start, end, kind (and for a run of free blocks, its entry)
      for (int i = 0; i < b.freeStarts().length; i++) pieces.add(new long[] {b.freeStarts()[i], b.freeEnds()[i], 0});
      // A run of untouched zones is one piece from its first member's start to its last member's end,
      // never expanded (hundreds of millions of zones in the five-level space): nothing else of this
      // node may lie in its span, since its gaps are other nodes' zones.
      FreeRuns runs = b.freeRuns();
      for (int i = 0; i < runs.size(); i++) pieces.add(new long[] {runs.starts()[i], runs.end(i), RUN, i});
      Map<Long, LazyArea> spans = new HashMap<>();
      for (LazyArea s : b.spanning()) spans.put(s.area().start(), s);
      for (Area a : b.busy()) {
        if (g.nodeOf(a.start()) != k) out.add(new Violation(FSCK, who + " holds busy " + a + " of node " + g.nodeOf(a.start())));
        LazyArea s = spans.get(a.start());
        if (s == null) {
          if (g.zoneOf(a.start()) != g.zoneOf(a.end() - 1)) {
            out.add(new Violation(FSCK, who + ": busy " + a + " crosses zones but has no parts"));
          }
          pieces.add(new long[] {a.start(), a.end(), 1});
        } else {
          spanning(g, k, s, "busy", byNode, out);
          for (Part p : s.parts()) if (p.node() == k) pieces.add(new long[] {p.start(), p.end(), 1});
        }
      }
      for (LazyArea la : b.unpurged()) {
        if (g.nodeOf(la.area().start()) != k) {
          out.add(new Violation(FSCK, who + " holds unpurged " + la.area() + " of node " + g.nodeOf(la.area().start())));
        }
        if (la.parts().size() > 1) spanning(g, k, la, "unpurged", byNode, out);
        for (Part p : la.parts()) if (p.node() == k) pieces.add(new long[] {p.start(), p.end(), 2});
      }
      for (HeldPart h : b.held()) {
        pieces.add(new long[] {h.start(), h.end(), 3});
        NodeBooks owner = byNode.get(h.startOwner());
        if (owner != null && !ownsPart(owner, h)) {
          out.add(new Violation(FSCK, who + " holds part " + Unsigned.hex(h.start()) + "-" + Unsigned.hex(h.end())
              + " of " + h.area() + ", which node " + h.startOwner() + " neither has busy nor unpurged"));
        }
      }
      for (NodeBooks.Reserved r : b.reservations()) {
        for (Part p : r.parts()) pieces.add(new long[] {p.start(), p.end(), 4});
        long limit = r.leaseMillis() + grace.toMillis();
        if (r.ageMillis() > limit) {
          out.add(new Violation(FSCK, who + ": reservation " + r.id() + " for " + r.area() + " is " + r.ageMillis()
              + " ms old, lease " + r.leaseMillis() + " ms (+" + grace.toMillis() + " ms grace)"));
        }
      }
      pieces.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
      long sum = 0;
      long[] before = null;
      for (long[] p : pieces) {
        boolean inside = p[2] == RUN ? runInsideOwnZones(g, k, runs, (int) p[3])
            : Unsigned.lt(p[0], p[1]) && g.contains(p[0], p[1]) && insideOwnZone(g, k, p[0], p[1]);
        if (!inside) {
          out.add(new Violation(FSCK, who + ": " + KINDS[(int) p[2]] + " " + Unsigned.hex(p[0]) + "-" + Unsigned.hex(p[1])
              + " is not inside one of its zones"));
        }
        if (before != null && Unsigned.lt(p[0], before[1])) {
          out.add(new Violation(FSCK, who + ": " + KINDS[(int) before[2]] + " " + Unsigned.hex(before[0]) + "-"
              + Unsigned.hex(before[1]) + " and " + KINDS[(int) p[2]] + " " + Unsigned.hex(p[0]) + "-" + Unsigned.hex(p[1])
              + " overlap"));
        }
        before = p;
        sum += p[2] == RUN ? runs.counts()[(int) p[3]] * runs.widths()[(int) p[3]] : p[1] - p[0];
      }
      long owned = owned(g, k);
      if (sum != owned) {
        out.add(new Violation(FSCK, who + ": free + busy + lazy + held + reserved = " + Long.toUnsignedString(sum)
            + " but its zones hold " + Long.toUnsignedString(owned)));
      }
    }
    return out;
  }

  private static final String[] KINDS =
      {"free block", "busy part", "unpurged part", "held part", "reserved part", "run of free blocks"};
  private static final int RUN = 5;

  /**
   * Whether every member of run {@code i} lies inside one zone of node {@code k}, by arithmetic: the
   * first one does, and the stride is a whole number of rounds of the nodes' zones, so every member
   * sits at the same place of a zone of the same owner; the last one ends inside the space.
   */
  private static boolean runInsideOwnZones(Geometry g, int k, FreeRuns runs, int i) {
    long s = runs.starts()[i];
    long w = runs.widths()[i];
    long st = runs.strides()[i];
    long n = runs.counts()[i];
    if (n < 2 || w == 0 || !Unsigned.lt(w, st) || !Unsigned.lt(s, s + w) || !g.contains(s, s + w)) return false;
    long round = g.nodes() * g.zone();
    if (g.nodes() > 1 && (!insideOwnZone(g, k, s, s + w) || Long.remainderUnsigned(st, round) != 0)) return false;
    if (Unsigned.lt(Long.divideUnsigned(-1L - s - w, st), n - 1)) return false; // passes 2^64 - 1
    long last = s + (n - 1) * st;
    return g.contains(last, last + w);
  }

  /** A spanning area of start owner {@code k}: its parts tile it, and the others' are held for it. */
  private static void spanning(Geometry g, int k, LazyArea s, String what, Map<Integer, NodeBooks> byNode,
      List<Violation> out) {
    long at = s.area().start();
    for (Part p : s.parts()) {
      if (p.start() != at || g.nodeOf(p.start()) != p.node() || g.zoneOf(p.start()) != g.zoneOf(p.end() - 1)) {
        out.add(new Violation(FSCK, "node " + k + ": " + what + " " + s.area() + " has a bad part " + p));
      }
      at = p.end();
      if (p.node() == k) continue;
      NodeBooks other = byNode.get(p.node());
      if (other == null) continue;
      boolean held = false;
      for (HeldPart h : other.held()) {
        if (h.start() == p.start() && h.end() == p.end() && same(h.area(), s.area()) && h.startOwner() == k) held = true;
      }
      boolean reserved = false;
      for (NodeBooks.Reserved r : other.reservations()) {
        if (same(r.area(), s.area()) && r.parts().contains(p)) reserved = true;
      }
      if (!held && !reserved) {
        out.add(new Violation(FSCK, "node " + k + ": part " + p + " of " + what + " " + s.area()
            + " is not held by node " + p.node()));
      }
    }
    if (at != s.area().end()) out.add(new Violation(FSCK, "node " + k + ": the parts of " + what + " " + s.area()
        + " do not cover it"));
  }

  private static boolean ownsPart(NodeBooks owner, HeldPart h) {
    Part want = new Part(-1, h.start(), h.end());
    for (LazyArea s : owner.spanning()) if (same(s.area(), h.area()) && hasPart(s, want)) return true;
    for (LazyArea s : owner.unpurged()) if (same(s.area(), h.area()) && hasPart(s, want)) return true;
    return false;
  }

  private static boolean hasPart(LazyArea s, Part want) {
    for (Part p : s.parts()) if (p.start() == want.start() && p.end() == want.end()) return true;
    return false;
  }

  private static boolean insideOwnZone(Geometry g, int k, long start, long end) {
    if (g.nodes() == 1) return true;
    return g.zoneOf(start) == g.zoneOf(end - 1) && g.nodeOf(start) == k;
  }

  private static long owned(Geometry g, int k) {
    return g.ownedBytes(k); // O(1), not one call per zone
  }

  /** Adds each node's share of {@code [start, end)} (split at zone boundaries) to {@code share}. */
  private static void splitByZone(Geometry g, long start, long end, long[] share) {
    for (long z = g.zoneOf(start); ; z++) {
      long lo = Unsigned.max(g.zoneLo(z), start);
      long hi = Unsigned.min(g.zoneHi(z), end);
      if (Unsigned.lt(lo, hi)) share[g.ownerOfZone(z)] += hi - lo;
      if (!Unsigned.lt(hi, end)) break;
    }
  }
}
