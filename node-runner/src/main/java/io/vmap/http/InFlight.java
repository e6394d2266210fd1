package io.vmap.http;

import io.vmap.client.VmapException;
import io.vmap.protocol.Limits;
import io.vmap.state.ErrorCode;
import java.util.concurrent.atomic.AtomicLong;

/** The operations the HTTP API of this member is serving now, against {@link HttpLimits#inFlightOps}. */
final class InFlight {

  private final AtomicLong now = new AtomicLong();
  private final long limit;

  InFlight(long limit) {
    this.limit = limit;
  }

  /**
   * Counts {@code n} more operations, or refuses them all.
   *
   * @throws VmapException EAGAIN (503) naming the limit, when they would exceed it
   */
  void acquire(int n) {
    while (true) {
      long cur = now.get();
      if (cur + n > limit) {
        throw new VmapException(ErrorCode.EAGAIN,
            Limits.over("operations in flight", cur + n, "with this request", "http.in-flight-ops", limit)
                + "; retry later or on another member");
      }
      if (now.compareAndSet(cur, cur + n)) return;
    }
  }

  void release(int n) {
    now.addAndGet(-n);
  }

  long current() {
    return now.get();
  }
}
