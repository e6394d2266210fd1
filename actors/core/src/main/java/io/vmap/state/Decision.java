package io.vmap.state;

/** What a start owner decided about a reservation: the two-phase commit's decision record. */
public enum Decision {
  COMMITTED,
  ABORTED,
  /** Still reserved: neither committed nor given back yet. */
  PENDING
}
