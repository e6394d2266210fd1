package io.vmap.bench;

import io.vmap.space.FreeShard;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;

/**
 * {@code --target global-lock}: ONE {@link FreeShard} covering the whole space (the augmented tree
 * of the actor allocator, O(log n) lowest fit), one busy tree and one lazy list behind one lock.
 * Same placements as the actor allocator with {@code nodes = 1}.
 */
final class GlobalLockTarget extends LockedTarget {

  private final FreeShard shard;

  GlobalLockTarget(long vstart, long vend, long page, long thresholdPages) {
    super("global-lock", vstart, vend, page, thresholdPages);
    // One node: the whole space is one block, whatever the zone (any power of two >= page).
    this.shard = FreeShard.of(new Geometry(vstart, vend, page, Math.max(page, Geometry.DEFAULT_ZONE), 1), 0);
  }

  @Override
  public String describe() {
    return "global-lock: one FreeShard (augmented AVL, lowest fit) + one BusyTree + one lazy list behind one "
        + "ReentrantLock; threshold purge runs in the freeing thread under the lock; direct calls, no futures";
  }

  @Override
  protected long carve(long size, long align) {
    long a = shard.allocLowest(size, align, vstart, vend);
    return a == FreeShard.NO_FIT ? NONE : a;
  }

  @Override
  protected void giveBack(long start, long end) {
    shard.release(start, end);
  }

  @Override
  public String toString() {
    return "global-lock " + Unsigned.hex(vstart) + ":" + Unsigned.hex(vend) + " " + shard;
  }
}
