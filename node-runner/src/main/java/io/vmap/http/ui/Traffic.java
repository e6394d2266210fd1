package io.vmap.http.ui;

import io.vmap.http.api.NodesJson;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;

/**
 * Requests this member served, per vmap node and per operation, over a sliding window of
 * {@link #WINDOW_SECONDS} one-second slots: counts, errors and HdrHistogram latencies, so the page
 * and {@code vmap top} show a current rate and p50/p99 rather than averages since start. Keys get
 * their slots on first use (a member with 4096 nodes pays only for the nodes it serves).
 * Thread-safe; the clock is injectable for tests.
 */
public final class Traffic {

  public static final int WINDOW_SECONDS = 10;
  /** Latencies are recorded in microseconds up to this (longer ones count as this). */
  static final long MAX_MICROS = 60_000_000L;

  private final LongSupplier nanoClock;
  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

  public Traffic() {
    this(System::nanoTime);
  }

  public Traffic(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  /** One answered request for {@code key} ("node:3", "op:alloc", ...): its latency and whether it failed. */
  public void record(String key, long nanos, boolean error) {
    windows.computeIfAbsent(key, k -> new Window()).record(second(), Math.max(1, nanos / 1000), error);
  }

  /** The window of {@code key}; all zero when it never served a request. */
  public NodesJson.Traffic stats(String key) {
    Window w = windows.get(key);
    if (w == null) return new NodesJson.Traffic(0, 0, 0, null, null, 0);
    return w.stats(second());
  }

  private long second() {
    return Math.floorDiv(nanoClock.getAsLong(), 1_000_000_000L);
  }

  private static final class Window {
    private final long[] second = new long[WINDOW_SECONDS];
    private final long[] errors = new long[WINDOW_SECONDS];
    private final Histogram[] micros = new Histogram[WINDOW_SECONDS];
    private final LongAdder total = new LongAdder();

    Window() {
      java.util.Arrays.fill(second, Long.MIN_VALUE);
    }

    synchronized void record(long now, long us, boolean error) {
      int i = (int) Math.floorMod(now, (long) WINDOW_SECONDS);
      if (second[i] != now) {
        second[i] = now;
        errors[i] = 0;
        if (micros[i] == null) micros[i] = new Histogram(MAX_MICROS, 2);
        else micros[i].reset();
      }
      micros[i].recordValue(Math.min(us, MAX_MICROS));
      if (error) errors[i]++;
      total.increment();
    }

    synchronized NodesJson.Traffic stats(long now) {
      Histogram h = new Histogram(MAX_MICROS, 2);
      long errs = 0;
      for (int i = 0; i < WINDOW_SECONDS; i++) {
        // Slots of the last WINDOW_SECONDS seconds, the current (partial) one included.
        if (micros[i] != null && second[i] > now - WINDOW_SECONDS && second[i] <= now) {
          h.add(micros[i]);
          errs += errors[i];
        }
      }
      long n = h.getTotalCount();
      Double p50 = n == 0 ? null : h.getValueAtPercentile(50) / 1000.0;
      Double p99 = n == 0 ? null : h.getValueAtPercentile(99) / 1000.0;
      return new NodesJson.Traffic(n, errs, n / (double) WINDOW_SECONDS, p50, p99, total.sum());
    }
  }
}
