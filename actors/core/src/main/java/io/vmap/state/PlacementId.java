package io.vmap.state;

/**
 * Names an area that one node placed for a request homed on another: a neighbour's {@link
 * AttemptId} or a spanning {@link ReservationId}. Both carry the request and its home, so the
 * placing node can ask the home, even after either restarted, whether the area was kept.
 */
public sealed interface PlacementId extends AnswerKey permits AttemptId, ReservationId {

  /** The request the area was placed for. */
  RequestKey request();

  /** The node the request is homed on, which answers it and remembers its answer. */
  int home();
}
