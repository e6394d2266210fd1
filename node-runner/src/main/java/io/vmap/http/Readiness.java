package io.vmap.http;

/**
 * A {@link HealthProbe} flipped by its owner: starts not ready with a reason, {@link #markReady()}
 * once the member has recovered and joined, {@link #markNotReady(String)} when it leaves or shuts
 * down. Thread-safe.
 */
public final class Readiness implements HealthProbe {

  private record State(boolean ready, String detail) {}

  private volatile State state;

  private Readiness(boolean ready, String detail) {
    this.state = new State(ready, detail);
  }

  /** Not ready yet, for {@code reason} (e.g. "starting"). */
  public static Readiness notReady(String reason) {
    return new Readiness(false, reason);
  }

  /** Already ready (an embedded allocator that may later be marked not ready). */
  public static Readiness initiallyReady() {
    return new Readiness(true, "ready");
  }

  public Readiness markReady() {
    state = new State(true, "ready");
    return this;
  }

  public Readiness markNotReady(String reason) {
    state = new State(false, reason == null || reason.isBlank() ? "not ready" : reason);
    return this;
  }

  @Override
  public boolean ready() {
    return state.ready();
  }

  @Override
  public String detail() {
    return state.detail();
  }
}
