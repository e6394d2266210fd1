package io.vmap.chaos;

import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import io.vmap.state.HeldPart;
import io.vmap.protocol.PurgeProtocol;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.client.VmapInfo;
import io.vmap.state.NodeState;
import io.vmap.state.ErrorCode;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The checker on hand-made histories and books: every rule passes a correct one and catches the
 * planted bug it is about.
 */
class CheckerTest {

  static {
    ChaosTestSupport.tuneCommonPool();
  }

  // Two nodes, 64 KiB zones, 4 KiB pages, 8 zones: node 0 owns [0, 64K) [128K, 192K) ...
  static final Geometry G = new Geometry(0, 8 * 0x10000, 0x1000, 0x10000, 2);

  static Area area(long start, long pages, String tag) {
    return new Area(start, start + pages * 0x1000, tag);
  }

  static History.AllocRequest pages(long n, String tag) {
    return new History.AllocRequest(n * 0x1000, 0, null, null, tag);
  }

  static List<String> rules(List<Checker.Violation> v) {
    return v.stream().map(Checker.Violation::rule).distinct().sorted().collect(Collectors.toList());
  }

  /** Allocation of {@code a} for request {@code a.tag()}, answered. */
  static void alloc(History h, Area a) {
    h.alloc(a.tag(), pages(a.size() / 0x1000, a.tag())).ok(a);
  }

  static void free(History h, Area a) {
    h.free("free-" + a.tag(), a.start(), a).ok(a);
  }

  @Test
  void aCorrectHistoryWithReuseAfterACompleteFlushPasses() {
    History h = new History(G);
    h.subscribed("s1");
    h.subscribed("s2");
    Area a = area(0, 2, "a");
    alloc(h, a);
    h.find(0x1000).ok(a);
    free(h, a);
    h.find(0x1000).ok(null);
    h.flushAcked("s1", 1, List.of(a));
    h.flushAcked("s2", 1, List.of(a));
    alloc(h, area(0, 1, "b"));
    h.incarnationStarted(0, "n0#1");
    h.incarnationStopped(0, "n0#1");
    h.incarnationStarted(0, "n0#2");
    assertEquals(List.of(), Checker.check(h));
  }

  @Test
  void reuseBeforeEverySubscriberAckedIsAFlushViolation() {
    History h = new History(G);
    h.subscribed("s1");
    h.subscribed("s2");
    Area a = area(0, 2, "a");
    alloc(h, a);
    h.flushAcked("s2", 1, List.of(a)); // before the free: stale, does not count
    free(h, a);
    h.flushAcked("s1", 2, List.of(a));
    alloc(h, area(0x1000, 1, "b")); // s2 never acked a flush of a after its free
    List<Checker.Violation> v = Checker.check(h);
    assertEquals(List.of(Checker.FLUSH), rules(v), v::toString);
    assertTrue(v.get(0).detail().contains("s2"), v::toString);
  }

  @Test
  void overlappingLiveAreasAndASecondAreaForOneRequestAreCaught() {
    History h = new History(G);
    alloc(h, area(0, 4, "a"));
    alloc(h, area(0x2000, 4, "b")); // a is live
    h.alloc("c", pages(1, "c")).ok(area(0x10000, 1, "c"));
    h.alloc("c", pages(1, "c")).ok(area(0x11000, 1, "c")); // the retry got another area
    assertEquals(List.of(Checker.DEDUP, Checker.OVERLAP), rules(Checker.check(h)));
  }

  @Test
  void areasOfTheWrongSizeAlignmentOrRangeAreCaught() {
    History h = new History(G);
    h.alloc("size", pages(2, "size")).ok(area(0, 3, "size"));
    h.alloc("align", new History.AllocRequest(0x1000, 0x4000, null, null, "align")).ok(area(0x11000, 1, "align"));
    h.alloc("range", new History.AllocRequest(0x1000, 0, 0x20000L, 0x30000L, "range")).ok(area(0x30000, 1, "range"));
    List<Checker.Violation> v = Checker.check(h);
    assertEquals(3, v.size(), v::toString);
    assertEquals(List.of(Checker.BOUNDS), rules(v));
  }

