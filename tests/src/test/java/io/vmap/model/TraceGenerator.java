package io.vmap.model;

import io.vmap.model.ReferenceAllocator.Region;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random replay lines aimed at the corners of DESIGN.md, chosen from the model's current state:
 * sizes from one byte to several zones (spanning), alignments up to a few zones and beyond, random
 * and invalid sub-ranges, random and out-of-range home nodes, fail-fast, frees of live starts,
 * interiors, freed and random addresses, finds at area edges and at zone boundaries inside
 * spanning areas, purge, info and about 2% junk lines. Fill and drain phases alternate so the space
 * fragments and allocations often end in ENOSPC.
 */
final class TraceGenerator {

  private final SplittableRandom r;
  private final ReferenceAllocator m;
  private final long page;
  private final long zone;
  private final long zonePages;
  private final long vstart;
  private final long vend;
  private final int nodes;
  /** Starts of every area ever allocated (for frees and finds of freed areas). */
  private final List<Long> history = new ArrayList<>();
  private int op;
  private boolean filling = true;
  /** Percent of allocs with sizes near the whole space (slow to refuse in a 2^20-zone space). */
  private int hugePct = 8;

  TraceGenerator(SplittableRandom r, ReferenceAllocator m) {
    this.r = r;
    this.m = m;
    this.page = m.page();
    this.zone = m.zone();
    this.zonePages = zone / page;
    this.vstart = m.vstart();
    this.vend = m.vend();
    this.nodes = m.nodes();
  }

  TraceGenerator hugeSizes(int percent) {
    this.hugePct = percent;
    return this;
  }

  /** Tell the generator what an alloc line returned (to remember the area). */
  void observe(String line, String out) {
    if (line.startsWith("alloc") && out != null && out.startsWith("0x")) {
      history.add(Long.parseUnsignedLong(out.substring(2), 16));
    }
  }

  String next() {
    if (op++ % 40 == 0) filling = r.nextInt(3) != 0;
    int k = r.nextInt(1000);
    if (k < 20) return junk();
    k = r.nextInt(100);
    int allocPct = filling ? 62 : 30;
    int freePct = filling ? 14 : 40;
    if (k < allocPct) return alloc();
    if ((k -= allocPct) < freePct) return "free " + addr(freeTarget());
    if ((k -= freePct) < 16) return "find " + addr(findTarget());
    if (k < 19) return "purge";
    return "info";
  }

  // ------------------------------------------------------------------ alloc

  private String alloc() {
    StringBuilder sb = new StringBuilder("alloc ").append(num(size()));
    List<String> opts = new ArrayList<>();
    int a = r.nextInt(100);
    if (a < 52) {
      // default align
    } else if (a < 60) {
      opts.add("align=" + num(1L << r.nextInt(0, Long.numberOfTrailingZeros(page)))); // below a page
    } else if (a < 90) {
      opts.add("align=" + num(page << r.nextInt(0, Long.numberOfTrailingZeros(zonePages) + 3)));
    } else if (a < 92) {
      long[] bad = {0, 3, page * 3, page + 1, zone - 1, 6};
      opts.add("align=" + num(bad[r.nextInt(bad.length)]));
    } else if (a < 96) {
      opts.add("align=" + num(1L << r.nextInt(40, 64)));
    } else {
      opts.add("align=" + num(zone));
    }
    range(opts);
    int n = r.nextInt(100);
    if (n < 72) opts.add("node=" + r.nextInt(nodes));
    else if (n < 95) {
      // default node 0
    } else if (n < 98) opts.add("node=" + (nodes + r.nextInt(3)));
    else opts.add("node=" + (r.nextBoolean() ? "18446744073709551615" : "4294967296"));
    int p = r.nextInt(100);
    if (p < 12) opts.add("policy=fail-fast");
    else if (p < 16) opts.add("policy=normal");
    if (r.nextInt(10) == 0) opts.add("tag=t" + op);
    // option order is free
    for (int i = opts.size() - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      String t = opts.get(i);
      opts.set(i, opts.get(j));
      opts.set(j, t);
    }
    for (String o : opts) sb.append(' ').append(o);
    return sb.toString();
  }

