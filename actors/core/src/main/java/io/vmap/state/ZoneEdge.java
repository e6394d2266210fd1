package io.vmap.state;


/**
 * Free-run lengths at the two edges of one zone: {@code lowRun} bytes free from the zone's first
 * address up, {@code highRun} bytes free down from its end. A fully free zone has both equal to its
 * size. Spanning allocations are placed from these alone.
 */
public record ZoneEdge(long zone, long lowRun, long highRun) {}
