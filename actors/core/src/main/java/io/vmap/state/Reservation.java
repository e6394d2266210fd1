package io.vmap.state;

import io.vmap.space.Area;
import java.util.List;

/**
 * A two-phase spanning reservation held by one node: its parts are carved out of the node's shard
 * but belong to no area until the start owner commits.
 *
 * @param startOwner {@code nodeOf(area.start)}: the node whose commit decides
 * @param myParts the parts in this node's zones
 * @param allParts every part of the area, on every owner
 */
public record Reservation(ReservationId id, int startOwner, List<Part> myParts, List<Part> allParts) {

  /** The area reserved. */
  public Area area() {
    return id.area();
  }
}
