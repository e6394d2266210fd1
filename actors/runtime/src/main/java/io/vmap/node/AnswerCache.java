package io.vmap.node;

import io.vmap.space.Area;
import io.vmap.state.AnswerKey;
import io.vmap.state.BoundedMap;
import io.vmap.state.ErrorCode;
import io.vmap.state.NodeState;
import io.vmap.state.Outcome;

/**
 * The first answer a node gave under a key, for retries: successes are part of the node's state
 * (stored with it), failures are remembered here, in memory and bounded. One cache for both
 * allocations (and neighbour attempts) and frees, which may share a key.
 */
final class AnswerCache {

  /** A first answer. */
  sealed interface Answer permits Success, Failure {}

  /** The request got (or freed) this area. */
  record Success(Area area) implements Answer {}

  record Failure(ErrorCode code, String reason) implements Answer {}

  private record Key(AnswerKey key, boolean free) {}

  private final NodeState state;
  private final BoundedMap<Key, Failure> failures;

  AnswerCache(NodeState state, int capacity) {
    this.state = state;
    this.failures = new BoundedMap<>(capacity);
  }

  /** The first answer to allocation request (or attempt) {@code key}, or null. */
  Answer alloc(AnswerKey key) {
    Failure f = failures.get(new Key(key, false));
    if (f != null) return f;
    Outcome o = state.allocOutcome(key);
    return o == null ? null : new Success(o.area());
  }

  /** The first answer to free request {@code key}, or null. */
  Answer free(AnswerKey key) {
    Failure f = failures.get(new Key(key, true));
    if (f != null) return f;
    Outcome o = state.freeOutcome(key);
    return o == null ? null : new Success(o.area());
  }

  Failure allocFailed(AnswerKey key, ErrorCode code, String reason) {
    Failure f = new Failure(code, reason);
    failures.put(new Key(key, false), f);
    return f;
  }

  Failure freeFailed(AnswerKey key, ErrorCode code, String reason) {
    Failure f = new Failure(code, reason);
    failures.put(new Key(key, true), f);
    return f;
  }
}
