package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.chaos.Checker;
import io.vmap.chaos.NodeBooks;
import io.vmap.http.api.Api;
import io.vmap.http.api.BooksJson;
import io.vmap.http.api.NodesJson;
import io.vmap.http.api.SpaceAreaJson;
import io.vmap.http.api.SpaceAreasJson;
import io.vmap.http.api.SpaceJson;
import io.vmap.http.ui.SpaceModel;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.NodeEvent;
import io.vmap.state.NodeState;
import io.vmap.state.Policy;
import io.vmap.state.Principal;
import io.vmap.state.RequestKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The books of the 12.5 PiB five-level space (16 nodes, 26,214,400 zones each) keep each node's
 * untouched zones as runs through {@code /v1/fsck}'s JSON, the fsck and the space map: each answers
 * from a few entries per node, with the same bytes and block counts as the nodes' shards, and the
 * fsck still finds a run that overlaps an area or lies in another node's zones.
 */
class FiveLevelBooksTest {

  static final Geometry G = new Geometry(0xffa0000000000000L, 0xffd2000000000000L, 4096, 32L << 20, 16);
  static final NodeState.Memory MEMORY = new NodeState.Memory(256, 16, 1024, 1024);

  private static AllocSpec pages(long n) {
    return AllocSpec.of(G, n * 4096L, 4096, null, null, 0, "t", Policy.NORMAL);
  }

  /** Every node's state: nodes 2 and 5 hold areas (one lazily freed, one a whole zone). */
  private static List<NodeState> states() {
    List<NodeState> out = new ArrayList<>();
    for (int k = 0; k < G.nodes(); k++) {
      NodeState s = new NodeState(k, G, MEMORY);
      if (k == 2 || k == 5) {
        Area a = s.allocate(s.findFit(pages(3)), new RequestKey(k, 1), Principal.DEFAULT_TENANT);
        s.allocate(s.findFit(pages(G.zone() / 4096)), new RequestKey(k, 2), Principal.DEFAULT_TENANT);
        s.allocate(s.findFit(pages(1)), new RequestKey(k, 3), Principal.DEFAULT_TENANT);
        s.apply(new NodeEvent.AreaFreed(a.start(), new RequestKey(k, 4)));
      }
      out.add(s);
    }
    return out;
  }

  /** A node's books as {@code Inspection} reports them: plain blocks, runs apart. */
  private static NodeBooks books(NodeState s) {
    FreeRuns free = s.freeRuns();
    long[][] plain = free.plainBlocks();
    return new NodeBooks(s.node(), plain[0], plain[1], new ArrayList<>(s.busyAreas()), List.of(), s.lazy().unpurged(),
        List.of(), List.of(), free.runsOnly());
  }

  @Test
  void theFsckTheJsonAndTheSpaceMapAnswerFromRunsWithTheShardsFigures() {
    List<NodeState> states = states();
    List<NodeBooks> books = states.stream().map(FiveLevelBooksTest::books).toList();
    long free = 0;
    for (NodeBooks b : books) {
      assertTrue(b.freeRuns().size() + b.freeStarts().length <= 6, "a few entries: " + b.freeRuns());
      assertEquals(states.get(b.node()).freeBlocks(), b.freeBlockCount());
      free += states.get(b.node()).freeBytes();
    }
    assertEquals(List.of(), Checker.fsck(G, books, Duration.ZERO));

    // Through /v1/fsck's JSON and back: the same runs, the same verdict.
    String json = Api.write(BooksJson.of(G, books));
    assertTrue(json.length() < 20_000, "a few entries per node, not one per zone: " + json.length() + " chars");
    List<NodeBooks> back = Api.read(json, BooksJson.class).toBooks();
    for (int k = 0; k < books.size(); k++) assertEquals(books.get(k).freeRuns(), back.get(k).freeRuns());
    assertEquals(List.of(), Checker.fsck(G, back, Duration.ZERO));

    // The space map: the whole space in cells, per-node figures, and a zoomed-in range.
    SpaceModel model = new SpaceModel(G, books, Instant.EPOCH);
    SpaceJson whole = model.cells(G.vstart(), G.vend(), 4096);
    assertEquals(free, whole.totals().free());
    assertEquals(G.spaceBytes(), whole.totals().free() + whole.totals().busy() + whole.totals().lazy());
    long cellsFree = 0;
    for (long c : whole.columns().free()) cellsFree += c;
    assertEquals(free, cellsFree);
    List<NodesJson.Node> nodes = model.nodes(k -> new NodesJson.Traffic(0, 0, 0, null, null, 0));
    for (NodesJson.Node n : nodes) {
      NodeState s = states.get(n.node());
      assertEquals(s.freeBytes(), n.freeBytes(), "node " + n.node());
      assertEquals(s.freeBlocks(), n.freeBlocks(), "node " + n.node());
      assertEquals(s.largestFreeBlock(), n.largestFreeBlock(), "node " + n.node());
    }
    // 40 zones from the start: node k's first zones, untouched ones listed as members of their run.
    SpaceAreasJson some = model.areas(G.vstart(), G.vstart() + 40 * G.zone(), 100);
    long freeZones = some.areas().stream().filter(a -> a.state().equals("free") && a.size() == G.zone()).count();
    assertEquals(40 - 4, freeZones, "every zone of the 40 but the two cut and the two whole-zone areas' ones: " + some.areas());
    SpaceAreasJson few = model.areas(G.vstart(), G.vend(), 10);
    assertTrue(few.truncated());
    assertEquals(10, few.areas().size());
    for (int i = 1; i < few.areas().size(); i++) {
      SpaceAreaJson p = few.areas().get(i - 1);
      assertTrue(Long.compareUnsigned(p.start(), few.areas().get(i).start()) < 0, "address order: " + few.areas());
    }
  }

  @Test
  void aRunOverlappingAnAreaOrInAnotherNodesZonesIsAFinding() {
    List<NodeState> states = states();
    List<NodeBooks> books = new ArrayList<>(states.stream().map(FiveLevelBooksTest::books).toList());
    NodeBooks seven = books.get(7);
    FreeRuns runs = seven.freeRuns();
    // Node 7 also lists an area in the middle of one of its untouched zones.
    long zone = runs.starts()[0] + 1000 * runs.strides()[0];
    Area inRun = new Area(zone + 0x1000, zone + 0x2000, "x");
    books.set(7, new NodeBooks(7, seven.freeStarts(), seven.freeEnds(), List.of(inRun), List.of(), List.of(), List.of(),
        List.of(), runs));
    List<Checker.Violation> v = Checker.fsck(G, books, Duration.ZERO);
    assertFalse(v.isEmpty());
    assertTrue(v.toString().contains("overlap"), v.toString());

    // Node 8's run moved by one zone: its members lie in node 9's zones.
    NodeBooks eight = books.get(8);
    FreeRuns r8 = eight.freeRuns();
    long[] starts = r8.starts().clone();
    starts[0] += G.zone();
    books.set(7, seven);
    books.set(8, new NodeBooks(8, eight.freeStarts(), eight.freeEnds(), eight.busy(), List.of(), eight.unpurged(),
        List.of(), List.of(), new FreeRuns(starts, r8.widths(), r8.strides(), r8.counts())));
    List<Checker.Violation> w = Checker.fsck(G, books, Duration.ZERO);
    assertTrue(w.toString().contains("node 8: run of free blocks"), w.toString());
  }
}
