package io.vmap.client;

import io.vmap.space.Area;

/** A granted area and the node whose busy tree holds it ({@code nodeOf(area.start)}). */
public record Allocation(Area area, int node) {
  public long start() {
    return area.start();
  }
}
