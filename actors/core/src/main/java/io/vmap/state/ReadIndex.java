package io.vmap.state;

import io.vmap.space.Area;

/**
 * A node's busy areas, readable from any thread in the node's JVM without its mailbox (DESIGN.md
 * "Reads without the mailbox"): a lookup returns an area that was live at some instant during the
 * call, reflects every allocation and free answered before it started, and says {@link #UNSURE}
 * when only the node can tell (a piece of another node's spanning area may cover the address).
 */
public interface ReadIndex {

  /** The answer "ask the node": the index cannot tell with certainty. */
  Area UNSURE = new Area(0, 1, "(unsure)");

  /** The busy area containing {@code addr}, null if none, or {@link #UNSURE}. */
  Area find(long addr);

  /**
   * As {@link #find}, with the tenant the area belongs to: null if none, or {@link
   * OwnedArea#UNSURE}. An index that knows no owners answers the default tenant.
   */
  default OwnedArea findOwned(long addr) {
    Area a = find(addr);
    if (a == null) return null;
    return a == UNSURE ? OwnedArea.UNSURE : new OwnedArea(a, Principal.DEFAULT_TENANT);
  }
}
