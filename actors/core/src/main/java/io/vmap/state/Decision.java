package io.vmap.state;

/** What a start owner decided about a reservation: the two-phase commit's decision record. */
public enum Decision {
  COMMITTED,
  ABORTED,
  /** Still reserved: neither committed nor given back yet. */
  PENDING,
  /**
   * Committed, and the area has since been freed and released: a part owner that still holds a
   * reservation for it holds a stale copy (a duplicated or late reserve) and gives it back. Only an
   * answer, never stored.
   */
  RELEASED
}
