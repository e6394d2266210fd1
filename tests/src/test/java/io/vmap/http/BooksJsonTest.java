package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.chaos.Checker;
import io.vmap.chaos.NodeBooks;
import io.vmap.http.api.Api;
import io.vmap.http.api.BooksJson;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.Geometry;
import io.vmap.state.HeldPart;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The JSON of {@code GET /v1/fsck} maps every field of a node's books both ways, unsigned 64-bit
 * values above 2^63 included, so {@code vmap check --url} checks exactly the books the nodes keep:
 * an inconsistency planted in books (which HTTP cannot do to a live allocator) is found the same
 * before and after the trip through JSON.
 */
class BooksJsonTest {

  /** Two nodes, 32 MiB zones, at the top of the 64-bit space (addresses above 2^63). */
  private static final long BASE = 0xffffc90000000000L;
  private static final long ZONE = 32L << 20;
  private static final Geometry G = new Geometry(BASE, BASE + 4 * ZONE, 4096, ZONE, 2);

  /** Node 0 owns zones 0 and 2, node 1 zones 1 and 3. One spanning area crosses zones 0 and 1. */
  private static List<NodeBooks> books(long freeEndOfNode0) {
    return books(freeEndOfNode0, 1500);
  }

  /** Consistent books if {@code freeEndOfNode0} is BASE + ZONE - 0x2000 and the age is within the 5 s lease. */
  private static List<NodeBooks> books(long freeEndOfNode0, long reservationAgeMillis) {
    Area span = new Area(BASE + ZONE - 0x2000, BASE + ZONE + 0x3000, "span");
    Area small = new Area(BASE, BASE + 0x1000, "small");
    Area freed = new Area(BASE + 2 * ZONE + 0x1000, BASE + 2 * ZONE + 0x5000, "");
    ReservationId spanId = new ReservationId(RequestKey.keyed("alloc", "r-1"), 0, span, 0xfedcba9876543210L);
    Area reservedArea = new Area(BASE + 2 * ZONE - 0x1000, BASE + 2 * ZONE + 0x1000, "res");
    ReservationId resId = new ReservationId(new RequestKey(0x1234, 77), 1, reservedArea, 3);
    List<Part> spanParts = List.of(new Part(0, span.start(), BASE + ZONE), new Part(1, BASE + ZONE, span.end()));
    List<Part> resParts = List.of(new Part(1, reservedArea.start(), BASE + 2 * ZONE), new Part(0, BASE + 2 * ZONE, reservedArea.end()));
    NodeBooks n0 = new NodeBooks(0,
        new long[] {BASE + 0x1000, BASE + 2 * ZONE + 0x5000},
        new long[] {freeEndOfNode0, BASE + 3 * ZONE},
        List.of(small, span),
        List.of(new LazyArea(span, 0, spanParts)),
        List.of(new LazyArea(freed, 0, List.of(new Part(0, freed.start(), freed.end())))),
        List.of(),
        List.of(new NodeBooks.Reserved(resId, reservedArea, 1, List.of(resParts.get(1)), reservationAgeMillis, 5000)),
        FreeRuns.NONE,
        // Tenants other than the default: a busy area and an unpurged one.
        java.util.Map.of(small.start(), "a", freed.start(), "b.team-2"));
    NodeBooks n1 = new NodeBooks(1,
        new long[] {BASE + ZONE + 0x3000, BASE + 3 * ZONE},
        new long[] {BASE + 2 * ZONE - 0x1000, BASE + 4 * ZONE},
        List.of(),
        List.of(),
        List.of(),
        List.of(new HeldPart(BASE + ZONE, span.end(), span, 0, spanId)),
        List.of(new NodeBooks.Reserved(resId, reservedArea, 1, List.of(resParts.get(0)), reservationAgeMillis, 5000)));
    return List.of(n0, n1);
  }

  private static List<NodeBooks> roundTrip(List<NodeBooks> books) {
    String json = Api.write(BooksJson.of(G, books));
    BooksJson back = Api.read(json, BooksJson.class);
    assertEquals(G.toString(), back.toGeometry().toString());
    return back.toBooks();
  }

  private static void assertSameBooks(List<NodeBooks> want, List<NodeBooks> got) {
    assertEquals(want.size(), got.size());
    for (int i = 0; i < want.size(); i++) {
      NodeBooks w = want.get(i);
      NodeBooks g = got.get(i);
      assertEquals(w.node(), g.node());
      assertArrayEquals(w.freeStarts(), g.freeStarts(), "free starts of node " + w.node());
      assertArrayEquals(w.freeEnds(), g.freeEnds(), "free ends of node " + w.node());
      assertEquals(w.busy(), g.busy());
      assertEquals(w.spanning(), g.spanning());
      assertEquals(w.unpurged(), g.unpurged());
      assertEquals(w.held(), g.held());
      assertEquals(w.reservations(), g.reservations());
      assertEquals(w.owners(), g.owners(), "owners of node " + w.node());
    }
  }

