package io.vmap.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node's ownership books ({@link Ownership} inside {@link NodeState}), without actors: every area
 * keeps its tenant from allocation to release, tenant usage counts live and lazily freed areas,
 * replaying the stored events or restoring a snapshot gives the same owners and usage, and the
 * default tenant's areas are stored exactly as before tenants existed.
 */
class OwnershipTest {

  static final Geometry G = new Geometry(0x100000, 0x200000, 4096, 0x10000, 1);
  static final NodeState.Memory MEMORY = new NodeState.Memory(256, 16, 1024, 1024);

  private static RequestKey key(int i) {
    return new RequestKey(1, i);
  }

  private static AllocSpec pages(int n) {
    return AllocSpec.of(G, n * 4096L, 4096, null, null, 0, "t", Policy.NORMAL);
  }

  /** A node state whose every event is also recorded, as a durable node's journal would. */
  private static NodeState recording(List<NodeEvent> log) {
    NodeState s = new NodeState(0, G, MEMORY);
    s.onApplied(log::add);
    return s;
  }

  @Test
  void everyAreaKeepsItsTenantFromAllocationToRelease() {
    List<NodeEvent> log = new ArrayList<>();
    NodeState s = recording(log);
    Area a = s.allocate(s.findFit(pages(2)), key(1), "storage-a");
    Area b = s.allocate(s.findFit(pages(1)), key(2), "storage-b");
    Area d = s.allocate(s.findFit(pages(3)), key(3), Principal.DEFAULT_TENANT);
    assertEquals("storage-a", s.ownership().ownerOf(a.start()));
    assertEquals("storage-b", s.ownership().ownerOf(b.start()));
    assertEquals(Principal.DEFAULT_TENANT, s.ownership().ownerOf(d.start()));
    assertEquals(new TenantUsage("storage-a", 8192, 1, 0, 0), s.ownership().usage("storage-a"));

    // A lazily freed area still belongs to its tenant and still counts, as lazy.
    s.apply(new NodeEvent.AreaFreed(a.start(), key(4)));
    assertEquals("storage-a", s.ownership().ownerOf(a.start()));
    assertEquals(new TenantUsage("storage-a", 0, 0, 8192, 1), s.ownership().usage("storage-a"));
    s.checkInvariants();

    // Released by a purge: no longer counted, owner forgotten.
    s.apply(new NodeEvent.LazySpliced(1));
    s.apply(new NodeEvent.PiecesReleased(1, List.of(new ReleasePiece(a.start(), a.start(), a.end()))));
    assertEquals(TenantUsage.none("storage-a"), s.ownership().usage("storage-a"));
    assertEquals(Principal.DEFAULT_TENANT, s.ownership().ownerOf(a.start()));
    assertTrue(s.ownership().usages().stream().noneMatch(u -> u.tenant().equals("storage-a")), s.ownership().usages()::toString);
    s.checkInvariants();

    // The default tenant's area is stored as the event it always was; the others carry their tenant.
    assertInstanceOf(NodeEvent.AreaAllocatedFor.class, log.get(0));
    assertEquals("storage-a", ((NodeEvent.AreaAllocatedFor) log.get(0)).tenant());
    assertInstanceOf(NodeEvent.AreaAllocated.class, log.get(2));
  }

  @Test
  void replayingTheStoredEventsGivesTheSameOwnersAndUsage() {
    List<NodeEvent> log = new ArrayList<>();
    NodeState s = recording(log);
    Area a = s.allocate(s.findFit(pages(2)), key(1), "a");
    s.allocate(s.findFit(pages(1)), key(2), "b");
    s.allocate(s.findFit(pages(4)), key(3), "a");
    s.apply(new NodeEvent.AreaFreed(a.start(), key(4)));

    NodeState replayed = new NodeState(0, G, MEMORY);
    for (NodeEvent e : log) replayed.replay(e);
    assertEquals(s.ownership().usages(), replayed.ownership().usages());
    assertEquals(s.ownership().owners(), replayed.ownership().owners());
    replayed.checkInvariants();
  }

