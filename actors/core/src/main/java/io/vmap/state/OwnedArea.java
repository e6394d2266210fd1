package io.vmap.state;

import io.vmap.space.Area;

/** An area and the tenant it belongs to. */
public record OwnedArea(Area area, String tenant) {

  /** The answer "ask the node": a read index cannot tell with certainty. */
  public static final OwnedArea UNSURE = new OwnedArea(ReadIndex.UNSURE, Principal.DEFAULT_TENANT);
}
