package io.vmap.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vmap.model.ReferenceAllocator.Search;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The oracle checks itself: a few hand-derived cases, and its two search strategies (every aligned
 * address vs. candidate points only) agree on random traces over tiny spaces, including spaces at
 * address 0, spaces not zone aligned and spaces ending just below 2^64.
 */
class ReferenceAllocatorTest {

  private static final long P = 4096;

  @Test
  void handDerivedPlacement() {
    // 2 nodes, zones of 4 pages: zone 0 [0, 0x4000) node 0, zone 1 [0x4000, 0x8000) node 1, ...
    ReferenceAllocator m = new ReferenceAllocator(0, 0x10000, P, 4 * P, 2, 100L);
    assertEquals("0x0000000000000000", m.apply("alloc 4096"));
    assertEquals("0x0000000000004000", m.apply("alloc 1 node=1"));
    // 3 pages do not fit in zone 0 after page 0? They do: [0x1000, 0x4000).
    assertEquals("0x0000000000001000", m.apply("alloc 12288"));
    // node 0 now has zone 2 [0x8000, 0xc000) free: align 0x8000 -> 0x8000
    assertEquals("0x0000000000008000", m.apply("alloc 4096 align=0x8000"));
    // spanning: 5 pages. Free: zone1 [0x5000,0x8000), zone2 [0x9000,0xc000), zone3 [0xc000,0x10000)
    // lowest free 5-page range: [0x9000, 0xe000) crosses zones 2 and 3
    assertEquals("0x0000000000009000", m.apply("alloc 20480"));
    assertEquals("0x0000000000009000 0x000000000000e000", m.apply("find 0xc000"));
    assertEquals("EINVAL", m.apply("free 0xc000").substring(0, 6));
    assertEquals("ok", m.apply("free 0x9000"));
    assertEquals("ENOENT", m.apply("free 0x9000"));
    assertEquals("none", m.apply("find 0xc000"));
    assertEquals("busy=4 lazy=1 free=" + (0x10000 - 0x1000 * 11), m.apply("info"));
    assertEquals("purged 1", m.apply("purge"));
    assertEquals("purged 0", m.apply("purge"));
  }

  @Test
  void fitAboveTheKernelsSizePlusAlignSearch() {
    // free block [0x1000, 0x3000): a 2-page area aligned to 0x2000 does not fit, one page does at 0x2000
    ReferenceAllocator m = new ReferenceAllocator(0x1000, 0x3000, P, 0x10000, 1, null);
    assertEquals("0x0000000000002000", m.apply("alloc 4096 align=0x2000"));
  }

  @Test
  void thresholdIsStrictlyGreater() {
    ReferenceAllocator m = new ReferenceAllocator(0, 0x100000, P, 0x10000, 1, 2L);
    m.apply("alloc 8192");
    m.apply("alloc 4096");
    assertEquals("ok", m.apply("free 0x0"));
    assertEquals("busy=1 lazy=1 free=" + (0x100000 - 3 * P), m.apply("info")); // 2 pages: not > 2
    assertEquals("ok", m.apply("free 0x2000"));
    assertEquals("busy=0 lazy=0 free=" + 0x100000, m.apply("info")); // 3 > 2: purged
  }

  @Test
  void searchStrategiesAgree() {
    for (long seed = 1; seed <= 300; seed++) {
      SplittableRandom r = new SplittableRandom(seed);
      long page = r.nextBoolean() ? 4096 : 8192;
      long zonePages = 1L << r.nextInt(0, 5);
      long zone = page * zonePages;
      int nodes = r.nextInt(1, 8);
      long zones = r.nextInt(2, 40);
      long vstart;
      long vend;
      switch (r.nextInt(3)) {
        case 0 -> vstart = 0;
        case 1 -> vstart = (r.nextLong(1, 1L << 30) * zone) + page * r.nextLong(zonePages);
        default -> vstart = -(zones + 2) * zone;
      }
      vend = vstart + zones * zone - page * r.nextLong(zonePages);
      if (vstart < 0 && r.nextBoolean()) vend = -page; // ends at 2^64 - page
      ReferenceAllocator brute = new ReferenceAllocator(vstart, vend, page, zone, nodes, (long) r.nextInt(0, 40))
          .withSearch(Search.BRUTE);
      ReferenceAllocator cand = new ReferenceAllocator(vstart, vend, page, zone, nodes, brute.lazyMaxPages())
          .withSearch(Search.CANDIDATES);
      List<String> trace = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        String line = randomLine(r, brute);
        trace.add(line);
        String a = brute.apply(line);
        String b = cand.apply(line);
        long s = seed;
        assertEquals(a, b, () -> "seed " + s + " trace:\n" + String.join("\n", trace));
      }
    }
  }

  private static String randomLine(SplittableRandom r, ReferenceAllocator m) {
    long page = m.page();
    long zone = m.zone();
    List<ReferenceAllocator.Region> busy = m.busy();
    int k = r.nextInt(100);
    if (k < 55) {
      long size = r.nextInt(10) < 7 ? page * r.nextLong(1, zone / page * 2 + 2) : r.nextLong(1, 3 * zone);
      StringBuilder sb = new StringBuilder("alloc " + size);
      if (r.nextInt(3) == 0) sb.append(" align=").append(page << r.nextInt(0, 6));
      if (r.nextInt(4) == 0) {
        long span = m.vend() - m.vstart();
        long lo = m.vstart() + r.nextLong(span);
        long hi = lo + 1 + r.nextLong(m.vend() - lo);
        sb.append(" vstart=").append(Long.toUnsignedString(lo)).append(" vend=").append(Long.toUnsignedString(hi));
      }
      sb.append(" node=").append(r.nextInt(m.nodes()));
      if (r.nextInt(8) == 0) sb.append(" policy=fail-fast");
      return sb.toString();
    }
    if (k < 85 && !busy.isEmpty()) {
      ReferenceAllocator.Region a = busy.get(r.nextInt(busy.size()));
      return (r.nextInt(5) == 0 ? "find " : "free ") + ReferenceAllocator.hex(a.start() + (r.nextInt(4) == 0 ? page : 0));
    }
    if (k < 95) return "find " + ReferenceAllocator.hex(m.vstart() + r.nextLong(m.vend() - m.vstart()));
    return r.nextBoolean() ? "purge" : "info";
  }
}
