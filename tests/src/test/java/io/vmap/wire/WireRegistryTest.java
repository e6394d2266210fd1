package io.vmap.wire;

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
    m.put(101, "io.vmap.protocol.ErrorCode");
    m.put(102, "io.vmap.protocol.Policy");
    m.put(103, "io.vmap.protocol.Part");
    m.put(104, "io.vmap.protocol.LazyArea");
    m.put(105, "io.vmap.protocol.AllocSpec");
    m.put(106, "io.vmap.protocol.ZoneEdge");
    m.put(107, "io.vmap.protocol.ReleasePiece");
    m.put(110, "io.vmap.node.VmapNode$Alloc");
    m.put(111, "io.vmap.node.VmapNode$Free");
    m.put(112, "io.vmap.node.VmapNode$Find");
    m.put(113, "io.vmap.node.VmapNode$GetInfo");
    m.put(114, "io.vmap.node.VmapNode$Allocated");
    m.put(115, "io.vmap.node.VmapNode$AllocFailed");
    m.put(116, "io.vmap.node.VmapNode$Freed");
    m.put(117, "io.vmap.node.VmapNode$FreeFailed");
    m.put(118, "io.vmap.node.VmapNode$FindReply");
    m.put(119, "io.vmap.node.VmapNode$NodeInfo");
    m.put(120, "io.vmap.node.VmapNode$AllocHere");
    m.put(121, "io.vmap.node.VmapNode$FindHere");
    m.put(122, "io.vmap.node.VmapNode$GetEdgeRuns");
    m.put(123, "io.vmap.node.VmapNode$EdgeRuns");
    m.put(124, "io.vmap.node.VmapNode$Reserve");
    m.put(125, "io.vmap.node.VmapNode$ReserveReply");
    m.put(126, "io.vmap.node.VmapNode$CommitArea");
    m.put(127, "io.vmap.node.VmapNode$CommitReply");
    m.put(128, "io.vmap.node.VmapNode$CommitPart");
    m.put(129, "io.vmap.node.VmapNode$CancelReservation");
    m.put(130, "io.vmap.node.VmapNode$ResolveReservation");
    m.put(131, "io.vmap.node.VmapNode$Resolution");
    m.put(132, "io.vmap.node.VmapNode$SpliceLazy");
    m.put(133, "io.vmap.node.VmapNode$ReleasePieces");
    m.put(134, "io.vmap.node.VmapNode$ReportUnreleased");
    m.put(135, "io.vmap.node.VmapNode$Wake");
    m.put(140, "io.vmap.node.NodeState$Decision");
    m.put(141, "io.vmap.node.NodeState$HeldPart");
    m.put(142, "io.vmap.node.NodeState$Reservation");
    m.put(143, "io.vmap.node.NodeState$Outcome");
    m.put(144, "io.vmap.node.NodeState$Snapshot");
    m.put(150, "io.vmap.node.NodeEvent$AreaAllocated");
    m.put(151, "io.vmap.node.NodeEvent$AreaFreed");
    m.put(152, "io.vmap.node.NodeEvent$LazySpliced");
    m.put(153, "io.vmap.node.NodeEvent$PiecesReleased");
    m.put(154, "io.vmap.node.NodeEvent$SpanReserved");
    m.put(155, "io.vmap.node.NodeEvent$SpanCommitted");
    m.put(156, "io.vmap.node.NodeEvent$SpanPartCommitted");
    m.put(157, "io.vmap.node.NodeEvent$SpanCancelled");
    m.put(158, "io.vmap.node.NodeEvent$SpanResolved");
    m.put(159, "io.vmap.node.NodeEvent$Placed");
    m.put(160, "io.vmap.node.NodeJournal$Persist");
    m.put(161, "io.vmap.node.NodeJournal$Persisted");
    m.put(170, "io.vmap.purge.PurgeCoordinator$LazyFreed");
    m.put(171, "io.vmap.purge.PurgeCoordinator$PurgeSync");
    m.put(172, "io.vmap.purge.PurgeCoordinator$PurgeDone");
    m.put(173, "io.vmap.purge.PurgeCoordinator$AwaitIdle");
    m.put(174, "io.vmap.purge.PurgeCoordinator$Idle");
    m.put(175, "io.vmap.purge.PurgeCoordinator$Flush");
    m.put(176, "io.vmap.purge.PurgeCoordinator$FlushAck");
    m.put(177, "io.vmap.purge.PurgeCoordinator$Subscribe");
    m.put(178, "io.vmap.purge.PurgeCoordinator$Subscribed");
    m.put(179, "io.vmap.purge.PurgeCoordinator$Unsubscribe");
    m.put(180, "io.vmap.purge.PurgeCoordinator$GetStatus");
    m.put(181, "io.vmap.purge.PurgeCoordinator$Holder");
    m.put(182, "io.vmap.purge.PurgeCoordinator$Status");
    m.put(183, "io.vmap.purge.PurgeCoordinator$Spliced");
    m.put(184, "io.vmap.purge.PurgeCoordinator$Released");
    m.put(185, "io.vmap.purge.PurgeCoordinator$Unreleased");
    m.put(186, "io.vmap.node.VmapNode$Inspect");
    m.put(187, "io.vmap.node.VmapNode$NodeReport");
    m.put(188, "io.vmap.node.VmapNode$ReservationAge");
    m.put(189, "io.vmap.node.VmapNode$PlacementQuery");
    m.put(190, "io.vmap.node.VmapNode$PlacementAnswer");
    return m;
  }

  @Test
  void storedIdsNeverChange() {
    Map<Integer, String> table = new TreeMap<>();
    for (WireRegistry.Entry e : WireRegistry.standard().entries()) {
      table.put(e.id(), e.type().getName());
    }
    PINNED.forEach((id, name) -> assertEquals(name, table.get(id), "id " + id));
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