  private long size() {
    int k = r.nextInt(100);
    long space = vend - vstart;
    if (k < 100 - hugePct && k >= 92) return page * r.nextLong(1, zonePages + 1);
    if (k < 25) return page * r.nextLong(1, 5);
    if (k < 55) return page * r.nextLong(1, zonePages + 1);
    if (k < 75) return page * (zonePages + r.nextLong(1, 2 * zonePages + 1)); // spans 2..3 zones
    if (k < 80) return zone * r.nextLong(1, 4);
    if (k < 85) return r.nextLong(1, page + 1); // below a page
    if (k < 100 - hugePct) return page * r.nextLong(1, 2 * zonePages + 1) - r.nextLong(0, page); // odd
    if (k < 100 - hugePct / 2) return Long.compareUnsigned(space, 1L << 62) < 0 ? space / 2 + page : zone * 3;
    int h = r.nextInt(5);
    return switch (h) {
      case 0 -> space;
      case 1 -> space + page;
      case 2 -> -1L; // 2^64-1: does not round up to pages (EINVAL)
      case 3 -> -page; // 2^64-page: a valid size, never fits
      default -> 0; // EINVAL
    };
  }

  private void range(List<String> opts) {
    int k = r.nextInt(100);
    long space = vend - vstart;
    if (k < 66) return;
    if (k < 86) {
      long lo = point(space);
      long hi;
      if (r.nextBoolean()) {
        long len = r.nextBoolean() ? page * r.nextLong(1, 4 * zonePages + 2) : r.nextLong(1, 4 * zone);
        hi = lo + len;
        if (Long.compareUnsigned(hi, vend) > 0 || Long.compareUnsigned(hi, lo) <= 0) hi = vend;
      } else {
        hi = lo + 1 + unsignedBelow(vend - lo);
      }
      if (hi == lo) hi = vend;
      opts.add("vstart=" + num(lo));
      opts.add("vend=" + num(hi));
      return;
    }
    if (k < 90) {
      opts.add("vstart=" + num(point(space)));
      return;
    }
    if (k < 97) {
      opts.add("vend=" + num(vstart + 1 + unsignedBelow(space)));
      return;
    }
    // invalid
    long lo = point(space);
    switch (r.nextInt(5)) {
      case 0 -> { opts.add("vstart=" + num(lo)); opts.add("vend=" + num(lo)); }
      case 1 -> { opts.add("vstart=" + num(lo + page)); opts.add("vend=" + num(lo)); }
      case 2 -> {
        if (vstart != 0) { opts.add("vstart=" + num(vstart - page)); opts.add("vend=" + num(vend)); }
        else { opts.add("vstart=" + num(vend)); }
      }
      case 3 -> {
        if (vend != -page) { opts.add("vend=" + num(vend + page)); }
        else { opts.add("vstart=0x" + Long.toHexString(vend)); opts.add("vend=0xffffffffffffffff"); }
      }
      default -> opts.add("vstart=" + num(vend));
    }
  }

  /** A point inside the space: page aligned, zone aligned or any byte. */
  private long point(long space) {
    long off = unsignedBelow(space);
    return switch (r.nextInt(4)) {
      case 0 -> vstart + off;
      case 1 -> {
        long zs = (Long.divideUnsigned(vstart + off, zone)) * zone;
        yield Long.compareUnsigned(zs, vstart) < 0 ? vstart : zs;
      }
      default -> vstart + off / page * page;
    };
  }

  private long unsignedBelow(long bound) {
    if (bound > 0) return r.nextLong(bound);
    // bound >= 2^63 unsigned
    long v = r.nextLong();
    return Long.compareUnsigned(v, bound) < 0 ? v : v >>> 1;
  }

