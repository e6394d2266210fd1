package io.vmap.http;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * What {@code /health/alive} and {@code /health/ready} report. Liveness is "the process answers"
 * (true unless overridden); readiness is supplied by the caller: in a cluster member it means
 * "recovered and joined", for an embedded allocator it is true once {@code Vmap.start} returned.
 *
 * <p>While not ready, {@code /health/ready} answers 503 and every {@code /v1/*} request is refused
 * with {@code 503 EAGAIN} instead of being queued behind a member that cannot serve it yet.
 *
 * <p>Implementations are called on HTTP threads for every request: keep them cheap and
 * thread-safe (a volatile read). {@link Readiness} is a settable implementation.
 */
@FunctionalInterface
public interface HealthProbe {

  /** Whether this process should receive allocator traffic now. */
  boolean ready();

  /** Whether the process is healthy enough not to be restarted. */
  default boolean alive() {
    return true;
  }

  /** A short human-readable reason, shown in the readiness answer (e.g. "joining cluster"). */
  default String detail() {
    return ready() ? "ready" : "not ready";
  }

  /** Always ready: the embedded allocator, once started. */
  static HealthProbe always() {
    return () -> true;
  }

  /** Ready when {@code ready} says so. */
  static HealthProbe of(BooleanSupplier ready) {
    Objects.requireNonNull(ready, "ready");
    return ready::getAsBoolean;
  }
}