  @Test
  void aFailedFreeOfALiveAreaAndAMissedLookupAreCaught() {
    History h = new History(G);
    Area a = area(0, 2, "a");
    alloc(h, a);
    h.find(0x1800).ok(null);
    h.free("free-a", 0, a).fail(ErrorCode.ENOENT, "no busy area contains 0x0");
    assertEquals(List.of(Checker.FIND, Checker.FREE), rules(Checker.check(h)));
  }

  @Test
  void timeoutsAreUnknownNotWrong() {
    History h = new History(G);
    Area a = area(0, 2, "a");
    h.alloc("a", pages(2, "a")).timeout("no answer");
    h.find(0x1000).ok(a); // it did happen
    h.alloc("a", pages(2, "a")).ok(a); // found later by the retry
    h.free("free-a", 0, a).timeout("no answer");
    h.find(0x1000).ok(null); // the free did happen
    h.free("free-a", 0, a).ok(a);
    assertEquals(List.of(), Checker.check(h));
    Checker.Summary s = Checker.summarize(h);
    assertEquals(1, s.foundLater());
    assertEquals(0, s.unresolvedTimeouts());
  }

  @Test
  void twoIncarnationsOfOneNodeAtOnceAreCaught() {
    History h = new History(G);
    h.incarnationStarted(1, "n1#1");
    h.incarnationStarted(1, "n1#2");
    assertEquals(List.of(Checker.OWNER), rules(Checker.check(h)));
  }

  private static VmapInfo info(List<VmapInfo.AreaInfo> busy, List<VmapInfo.AreaInfo> lazy, long free0, long free1,
      String phase) {
    PurgeProtocol.Status st = new PurgeProtocol.Status(1, phase, 0, 64, 0, List.of(), 1, 0);
    return new VmapInfo(G, busy, lazy,
        List.of(new VmapInfo.NodeStats(0, busy.size(), lazy.size(), free0, 1, free0, 0, 0, 0),
            new VmapInfo.NodeStats(1, 0, 0, free1, 1, free1, 0, 0, 0)),
        st);
  }

  @Test
  void whatRemainsAfterEverythingWasFreedIsALeakExplainedFromTheHistory() {
    History h = new History(G);
    h.alloc("lost", pages(1, "lost")).timeout("no answer");
    h.alloc("twice", pages(1, "twice")).ok(area(0x10000, 1, "twice"));
    VmapInfo end = info(
        List.of(new VmapInfo.AreaInfo(area(0, 1, "lost"), 0), new VmapInfo.AreaInfo(area(0x1000, 1, "twice"), 0)),
        List.of(), 4 * 0x10000 - 0x2000, 4 * 0x10000, "idle");
    List<Checker.Violation> v = Checker.leaks(h, end);
    assertEquals(3, v.size(), v::toString);
    assertEquals(List.of(Checker.LEAK), rules(v));
    assertTrue(v.get(0).detail().contains("timed out"), v::toString);
    assertTrue(v.get(1).detail().contains("second area"), v::toString);
    assertEquals(List.of(), Checker.leaks(h, info(List.of(), List.of(), 4 * 0x10000, 4 * 0x10000, "idle")));
  }

