package io.vmap.wire;

import io.vmap.state.Reservation;
import io.vmap.state.Decision;
import io.vmap.state.HeldPart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.vmap.space.Area;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The id table itself: stored ids never move, and bad registrations fail at startup. */
final class WireRegistryTest {

  /**
   * Ids already used in stored data. Append a line when you add an entry to the table; a line that
   * stops matching means a renumbered or reused id, which would corrupt every stored journal.
   */
  private static final Map<Integer, String> PINNED = pinned();

  private static Map<Integer, String> pinned() {
    Map<Integer, String> m = new LinkedHashMap<>();
    m.put(0, "int");
    m.put(1, "java.lang.String");
    m.put(7, "long");
    m.put(10, "[B");
    m.put(12, "[J");
    m.put(20, "java.util.ArrayList");
    m.put(30, "java.util.ImmutableCollections$List12");
    m.put(31, "java.util.ImmutableCollections$ListN");
    m.put(50, "java.util.Optional");
    m.put(54, "java.util.UUID");
    m.put(56, "java.time.Instant");
    m.put(60, "akka.actor.typed.internal.adapter.ActorRefAdapter");
    m.put(61, "akka.actor.typed.internal.adapter.ActorSystemAdapter");
    m.put(100, Area.class.getName());
    m.put(101, "io.vmap.state.ErrorCode");
    m.put(102, "io.vmap.state.Policy");
    m.put(103, "io.vmap.state.Part");
    m.put(104, "io.vmap.state.LazyArea");
    m.put(105, "io.vmap.state.AllocSpec");
    m.put(106, "io.vmap.state.ZoneEdge");
    m.put(107, "io.vmap.state.ReleasePiece");
    // 110-190 were format 1's ids: retired, never reused (storedIdsNeverChange checks).
    m.put(200, "io.vmap.state.RequestKey");
    m.put(201, "io.vmap.state.AttemptId");
    m.put(202, "io.vmap.state.ReservationId");
    m.put(203, "io.vmap.state.Decision");
    m.put(204, "io.vmap.state.HeldPart");
    m.put(205, "io.vmap.state.Reservation");
    m.put(206, "io.vmap.state.Answer$Done");
    m.put(207, "io.vmap.state.NodeSnapshot");
    m.put(208, "io.vmap.state.Answer$Failed");
    m.put(209, "io.vmap.state.Principal");
    m.put(210, "io.vmap.state.OwnedSnapshot");
    m.put(211, "io.vmap.state.TenantUsage");
    m.put(212, "io.vmap.state.CompactSnapshot");
    m.put(213, "io.vmap.space.FreeRuns");
    m.put(220, "io.vmap.state.NodeEvent$AreaAllocated");
    m.put(221, "io.vmap.state.NodeEvent$AreaFreed");
    m.put(222, "io.vmap.state.NodeEvent$LazySpliced");
    m.put(223, "io.vmap.state.NodeEvent$PiecesReleased");
    m.put(224, "io.vmap.state.NodeEvent$SpanReserved");
    m.put(225, "io.vmap.state.NodeEvent$SpanCommitted");
    m.put(226, "io.vmap.state.NodeEvent$SpanPartCommitted");
    m.put(227, "io.vmap.state.NodeEvent$SpanCancelled");
    m.put(228, "io.vmap.state.NodeEvent$SpanResolved");
    m.put(229, "io.vmap.state.NodeEvent$Placed");
    m.put(230, "io.vmap.state.NodeEvent$Refused");
    m.put(231, "io.vmap.state.NodeEvent$Batch");
    m.put(232, "io.vmap.state.NodeEvent$AreaAllocatedFor");
    m.put(233, "io.vmap.state.NodeEvent$SpanCommittedFor");
    m.put(250, "io.vmap.protocol.ClientProtocol$Batch");
    m.put(251, "io.vmap.protocol.ClientProtocol$AllocRequest");
    m.put(252, "io.vmap.protocol.ClientProtocol$FreeRequest");
    m.put(253, "io.vmap.protocol.ClientProtocol$FindRequest");
    m.put(254, "io.vmap.protocol.ClientProtocol$Replies");
    m.put(255, "io.vmap.protocol.ClientProtocol$Allocated");
    m.put(256, "io.vmap.protocol.ClientProtocol$Freed");
    m.put(257, "io.vmap.protocol.ClientProtocol$Found");
    m.put(258, "io.vmap.protocol.ClientProtocol$Failed");
    m.put(259, "io.vmap.protocol.ClientProtocol$GetInfo");
    m.put(260, "io.vmap.protocol.ClientProtocol$Inspect");
    m.put(261, "io.vmap.protocol.ClientProtocol$NodeInfo");
    m.put(262, "io.vmap.protocol.ClientProtocol$NodeReport");
    m.put(263, "io.vmap.protocol.ClientProtocol$ReservationAge");
    m.put(264, "io.vmap.protocol.ClientProtocol$GetTenants");
    m.put(265, "io.vmap.protocol.ClientProtocol$TenantsHere");
    m.put(270, "io.vmap.protocol.PeerProtocol$AllocHere");
    m.put(271, "io.vmap.protocol.PeerProtocol$AttemptPlaced");
    m.put(272, "io.vmap.protocol.PeerProtocol$AttemptFailed");
    m.put(273, "io.vmap.protocol.PeerProtocol$FindHere");
    m.put(274, "io.vmap.protocol.PeerProtocol$GetEdgeRuns");
    m.put(275, "io.vmap.protocol.PeerProtocol$EdgeRuns");
    m.put(276, "io.vmap.protocol.PeerProtocol$Reserve");
    m.put(277, "io.vmap.protocol.PeerProtocol$ReserveReply");
    m.put(278, "io.vmap.protocol.PeerProtocol$CommitArea");
    m.put(279, "io.vmap.protocol.PeerProtocol$CommitReply");
    m.put(280, "io.vmap.protocol.PeerProtocol$CommitPart");
    m.put(281, "io.vmap.protocol.PeerProtocol$CancelReservation");
    m.put(282, "io.vmap.protocol.PeerProtocol$ResolveReservation");
    m.put(283, "io.vmap.protocol.PeerProtocol$Resolution");
    m.put(284, "io.vmap.protocol.PeerProtocol$PlacementQuery");
    m.put(285, "io.vmap.protocol.PeerProtocol$PlacementAnswer");
    m.put(286, "io.vmap.protocol.PeerProtocol$CheckAddress");
    m.put(287, "io.vmap.protocol.PeerProtocol$AddressChecked");
    m.put(300, "io.vmap.protocol.PurgeProtocol$LazyFreed");
    m.put(301, "io.vmap.protocol.PurgeProtocol$PurgeSync");
    m.put(302, "io.vmap.protocol.PurgeProtocol$PurgeDone");
    m.put(303, "io.vmap.protocol.PurgeProtocol$AwaitIdle");
    m.put(304, "io.vmap.protocol.PurgeProtocol$Idle");
    m.put(305, "io.vmap.protocol.PurgeProtocol$Flush");
    m.put(306, "io.vmap.protocol.PurgeProtocol$FlushAck");
    m.put(307, "io.vmap.protocol.PurgeProtocol$Subscribe");
    m.put(308, "io.vmap.protocol.PurgeProtocol$Subscribed");
    m.put(309, "io.vmap.protocol.PurgeProtocol$Unsubscribe");
    m.put(310, "io.vmap.protocol.PurgeProtocol$GetStatus");
    m.put(311, "io.vmap.protocol.PurgeProtocol$Holder");
    m.put(312, "io.vmap.protocol.PurgeProtocol$Status");
    m.put(313, "io.vmap.protocol.PurgeProtocol$Spliced");
    m.put(314, "io.vmap.protocol.PurgeProtocol$Released");
    m.put(315, "io.vmap.protocol.PurgeProtocol$Unreleased");
    m.put(316, "io.vmap.protocol.PurgeProtocol$SpliceLazy");
    m.put(317, "io.vmap.protocol.PurgeProtocol$ReleasePieces");
    m.put(318, "io.vmap.protocol.PurgeProtocol$ReportUnreleased");
    m.put(330, "io.vmap.protocol.NodeMessage$Wake");
    m.put(340, "io.vmap.protocol.QuotaProtocol$Admit");
    m.put(341, "io.vmap.protocol.QuotaProtocol$Admitted");
    m.put(342, "io.vmap.protocol.QuotaProtocol$Settle");
    m.put(343, "io.vmap.protocol.QuotaProtocol$UsageQuery");
    m.put(344, "io.vmap.protocol.QuotaProtocol$UsageReport");
    return m;
  }

