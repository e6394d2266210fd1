package io.vmap.ui;

import io.vmap.chaos.NodeBooks;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.HeldPart;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import java.util.List;

/**
 * Two nodes' books over 16 zones of 64 KiB at 0x100000, written by hand (node 0 owns the even
 * zones 0x100000, 0x120000, ..., node 1 the odd ones):
 *
 * <pre>
 * zone 0 (node 0)  busy A [0x100000, 0x110000) "full": the whole zone
 * zone 1 (node 1)  free [0x110000, 0x118000), then B starts
 * zone 2 (node 0)  B [0x118000, 0x128000) "span" ends here (node 0 holds its part), free after
 * zone 3 (node 1)  lazy C [0x130000, 0x134000) "gone", free after
 * zone 4 (node 0)  reserved [0x140000, 0x142000), free after
 * zones 5..15      free
 * </pre>
 */
final class SpaceBooks {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static final Geometry GEOMETRY = new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2);

  static final Area A = new Area(0x100000L, 0x110000L, "full");
  static final Area B = new Area(0x118000L, 0x128000L, "span");
  static final Area C = new Area(0x130000L, 0x134000L, "gone");
  static final Area R = new Area(0x140000L, 0x142000L, "res");

  private SpaceBooks() {}

  static List<NodeBooks> books() {
    ReservationId rid = new ReservationId(new RequestKey(1, 1), 1, B, 1);
    ReservationId rr = new ReservationId(new RequestKey(1, 2), 0, R, 2);
    NodeBooks n0 = new NodeBooks(0,
        new long[] {0x128000L, 0x142000L, 0x160000L, 0x180000L, 0x1a0000L, 0x1c0000L, 0x1e0000L},
        new long[] {0x130000L, 0x150000L, 0x170000L, 0x190000L, 0x1b0000L, 0x1d0000L, 0x1f0000L},
        List.of(A), List.of(), List.of(),
        List.of(new HeldPart(0x120000L, 0x128000L, B, 1, rid)),
        List.of(new NodeBooks.Reserved(rr, R, 0, List.of(new Part(0, R.start(), R.end())), 10, 30_000)));
    NodeBooks n1 = new NodeBooks(1,
        new long[] {0x110000L, 0x134000L, 0x150000L, 0x170000L, 0x190000L, 0x1b0000L, 0x1d0000L, 0x1f0000L},
        new long[] {0x118000L, 0x140000L, 0x160000L, 0x180000L, 0x1a0000L, 0x1c0000L, 0x1e0000L, 0x200000L},
        List.of(B), List.of(new LazyArea(B, 1, List.of(new Part(1, 0x118000L, 0x120000L), new Part(0, 0x120000L, 0x128000L)))),
        List.of(new LazyArea(C, 1, List.of(new Part(1, C.start(), C.end())))),
        List.of(), List.of());
    return List.of(n0, n1);
  }
}
