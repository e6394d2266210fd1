package io.vmap.state;

/** Allocation policy. */
public enum Policy {
  /** Home node, neighbour walk, spanning allocation, then a synchronous purge and one retry. */
  NORMAL,
  /**
   * Home node only, no spanning, no purge wait: {@code EAGAIN} at once (the kvmalloc lesson: a fast
   * path must never do expensive reclaim).
   */
  FAIL_FAST
}
