package io.vmap.chaos;

import io.vmap.state.HeldPart;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.Principal;
import io.vmap.state.ReservationId;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import java.util.List;
import java.util.Map;

/**
 * One vmap node's books as {@link Checker#fsck(io.vmap.space.Geometry, List, java.time.Duration)}
 * checks them: plain data (no actor types), collected from a live allocator by {@link Inspector}
 * or built by hand in tests.
 *
 * @param freeStarts starts of the free shard's plain blocks, ascending; {@code freeEnds} their ends
 * @param busy the node's busy areas (they start in its zones)
 * @param spanning busy areas of the node that span zones, with every part (on any node)
 * @param unpurged lazily freed areas of the node not released yet, with their parts
 * @param held pieces of other nodes' spanning areas lying in the node's zones
 * @param reservations spanning reservations the node holds
 * @param freeRuns the free shard's runs (untouched zones), one entry each: with {@code freeStarts},
 *     every free block
 * @param owners the tenant of each busy or unpurged area that is not the default tenant's, by area
 *     start (see {@link #tenantOf})
 */
public record NodeBooks(
    int node,
    long[] freeStarts,
    long[] freeEnds,
    List<Area> busy,
    List<LazyArea> spanning,
    List<LazyArea> unpurged,
    List<HeldPart> held,
    List<Reserved> reservations,
    FreeRuns freeRuns,
    Map<Long, String> owners) {

  public NodeBooks {
    if (freeRuns == null) freeRuns = FreeRuns.NONE;
    if (owners == null) owners = Map.of();
  }

  /** Books where every area is the default tenant's. */
  public NodeBooks(int node, long[] freeStarts, long[] freeEnds, List<Area> busy, List<LazyArea> spanning,
      List<LazyArea> unpurged, List<HeldPart> held, List<Reserved> reservations, FreeRuns freeRuns) {
    this(node, freeStarts, freeEnds, busy, spanning, unpurged, held, reservations, freeRuns, Map.of());
  }

  /** Books whose free blocks are all listed one by one (no runs). */
  public NodeBooks(int node, long[] freeStarts, long[] freeEnds, List<Area> busy, List<LazyArea> spanning,
      List<LazyArea> unpurged, List<HeldPart> held, List<Reserved> reservations) {
    this(node, freeStarts, freeEnds, busy, spanning, unpurged, held, reservations, FreeRuns.NONE, Map.of());
  }

  /** The tenant of the busy or unpurged area starting at {@code start} (as {@code info} names it). */
  public String tenantOf(long start) {
    return owners.getOrDefault(start, Principal.DEFAULT_TENANT);
  }

  /** Free blocks, each member of a run counted. */
  public long freeBlockCount() {
    return freeStarts.length + freeRuns.blocks();
  }

  /** A reservation: its parts on this node are carved out of the shard until commit or cancel. */
  public record Reserved(ReservationId id, Area area, int startOwner, List<Part> parts, long ageMillis, long leaseMillis) {}
}
