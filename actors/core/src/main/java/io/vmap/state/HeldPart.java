package io.vmap.state;

import io.vmap.space.Area;

/**
 * A piece {@code [start, end)} of another node's spanning area that lies in this node's zones: its
 * space is carved out of this node's shard until the area's release frees it.
 */
public record HeldPart(long start, long end, Area area, int startOwner, ReservationId reservation) {}
