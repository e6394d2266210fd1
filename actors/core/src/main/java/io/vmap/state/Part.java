package io.vmap.state;


/** The piece {@code [start, end)} of an area that lies in zones owned by {@code node}. */
public record Part(int node, long start, long end) {}