  @Test
  void aSnapshotWithOwnersRestoresThemAndAPlainOneMeansTheDefaultTenant() {
    NodeState s = new NodeState(0, G, MEMORY);
    Area a = s.allocate(s.findFit(pages(2)), key(1), "a");
    Area d = s.allocate(s.findFit(pages(1)), key(2), Principal.DEFAULT_TENANT);
    s.apply(new NodeEvent.AreaFreed(d.start(), key(3)));

    Object stored = OwnedSnapshot.of(s);
    CompactSnapshot owned = assertInstanceOf(CompactSnapshot.class, stored);
    assertEquals(List.of(a.start()), owned.ownedStarts());
    NodeState back = OwnedSnapshot.restore(stored, G, MEMORY);
    assertEquals("a", back.ownership().ownerOf(a.start()));
    assertEquals(s.ownership().usages(), back.ownership().usages());
    back.checkInvariants();
    // The copy a durable node serves from keeps the owners too.
    assertEquals(s.ownership().owners(), s.copy().ownership().owners());

    // Only default-tenant areas: no owners are stored, and every area is the default tenant's.
    NodeState plain = new NodeState(0, G, MEMORY);
    plain.allocate(plain.findFit(pages(1)), key(1), Principal.DEFAULT_TENANT);
    Object p = OwnedSnapshot.of(plain);
    assertEquals(List.of(), assertInstanceOf(CompactSnapshot.class, p).ownedStarts());
    assertEquals(new TenantUsage(Principal.DEFAULT_TENANT, 4096, 1, 0, 0),
        OwnedSnapshot.restore(p, G, MEMORY).ownership().usage(Principal.DEFAULT_TENANT));
  }

  @Test
  void aReadIndexLookupNamesTheOwner() {
    NodeState s = new NodeState(0, G, MEMORY);
    Area a = s.allocate(s.findFit(pages(2)), key(1), "a");
    Area d = s.allocate(s.findFit(pages(1)), key(2), Principal.DEFAULT_TENANT);
    assertEquals(new OwnedArea(a, "a"), s.findOwned(a.start() + 100));
    assertEquals(new OwnedArea(d, Principal.DEFAULT_TENANT), s.findOwned(d.start()));
    assertNull(s.findOwned(d.end() + 4096));
  }

  @Test
  void aSpanningCommitCarriesItsTenant() {
    // Two nodes, 64 KiB zones: a 128 KiB area from node 0's zone into node 1's.
    Geometry g2 = new Geometry(0x100000, 0x200000, 4096, 0x10000, 2);
    NodeState n0 = new NodeState(0, g2, MEMORY);
    List<NodeEvent> log = new ArrayList<>();
    n0.onApplied(log::add);
    Area area = new Area(0x100000, 0x120000, "big");
    ReservationId id = new ReservationId(key(1), 0, area, 7);
    List<Part> all = List.of(new Part(0, 0x100000, 0x110000), new Part(1, 0x110000, 0x120000));
    n0.apply(new NodeEvent.SpanReserved(new Reservation(id, 0, List.of(all.get(0)), all)));
    n0.commit(id, "a");
    assertEquals("a", n0.ownership().ownerOf(area.start()));
    assertEquals(new TenantUsage("a", area.size(), 1, 0, 0), n0.ownership().usage("a"));
    assertEquals(new NodeEvent.SpanCommittedFor(id, "a"), log.get(1));
    n0.checkInvariants();
  }

  @Test
  void tenantNamesAreCheckedAndAPrincipalSeesOnlyItsOwnUnlessAdmin() {
    assertThrows(IllegalArgumentException.class, () -> Principal.tenant(""));
    assertThrows(IllegalArgumentException.class, () -> Principal.tenant("a b"));
    assertThrows(IllegalArgumentException.class, () -> Principal.tenant("x".repeat(65)));
    assertThrows(AllocSpec.Invalid.class, () -> pages(1).withTenant("no/slash"));
    assertTrue(Principal.tenant("a").sees("a"));
    assertTrue(!Principal.tenant("a").sees("b"));
    assertTrue(Principal.admin("ops").sees("b"));
    assertSame(Principal.DEFAULT_TENANT, Principal.SYSTEM.tenant());
  }
}
