package io.vmap.state;


/**
 * One flushed piece {@code [start, end)} of the area starting at {@code areaStart}, to be merged
 * back into the free shard of the node owning it. The area counts as released when its start piece
 * ({@code start == areaStart}) is.
 */
public record ReleasePiece(long areaStart, long start, long end) {}
