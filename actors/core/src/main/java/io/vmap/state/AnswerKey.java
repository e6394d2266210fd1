package io.vmap.state;

/**
 * Under which key a node remembers an answer, so a retry gets the first one: a client's {@link
 * RequestKey}, or a {@link PlacementId} (an area placed here for a request homed elsewhere).
 */
public sealed interface AnswerKey permits RequestKey, PlacementId {}
