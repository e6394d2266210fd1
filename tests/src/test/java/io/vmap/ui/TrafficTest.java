package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vmap.http.api.NodesJson;
import io.vmap.http.ui.Traffic;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The sliding window of the per-node traffic figures, on a clock the test moves. */
class TrafficTest {

  static final long SECOND = 1_000_000_000L;

  final AtomicLong now = new AtomicLong(100 * SECOND);
  final Traffic traffic = new Traffic(now::get);

  @Test
  void countsRatesAndPercentilesOverTheLastTenSeconds() {
    for (int i = 1; i <= 100; i++) traffic.record("node:0", i * 1_000_000L, i > 98); // 1..100 ms, two errors
    NodesJson.Traffic t = traffic.stats("node:0");
    assertEquals(100, t.requests());
    assertEquals(2, t.errors());
    assertEquals(10.0, t.perSecond(), 1e-9);
    assertEquals(50.0, t.p50Ms(), 0.5);
    assertEquals(99.0, t.p99Ms(), 1.0);
    assertEquals(100, t.total());

    now.addAndGet(9 * SECOND); // still inside the window
    traffic.record("node:0", 1_000_000L, false);
    assertEquals(101, traffic.stats("node:0").requests());

    now.addAndGet(SECOND); // the first second has left the window
    NodesJson.Traffic later = traffic.stats("node:0");
    assertEquals(1, later.requests());
    assertEquals(0, later.errors());
    assertEquals(101, later.total(), "the total since start stays");

    now.addAndGet(20 * SECOND);
    NodesJson.Traffic idle = traffic.stats("node:0");
    assertEquals(0, idle.requests());
    assertNull(idle.p50Ms(), "no percentile without requests");
  }

  @Test
  void aKeyThatNeverServedIsAllZero() {
    assertEquals(new NodesJson.Traffic(0, 0, 0, null, null, 0), traffic.stats("node:7"));
  }

  @Test
  void aSlotIsReusedForItsNewSecondNotAddedTo() {
    traffic.record("op:alloc", 5_000_000L, false);
    now.addAndGet(10 * SECOND); // the same slot, ten seconds later
    traffic.record("op:alloc", 5_000_000L, false);
    assertEquals(1, traffic.stats("op:alloc").requests());
    assertEquals(2, traffic.stats("op:alloc").total());
  }
}