  // ------------------------------------------------------------------ free and find

  private long freeTarget() {
    List<Region> busy = m.busy();
    int k = r.nextInt(100);
    if (k < 45 && !busy.isEmpty()) return pick(busy).start();
    if (k < 57 && !busy.isEmpty()) return interior(pick(busy));
    if (k < 62 && !busy.isEmpty()) return pick(busy).end();
    if (k < 75 && !history.isEmpty()) return history.get(r.nextInt(history.size()));
    return anyAddress();
  }

  private long findTarget() {
    List<Region> busy = m.busy();
    int k = r.nextInt(100);
    if (k < 15 && !busy.isEmpty()) return pick(busy).start();
    if (k < 30 && !busy.isEmpty()) return pick(busy).end() - 1;
    if (k < 38 && !busy.isEmpty()) return pick(busy).end();
    if (k < 50 && !busy.isEmpty()) return interior(pick(busy));
    if (k < 65 && !busy.isEmpty()) {
      // a zone boundary inside an area (a later piece of a spanning area)
      List<Region> spanning = busy.stream().filter(a -> m.zoneOf(a.start()) != m.zoneOf(a.end() - 1)).toList();
      if (!spanning.isEmpty()) {
        Region a = pick(spanning);
        long z = m.zoneOf(a.start()) + 1 + r.nextLong(m.zoneOf(a.end() - 1) - m.zoneOf(a.start()));
        long b = z * zone;
        return r.nextBoolean() ? b : (r.nextBoolean() ? b - 1 : b + r.nextLong(1, page));
      }
    }
    if (k < 75 && !history.isEmpty()) return history.get(r.nextInt(history.size())) + (r.nextBoolean() ? 0 : page);
    return anyAddress();
  }

  private Region pick(List<Region> l) {
    return l.get(r.nextInt(l.size()));
  }

  private long interior(Region a) {
    long size = a.size();
    if (size <= 1) return a.start();
    if (r.nextBoolean() && size > page) return a.start() + page * r.nextLong(1, size / page);
    return a.start() + r.nextLong(1, size);
  }

  private long anyAddress() {
    int k = r.nextInt(10);
    if (k < 6) return vstart + unsignedBelow(vend - vstart);
    if (k < 8) return r.nextLong();
    long[] edge = {vstart, vend, vend - 1, vstart - 1, 0, -1L, vend - page};
    return edge[r.nextInt(edge.length)];
  }

  // ------------------------------------------------------------------ formatting and junk

  private String num(long v) {
    int k = r.nextInt(4);
    if (k == 0) return Long.toUnsignedString(v);
    String h = Long.toHexString(v);
    return r.nextInt(8) == 0 ? "0x" + h.toUpperCase() : "0x" + h;
  }

  private String addr(long v) {
    return num(v);
  }

  private String junk() {
    String[] j = {
      "alloc", "alloc x", "alloc 4096 align", "alloc 4096 foo=1", "alloc 4096 =5", "alloc 0x",
      "alloc -1", "alloc 99999999999999999999999", "alloc 4096 node=-1", "alloc 4096 node=x",
      "alloc 4096 policy=fast", "alloc 4096 align=0x", "alloc 4096 vstart=zz", "alloc 0x1g",
      "alloc 4096 align=4096 align", "free", "free 1 2", "free x", "free -5", "free 0xq",
      "find", "find 1 2", "find 12abc", "purge now", "info all", "frobnicate 3", "ALLOC 4096",
      "Free 0", "   ", "", "# a comment", "  # indented comment", "info # trailing comment",
      "alloc 4096 # comment with node=99", "alloc 0 align=4096", "alloc 1.5", "find 0x10000000000000000",
      "alloc 4096 vend=18446744073709551616", "alloc 4096 node=", "purge purge",
    };
    return j[r.nextInt(j.length)];
  }
}
