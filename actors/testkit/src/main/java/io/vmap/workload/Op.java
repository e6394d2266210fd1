package io.vmap.workload;

import io.vmap.client.AllocOptions;
import io.vmap.space.Area;

/** One operation a simulated client issues, as {@link Generator#next} chose it. */
public sealed interface Op {

  /**
   * An allocation.
   *
   * @param align 0 for the default (a page)
   * @param vstart with {@code vend}: a window of zones to place it in, or null for the whole space
   * @param home the home node, or null for the client's choice
   * @param tag null for none
   */
  record Alloc(long size, long align, Long vstart, Long vend, Integer home, String tag, boolean failFast) implements Op {

    /** The client's options, with {@code tag} and {@code requestId} (either may be null) set too. */
    public AllocOptions options(String tag, String requestId) {
      AllocOptions o = AllocOptions.size(size);
      if (align != 0) o.align(align);
      if (vstart != null) o.range(vstart, vend);
      if (home != null) o.home(home);
      String t = tag != null ? tag : this.tag;
      if (t != null) o.tag(t);
      if (failFast) o.failFast();
      if (requestId != null) o.requestId(requestId);
      return o;
    }

    public AllocOptions options() {
      return options(null, null);
    }
  }

  /** A free of an area the client holds (taken out of its {@link LiveAreas}). */
  record Free(LiveAreas.Held held) implements Op {
    public Area area() {
      return held.area();
    }
  }

  /** A lookup of {@code addr}: inside {@code inside}, a live area, or a random address when null. */
  record Find(long addr, Area inside) implements Op {}

  /** A synchronous purge. */
  record Purge() implements Op {}
}
