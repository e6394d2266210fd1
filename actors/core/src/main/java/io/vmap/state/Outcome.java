package io.vmap.state;

import io.vmap.space.Area;

/** What became of an allocate ({@code freed == false}) or free request: remembered for retries. */
public record Outcome(Area area, boolean freed) {}