  @Test
  void fsckOfInfoChecksOwnershipOverlapAndPerNodeAccounting() {
    Area spanning = new Area(0x8000, 0x18000, "s"); // 8 pages on node 0, 8 on node 1
    VmapInfo ok = info(List.of(new VmapInfo.AreaInfo(spanning, 0)), List.of(), 4 * 0x10000 - 0x8000,
        4 * 0x10000 - 0x8000, "idle");
    assertEquals(List.of(), Checker.fsck(ok));
    VmapInfo bad = info(
        List.of(new VmapInfo.AreaInfo(spanning, 1), new VmapInfo.AreaInfo(area(0x17000, 1, "x"), 1)),
        List.of(), 4 * 0x10000, 4 * 0x10000, "idle");
    List<Checker.Violation> v = Checker.fsck(bad);
    String all = v.toString();
    assertTrue(all.contains("not nodeOf(start)") && all.contains("overlap") && all.contains("its zones hold"), all);
    // While a purge runs, per-node accounting is not checked (transient differences).
    assertEquals(2, Checker.fsck(info(bad.busy(), List.of(), 4 * 0x10000, 4 * 0x10000, "releasing")).size());
  }

  private static long[] l(long... v) {
    return v;
  }

  @Test
  void fsckOfBooksCatchesOverlapsOrphanedPartsAndOldReservations() {
    // A spanning area [0xc000, 0x14000) of node 0 (start owner), its part [0x10000, 0x14000) held
    // by node 1; node 0 also has a 1-page area at 0.
    Area s = new Area(0xc000, 0x14000, "s");
    Part p0 = new Part(0, 0xc000, 0x10000);
    Part p1 = new Part(1, 0x10000, 0x14000);
    NodeBooks n0 = new NodeBooks(0, l(0x1000, 0x20000, 0x40000, 0x60000), l(0xc000, 0x30000, 0x50000, 0x70000),
        List.of(area(0, 1, "a"), s), List.of(new LazyArea(s, 0, List.of(p0, p1))), List.of(), List.of(), List.of());
    NodeBooks n1 = new NodeBooks(1, l(0x14000, 0x30000, 0x50000, 0x70000), l(0x20000, 0x40000, 0x60000, 0x80000),
        List.of(), List.of(), List.of(), List.of(new HeldPart(0x10000, 0x14000, s, 0, new ReservationId(RequestKey.keyed("alloc", "r1"), 0, s, 0))), List.of());
    assertEquals(List.of(), Checker.fsck(G, List.of(n0, n1), Duration.ZERO));

    // Node 1's free shard also claims the held part; node 0 forgot the area (the part is orphaned);
    // node 1 holds a reservation far past its lease.
    NodeBooks n0bad = new NodeBooks(0, n0.freeStarts(), n0.freeEnds(), List.of(area(0, 1, "a")), List.of(), List.of(),
        List.of(), List.of());
    ReservationId r2 = new ReservationId(RequestKey.keyed("alloc", "r2"), 0, area(0x30000, 1, "r"), 0);
    NodeBooks n1bad = new NodeBooks(1, l(0x12000, 0x30000, 0x50000, 0x70000), n1.freeEnds(), List.of(), List.of(),
        List.of(), n1.held(),
        List.of(new NodeBooks.Reserved(r2, area(0x30000, 1, "r"), 0, List.of(new Part(1, 0x30000, 0x31000)), 9000, 300)));
    List<Checker.Violation> v = Checker.fsck(G, List.of(n0bad, n1bad), Duration.ofMillis(300));
    String all = v.toString();
    assertTrue(all.contains("overlap"), all);
    assertTrue(all.contains("neither has busy nor unpurged"), all);
    assertTrue(all.contains("reservation " + r2), all);
    assertTrue(all.contains("its zones hold"), all);
    assertEquals(List.of(Checker.FSCK), rules(v));
  }

  @Test
  void theHistoryCanBePrinted() {
    History h = new History(G);
    alloc(h, area(0, 1, "a"));
    h.flushAcked("s", 3, List.of(area(0, 1, "a")));
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    h.print(new java.io.PrintStream(b, true));
    List<String> lines = new ArrayList<>(List.of(b.toString().split("\n")));
    assertEquals(4, lines.size(), lines::toString);
    assertTrue(lines.get(1).contains("invoke op0 alloc id=a"), lines::toString);
    assertTrue(lines.get(3).contains("flush-ack s epoch 3 0x0000000000000000-0x0000000000001000"), lines::toString);
  }
}