  @Test
  void storedIdsNeverChange() {
    Map<Integer, String> table = new TreeMap<>();
    for (WireRegistry.Entry e : WireRegistry.standard().entries()) {
      table.put(e.id(), e.type().getName());
    }
    PINNED.forEach((id, name) -> assertEquals(name, table.get(id), "id " + id));
    for (int retired = 108; retired < 200; retired++) {
      assertEquals(null, table.get(retired), "id " + retired + " is retired (format 1) and must not be reused");
    }
    assertTrue(
        table.keySet().stream().allMatch(id -> id < WireRegistry.FIRST_EXTRA_ID),
        "the built-in table stays below " + WireRegistry.FIRST_EXTRA_ID);
  }

  @Test
  void extraRegistrationsComeFromConfigAboveTheReservedRange() {
    WireRegistry registry =
        WireRegistry.fromConfig(
            ConfigFactory.parseString(
                "vmap.wire.extra-registrations = [{ id = 9100, class = \"java.util.BitSet\" }]"),
            getClass().getClassLoader());
    assertTrue(
        registry.entries().stream()
            .anyMatch(e -> e.id() == 9100 && e.type() == java.util.BitSet.class));

    IllegalArgumentException low =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                WireRegistry.fromConfig(
                    ConfigFactory.parseString(
                        "vmap.wire.extra-registrations = [{ id = 500, class = \"java.util.BitSet\" }]"),
                    getClass().getClassLoader()));
    assertTrue(low.getMessage().contains("9000"), low.getMessage());

    IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                WireRegistry.fromConfig(
                    ConfigFactory.parseString(
                        "vmap.wire.extra-registrations = [{ id = 9001, class = \"no.such.Type\" }]"),
                    getClass().getClassLoader()));
    assertTrue(missing.getMessage().contains("no.such.Type"), missing.getMessage());
  }

  @Test
  void anIdOrAClassCannotBeUsedTwice() {
    IllegalStateException sameId =
        assertThrows(
            IllegalStateException.class,
            () -> new WireRegistry.Builder().add(9000, Area.class).add(9000, List.class));
    assertTrue(sameId.getMessage().contains("9000"), sameId.getMessage());

    IllegalStateException extraReusesTableClass =
        assertThrows(
            IllegalStateException.class,
            () ->
                WireRegistry.fromConfig(
                    ConfigFactory.parseString(
                        "vmap.wire.extra-registrations = [{ id = 9000, class = \""
                            + Area.class.getName()
                            + "\" }]"),
                    getClass().getClassLoader()));
    assertTrue(
        extraReusesTableClass.getMessage().contains(Area.class.getName()),
        extraReusesTableClass.getMessage());
  }
}
