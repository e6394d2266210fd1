package io.vmap.state;

import io.vmap.space.Area;

/**
 * One spanning reservation: the request, its home, the area reserved and a serial that tells two
 * searches for one request apart. The start owner's decision record is kept under it, and part
 * owners ask the start owner about it.
 */
public record ReservationId(RequestKey request, int home, Area area, long serial) implements PlacementId {
  public ReservationId {
    if (request == null || area == null) throw new IllegalArgumentException("reservation without a request or an area");
    if (home < 0) throw new IllegalArgumentException("home " + home + " is negative");
  }

  @Override
  public String toString() {
    return request + "#" + home + "#" + area + "#" + Long.toHexString(serial);
  }
}
