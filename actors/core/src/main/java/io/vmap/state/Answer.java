package io.vmap.state;

import io.vmap.space.Area;

/**
 * The first answer a node gave to an allocation or a free (a client request or a neighbour
 * attempt), kept for retries: the area it granted or freed, or why it failed. Part of the node's
 * state: an answer is recorded by the event that gave it, so a durable node still knows it after a
 * restart.
 */
public sealed interface Answer {

  /** The request got (or freed) this area. */
  record Done(Area area) implements Answer {}

  /** The request failed and changed nothing. */
  record Failed(ErrorCode code, String reason) implements Answer {}
}
