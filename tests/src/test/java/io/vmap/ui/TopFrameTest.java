package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.http.api.NodesJson;
import io.vmap.http.api.PurgeStatusJson;
import io.vmap.http.api.InfoJson;
import io.vmap.http.api.SpaceJson;
import io.vmap.http.api.TenantsJson;
import io.vmap.http.ui.PurgeView;
import io.vmap.http.ui.SpaceModel;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.runner.TopFrame;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A frame of vmap top rendered from JSON of known content, read back as text. */
class TopFrameTest {

  static final Instant NOW = Instant.parse("2026-11-27T12:00:30Z");

  static String frame(PurgeProtocol.Status status) {
    return frame(status, null);
  }

  static String frame(PurgeProtocol.Status status, TenantsJson tenants) {
    SpaceModel m = new SpaceModel(SpaceBooks.GEOMETRY, SpaceBooks.books(), NOW);
    SpaceJson space = m.cells(SpaceBooks.GEOMETRY.vstart(), SpaceBooks.GEOMETRY.vend(), 100);
    NodesJson nodes = new NodesJson(SpaceModel.geometryJson(SpaceBooks.GEOMETRY),
        m.nodes(k -> new NodesJson.Traffic(10 * (k + 1), 0, k + 1.0, 0.25, 2.5, 100)),
        new NodesJson.Traffic(0, 0, 0, null, null, 0),
        List.of(new NodesJson.OpTraffic("alloc", new NodesJson.Traffic(30, 0, 3.0, 0.3, 4.0, 300))), 10, NOW.toString());
    PurgeStatusJson purge = PurgeView.of(status, NOW, Duration.ofSeconds(5), List.of());
    return TopFrame.render("http://member:8080", nodes, space, purge, tenants, 100, false);
  }

  static PurgeProtocol.Status idle() {
    return new PurgeProtocol.Status(3, "idle", 4, 16, 1, List.of(), 3, 12);
  }

  @Test
  void tenantsAreListedWithTheirShareOfTheQuotaAndOneNearItsLimitIsMarked() {
    TenantsJson tenants = new TenantsJson(List.of(
        new InfoJson.TenantJson("a", 3, 12288, 2, 8192, 1, 4096, 10L, null),
        new InfoJson.TenantJson("b", 9, 36864, 9, 36864, 0, 0, 10L, 40960L),
        new InfoJson.TenantJson("default", 1, 4096, 1, 4096, 0, 0, null, null)));
    List<String> lines = frame(idle(), tenants).lines().toList();
    int header = indexOf(lines, "tenant ");
    String a = lines.get(header + 1);
    String b = lines.get(header + 2);
    String d = lines.get(header + 3);
    assertTrue(a.startsWith("a ") && a.contains("3 (2, 1)") && a.contains("12 KiB (8 KiB, 4 KiB)"), a);
    assertTrue(a.contains("30%") && !a.contains("NEAR LIMIT"), "3 of 10 areas, no byte limit: " + a);
    assertTrue(b.contains("90%") && b.endsWith("NEAR LIMIT"), "9 of 10 areas, 36 of 40 KiB: " + b);
    assertTrue(d.startsWith("default") && !d.contains("%"), "no limits: " + d);
    for (String l : lines) assertTrue(l.length() <= 100, "wider than 100 columns: " + l);
  }

  @Test
  void aMemberWithoutTenantsShowsNoTenantSection() {
    assertTrue(frame(idle()).lines().noneMatch(l -> l.startsWith("tenant ")));
    assertTrue(frame(idle(), new TenantsJson(List.of())).lines().noneMatch(l -> l.startsWith("tenant ")));
  }

  @Test
  void theMapHasOneCharacterPerZoneShadedByUse() {
    List<String> lines = frame(idle()).lines().toList();
    int at = indexOf(lines, "space map ");
    assertTrue(lines.get(at).contains("16 zones, 1 per cell"), lines.get(at));
    // zone 0 all busy, zones 1 and 2 half busy (the spanning area), zone 3 mostly lazy, zone 4
    // reserved, the rest free.
    assertEquals("█▓▓zr···········", lines.get(at + 1));
  }

  @Test
  void theNodeTableHasARowPerNodeWithItsBytesAndTraffic() {
    List<String> lines = frame(idle()).lines().toList();
    int header = indexOf(lines, "node ");
    String n0 = lines.get(header + 1);
    String n1 = lines.get(header + 2);
    assertTrue(n0.trim().startsWith("0 "), n0);
    assertTrue(n0.contains("1 96 KiB"), "node 0: one area, 96 KiB of its zones busy: " + n0);
    assertTrue(n0.contains("408 KiB (7)"), "free bytes and blocks: " + n0);
    assertTrue(n0.contains("0.25ms") && n0.contains("2.50ms"), "p50 and p99: " + n0);
    assertTrue(n1.contains("1 16 KiB"), "node 1: one lazy area of 16 KiB: " + n1);
    assertTrue(n1.contains("464 KiB (8)"), n1);
    assertTrue(lines.get(header + 3).startsWith("last 10 s: alloc 3.0/s"), lines.get(header + 3));
  }

  @Test
  void aSubscriberWithholdingItsAckStandsOutWithWhatToDo() {
    PurgeProtocol.Status held = new PurgeProtocol.Status(4, "flushing", 20, 16, 2,
        List.of(new PurgeProtocol.Holder("akka://vmap/user/cache", 4, NOW.minusSeconds(12))), 3, 12);
    String f = frame(held);
    List<String> lines = f.lines().toList();
    int at = indexOf(lines, "purge: ");
    assertTrue(lines.get(at).startsWith("purge: phase flushing  epoch 4  lazy 20/16 pages [####################] 125%"),
        lines.get(at));
    assertEquals("  STUCK epoch 4: akka://vmap/user/cache  no ack for 12.0 s", lines.get(at + 1));
    assertTrue(f.contains("unsubscribeFlush"), f);
    assertTrue(f.contains("Operating purges"), f);
    for (String l : lines) assertTrue(l.length() <= 100, "wider than 100 columns: " + l);
  }

  @Test
  void aHolderWithinTheGraceIsShownButNotStuck() {
    PurgeProtocol.Status held = new PurgeProtocol.Status(4, "flushing", 20, 16, 2,
        List.of(new PurgeProtocol.Holder("akka://vmap/user/cache", 4, NOW.minusSeconds(1))), 3, 12);
    String f = frame(held);
    assertTrue(f.contains("  holds epoch 4: akka://vmap/user/cache  no ack for 1.0 s"), f);
    assertTrue(!f.contains("STUCK") && !f.contains("unsubscribeFlush"), f);
  }

  private static int indexOf(List<String> lines, String prefix) {
    for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith(prefix)) return i;
    throw new AssertionError("no line starts with '" + prefix + "' in\n" + String.join("\n", lines));
  }
}