  @Test
  void everyFieldSurvivesTheTripThroughJson() {
    List<NodeBooks> books = books(BASE + ZONE - 0x2000);
    assertEquals(List.of(), Checker.fsck(G, books, Duration.ZERO), "the hand-made books are consistent");
    assertSameBooks(books, roundTrip(books));
  }

  @Test
  void addressesAreHexStringsAndFreeBlocksTwoLists() throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Api.write(BooksJson.of(G, books(BASE + ZONE - 0x2000))));
    var n0 = json.get("nodes").get(0);
    assertEquals("0xffffc90000001000", n0.get("freeStarts").get(0).asText());
    assertEquals("0xffffc90001ffe000", n0.get("freeEnds").get(0).asText());
    assertEquals("0xffffc90001ffe000", n0.get("spanning").get(0).get("area").get("start").asText());
    assertEquals("0xfedcba9876543210", json.get("nodes").get(1).get("held").get(0).get("reservation").get("serial").asText());
    assertEquals(1500, n0.get("reservations").get(0).get("ageMillis").asLong());
    assertEquals("0xffffc90000000000", json.get("geometry").get("vstart").asText());
    // The default tenant's areas are not listed; the others by start, ascending.
    assertEquals("0xffffc90000000000", n0.get("owners").get(0).get("start").asText());
    assertEquals("a", n0.get("owners").get(0).get("tenant").asText());
    assertEquals("b.team-2", n0.get("owners").get(1).get("tenant").asText());
    assertEquals(0, json.get("nodes").get(1).get("owners").size());
  }

  @Test
  void ownersAreOptionalAndCheckedWhenGiven() throws Exception {
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    var json = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(Api.write(BooksJson.of(G, books(BASE + ZONE - 0x2000))));
    var n0 = (com.fasterxml.jackson.databind.node.ObjectNode) json.get("nodes").get(0);
    n0.remove("owners");
    NodeBooks older = Api.read(mapper.writeValueAsString(json), BooksJson.class).toBooks().get(0);
    assertEquals(java.util.Map.of(), older.owners(), "an older vmap's books: every area the default tenant's");
    assertEquals(io.vmap.state.Principal.DEFAULT_TENANT, older.tenantOf(BASE));

    var bad = mapper.createArrayNode();
    bad.addObject().put("start", "0xffffc90000000000").put("tenant", "no spaces");
    n0.set("owners", bad);
    Api.BadJson e = assertThrows(Api.BadJson.class,
        () -> Api.read(mapper.writeValueAsString(json), BooksJson.class).toBooks());
    assertTrue(e.getMessage().startsWith("owners: tenant 'no spaces'"), e.getMessage());
  }

  @Test
  void aPlantedInconsistencyIsFoundTheSameAfterTheTrip() {
    // Node 0's first free block runs 0x1000 into the spanning area's part: free and busy overlap.
    List<NodeBooks> planted = books(BASE + ZONE - 0x1000);
    List<Checker.Violation> before = Checker.fsck(G, planted, Duration.ZERO);
    assertFalse(before.isEmpty());
    assertTrue(before.toString().contains("overlap"), before.toString());
    assertEquals(before, Checker.fsck(G, roundTrip(planted), Duration.ZERO));
    // And a reservation past its lease (+ grace): its age and lease make the trip too.
    List<NodeBooks> old = books(BASE + ZONE - 0x2000, 6000);
    List<Checker.Violation> late = Checker.fsck(G, old, Duration.ZERO);
    assertEquals(2, late.size(), late.toString());
    assertTrue(late.get(0).toString().contains("6000 ms old, lease 5000 ms"), late.toString());
    assertEquals(late, Checker.fsck(G, roundTrip(old), Duration.ZERO));
    assertEquals(List.of(), Checker.fsck(G, roundTrip(old), Duration.ofSeconds(1)));
  }

  @Test
  void malformedBooksAreRejectedNamingTheField() {
    String good = Api.write(BooksJson.of(G, books(BASE + ZONE - 0x2000)));
    String unequal = good.replaceFirst("\"freeEnds\":\\[\"0x[0-9a-f]+\",", "\"freeEnds\":[");
    Api.BadJson e = assertThrows(Api.BadJson.class, () -> Api.read(unequal, BooksJson.class).toBooks());
    assertTrue(e.getMessage().contains("2 freeStarts but 1 freeEnds"), e.getMessage());
    String negative = good.replaceFirst("\"freeStarts\":\\[\"0x[0-9a-f]+\"", "\"freeStarts\":[\"-1\"");
    Api.BadJson n = assertThrows(Api.BadJson.class, () -> Api.read(negative, BooksJson.class));
    assertTrue(n.getMessage().contains("must not be negative"), n.getMessage());
    Api.BadJson none = assertThrows(Api.BadJson.class, () -> Api.read("{\"geometry\":null}", BooksJson.class).toBooks());
    assertTrue(none.getMessage().contains("'nodes'"), none.getMessage());
  }
}
