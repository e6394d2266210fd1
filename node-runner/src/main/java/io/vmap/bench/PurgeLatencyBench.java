package io.vmap.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.VmapSettings;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Geometry;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;

/**
 * {@code vmap bench --purge-latency} (purge_latency_test): allocation latency while a purge of many
 * lazily freed areas runs. The 2016 purge_lock lesson: a purge that releases everything in one
 * critical section stalls every allocation behind it; the actor design releases in bounded batches
 * (one batch outstanding per node) so nodes keep serving allocations in between.
 *
 * <p>Per configuration: a fresh target with threshold purges off (lazy-max-pages = Long.MAX_VALUE),
 * 2 * {@code areas} one-page areas allocated and every other one freed ({@code areas} lazy areas,
 * none adjacent to another), then {@code threads} threads
 * allocate one page after another (open loop at a fixed rate, see allocLoop; no frees, so the purge
 * releases exactly the {@code areas} freed before it); after a steady period the main
 * thread calls purge() and waits for it. Allocations whose [call, answer] interval overlaps the
 * purge are "during"; those in the steady period before it are "before".
 */
final class PurgeLatencyBench {

  private PurgeLatencyBench() {}

  record Params(int areas, int threads, int ratePerThread, int nodes, int rounds, List<Integer> batches,
      boolean globalLock, EmbeddedTarget.RequestIds ids, long steadyMillis, long afterMillis) {}

  /** @param purgeUsec duration of each round's purge() call */
  record Row(String target, String batch, List<Long> purgeUsec, List<Long> gcMillisDuring, int released,
      Histogram during, Histogram before, List<String> errors) {
    long medianPurgeUsec() {
      return median(purgeUsec);
    }

    long medianGcMillis() {
      return median(gcMillisDuring);
    }
  }

  static long median(List<Long> values) {
    List<Long> l = new ArrayList<>(values);
    java.util.Collections.sort(l);
    return l.isEmpty() ? 0 : l.get(l.size() / 2);
  }

  /**
   * Pause time of the collectors so far: G1's young and mixed collections are pauses; a concurrent
   * collector's "Cycles" bean counts work done beside the application and is left out (ZGC reports
   * its pauses in "ZGC Pauses").
   */
  static long gcMillis() {
    long ms = 0;
    for (java.lang.management.GarbageCollectorMXBean b : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
      if (!b.getName().endsWith("Cycles")) ms += Math.max(0, b.getCollectionTime());
    }
    return ms;
  }

  static List<Row> run(Params p, BenchRunner.Progress progress) {
    List<Row> rows = new ArrayList<>();
    Geometry g = new Geometry(Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VEND, Geometry.DEFAULT_PAGE,
        Geometry.DEFAULT_ZONE, p.nodes());
    // One unreported round first, so that the first row does not pay for the JIT (it did: its
    // "before" p99 was often 10-100 times the other rows' in the same run).
    progress.current("purge_latency_test warm-up");
    try (EmbeddedTarget t = new EmbeddedTarget(VmapSettings.defaults().withGeometry(g, Long.MAX_VALUE), p.ids())) {
      measure(t, "warm-up", new Params(p.areas(), p.threads(), p.ratePerThread(), p.nodes(), 0, p.batches(),
          p.globalLock(), p.ids(), p.steadyMillis(), p.afterMillis()), progress);
    }
    for (int b : p.batches()) {
      VmapSettings s = VmapSettings.defaults().withGeometry(g, Long.MAX_VALUE).withReleaseBatch(b);
      progress.current("purge_latency_test embedded release-batch " + b);
      try (EmbeddedTarget t = new EmbeddedTarget(s, p.ids())) {
        rows.add(measure(t, b == Integer.MAX_VALUE ? "max (one message)" : String.valueOf(b), p, progress));
      }
      if (b == Integer.MAX_VALUE) continue;
      // The same with other caps on the batches in flight over all nodes, in the same run (on a
      // shared machine only figures of one run compare): 1, 2, and one per node (no cap, as before).
      int configured = inFlight(p.nodes());
      for (int k : new java.util.TreeSet<>(List.of(1, 2, p.nodes()))) {
        if (k == configured || k > p.nodes()) continue;
        progress.current("purge_latency_test embedded release-batch " + b + ", " + k + " in flight");
        Config cap = ConfigFactory.parseString(PurgeCoordinator.BATCHES_IN_FLIGHT_PATH + " = " + k);
        try (EmbeddedTarget t = EmbeddedTarget.withConfig(s, p.ids(), cap)) {
          rows.add(measure(t, b + ", " + k + " in flight", p, progress));
        }
      }
    }
    if (p.globalLock()) {
      progress.current("purge_latency_test global-lock");
      try (GlobalLockTarget t = new GlobalLockTarget(g.vstart(), g.vend(), g.page(), Long.MAX_VALUE)) {
        rows.add(measure(t, "all (one lock hold)", p, progress));
      }
    }
    return rows;
  }

  /** The configured cap on release batches in flight, at most one per node (0 in the configuration: no cap). */
  private static int inFlight(int nodes) {
    int k = ConfigFactory.load().getInt(PurgeCoordinator.BATCHES_IN_FLIGHT_PATH);
    return k == 0 ? nodes : Math.min(k, nodes);
  }

  /** Alloc call and answer times, and the areas, of one thread. */
  private static final class Samples {
    long[] t0 = new long[1 << 16];
    long[] t1 = new long[1 << 16];
    long[] addr = new long[1 << 16];
    int n;

    synchronized void add(long a, long b, long area) {
      if (n == t0.length) {
        t0 = Arrays.copyOf(t0, n * 2);
        t1 = Arrays.copyOf(t1, n * 2);
        addr = Arrays.copyOf(addr, n * 2);
      }
      t0[n] = a;
      t1[n] = b;
      addr[n] = area;
      n++;
    }
  }

  /** {@code rounds} rounds on one target; latencies of all rounds in one pair of histograms. */
  private static Row measure(BenchTarget t, String batch, Params p, BenchRunner.Progress progress) {
    long page = t.page();
    Histogram during = new Histogram(3);
    Histogram before = new Histogram(3);
    Set<String> errors = java.util.Collections.synchronizedSet(new LinkedHashSet<>());
    List<Long> purgeUsec = new ArrayList<>();
    List<Long> gcDuring = new ArrayList<>();
    int released = 0;
    // Round -1 warms the purge path up (JIT) and is not reported.
    for (int round = -1; round < p.rounds(); round++) {
      boolean report = round >= 0;
      // 1. 2 * `areas` one-page areas; every other one is freed, so `areas` lazy areas (no threshold
      //    purge) each of which the purge gives back as a separate free block (no merging with a
      //    neighbour: the release work is an insertion into the free tree, as with scattered frees).
      int n = 2 * p.areas();
      long[] ptr = new long[n];
      pipeline(n, 64, i -> t.allocAsync(page, page, -1).thenApply(a -> {
        if (a == BenchTarget.NONE) throw new IllegalStateException("fill allocation failed");
        ptr[i] = a;
        return a;
      }));
      java.util.Arrays.sort(ptr); // unsigned order equals signed order within the space
      pipeline(p.areas(), 64, i -> t.freeAsync(ptr[2 * i]).thenApply(code -> {
        if (code != null) throw new IllegalStateException("fill free failed: " + code);
        return code;
      }));
      t.quiesce().toCompletableFuture().join();

      // 2. Allocating threads; after a steady period, the purge.
      Samples[] samples = new Samples[p.threads()];
      StopFlag stop = new StopFlag();
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < p.threads(); w++) {
        Samples sm = samples[w] = new Samples();
        Thread th = new Thread(() -> allocLoop(t, page, 1_000_000_000L / p.ratePerThread(), sm, stop, errors, progress), "purge-alloc-" + w);
        threads.add(th);
        th.start();
      }
      sleep(p.steadyMillis());
      long gc0 = gcMillis();
      long ps = System.nanoTime();
      int purged = t.purgeAsync().toCompletableFuture().join();
      long pe = System.nanoTime();
      if (report) {
        released += purged;
        purgeUsec.add((pe - ps) / 1000);
        gcDuring.add(gcMillis() - gc0);
      }
      sleep(p.afterMillis());
      stop.stop = true;
      for (Thread th : threads) {
        try {
          th.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      long steadyFrom = ps - p.steadyMillis() * 1_000_000L / 2; // the first half is warm-up
      List<Long> allocated = new ArrayList<>();
      for (int i = 1; i < n; i += 2) allocated.add(ptr[i]);
      for (Samples sm : samples) {
        synchronized (sm) {
          for (int i = 0; i < sm.n; i++) {
            long a = sm.t0[i];
            long b = sm.t1[i];
            if (report && b >= ps && a <= pe) during.recordValue(b - a);
            else if (report && b < ps && a >= steadyFrom) before.recordValue(b - a);
            if (sm.addr[i] != BenchTarget.NONE) allocated.add(sm.addr[i]);
          }
        }
      }
      // 3. Clean up, unmeasured: free what the threads allocated and purge it.
      pipeline(allocated.size(), 64, i -> t.freeAsync(allocated.get(i)));
      t.purgeAsync().toCompletableFuture().join();
      t.quiesce().toCompletableFuture().join();
    }
    return new Row(t.name(), batch, List.copyOf(purgeUsec), List.copyOf(gcDuring), released, during, before,
        List.copyOf(errors));
  }

  private static final class StopFlag {
    volatile boolean stop;
  }

  /** Most requests one async allocating thread may have outstanding (a stalled target fails the run). */
  private static final int MAX_OUTSTANDING = 100_000;

  /**
   * Open loop: allocation i of this thread is due at start + i * interval and is sent then, or at
   * once if the thread is late. When a blocking call made the thread late, the next allocation's
   * latency is measured from when it was due, not from when it was sent: a stalled allocator
   * shows in every allocation that came due during the stall, not only in the one request a
   * closed loop had outstanding (coordinated omission). Asynchronous targets are never waited for.
   */
  private static void allocLoop(BenchTarget t, long page, long intervalNanos, Samples sm, StopFlag stop,
      Set<String> errors, BenchRunner.Progress progress) {
    // Allocations only: a free would add to the lazy list, and the purge must release exactly the
    // areas freed before it.
    long next = System.nanoTime();
    boolean lateByTarget = false;
    Semaphore outstanding = new Semaphore(MAX_OUTSTANDING);
    BenchTarget.Sync s = t instanceof BenchTarget.Sync sync ? sync : null;
    while (!stop.stop) {
      long now = System.nanoTime();
      if (now < next) {
        LockSupport.parkNanos(next - now);
        continue;
      }
      // Charged from when it was due only if the target made us late (the previous call returned
      // after this one was due); a late wake-up from park is the client's timer, not the target.
      long start = lateByTarget ? next : now;
      next += intervalNanos;
      if (s != null) {
        long a = s.alloc(page, page, -1);
        long end = System.nanoTime();
        sm.add(start, end, a);
        lateByTarget = end >= next;
        progress.ops().increment();
        if (a == BenchTarget.NONE) {
          errors.add("allocation failed");
          return;
        }
        continue;
      }
      if (!outstanding.tryAcquire()) {
        errors.add("more than " + MAX_OUTSTANDING + " allocations outstanding: the target stalled");
        return;
      }
      // Asynchronous sends never wait for the target, so they are sent when due (or a timer
      // slack later); each request's latency, queueing included, is from its send.
      t.allocAsync(page, page, -1).whenComplete((a, ex) -> {
        sm.add(start, System.nanoTime(), ex == null ? a : BenchTarget.NONE);
        progress.ops().increment();
        if (ex != null) errors.add(String.valueOf(ex instanceof CompletionException c ? c.getCause() : ex));
        else if (a == BenchTarget.NONE) errors.add("allocation failed");
        outstanding.release();
      });
    }
    outstanding.acquireUninterruptibly(MAX_OUTSTANDING);
  }

  /** Runs n independent requests, {@code window} at a time; rethrows the first failure. */
  private static void pipeline(int n, int window, IntFunction<CompletionStage<?>> op) {
    Semaphore slots = new Semaphore(window);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int i = 0; i < n && failure.get() == null; i++) {
      slots.acquireUninterruptibly();
      op.apply(i).whenComplete((v, ex) -> {
        if (ex != null) failure.compareAndSet(null, ex);
        slots.release();
      });
    }
    slots.acquireUninterruptibly(window);
    if (failure.get() != null) throw new IllegalStateException("purge_latency_test setup: " + failure.get(), failure.get());
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------- output

  static void print(PrintWriter out, Params p, List<Row> rows) {
    out.printf("# vmap bench --purge-latency: %d lazily freed one-page areas (every other of twice as many) purged while %d threads allocate "
        + "(one page each, no frees, open loop at %d/s each, latency from when due); nodes=%d; %d rounds per row "
        + "after one warm-up round; release batches in flight over all nodes: %d (%s) unless the row says%n",
        p.areas(), p.threads(), p.ratePerThread(), p.nodes(), p.rounds(),
        inFlight(p.nodes()), PurgeCoordinator.BATCHES_IN_FLIGHT_PATH);
    out.println(Report.machineLine());
    out.printf("%-12s %-18s %15s %7s %9s | %-44s | %-30s%n", "target", "release-batch", "purge ms* (max)", "GC ms*", "released",
        "allocs DURING purge: n / p50 / p99 / max usec", "before: p50 / p99 / max usec");
    for (Row r : rows) {
      out.printf("%-12s %-18s %15s %7d %9d | %8d / %8s / %8s / %9s    | %8s / %8s / %9s%n", r.target(), r.batch(),
          String.format(Locale.ROOT, "%.1f (%.1f)", r.medianPurgeUsec() / 1000.0,
              r.purgeUsec().stream().mapToLong(Long::longValue).max().orElse(0) / 1000.0),
          r.medianGcMillis(), r.released(),
          r.during().getTotalCount(),
          Report.us(TestResult.usec(r.during(), 50)), Report.us(TestResult.usec(r.during(), 99)),
          Report.us(max(r.during())), Report.us(TestResult.usec(r.before(), 50)),
          Report.us(TestResult.usec(r.before(), 99)), Report.us(max(r.before())));
      out.printf("    rounds: purge ms %s; GC ms %s%n", join(r.purgeUsec(), 1000.0), join(r.gcMillisDuring(), 1.0));
      for (String e : r.errors()) out.println("  error: " + e);
    }
    out.println("# * median (and max) over the rounds; GC ms: collector pause time while purge() ran; released: areas, all rounds;");
    out.println("#   latency percentiles pool the allocations of all rounds");
  }

  private static String join(List<Long> values, double divisor) {
    StringBuilder sb = new StringBuilder();
    for (long v : values) {
      if (sb.length() > 0) sb.append(' ');
      sb.append(String.format(Locale.ROOT, divisor == 1.0 ? "%.0f" : "%.1f", v / divisor));
    }
    return sb.toString();
  }

  private static double max(Histogram h) {
    return h.getTotalCount() == 0 ? 0 : h.getMaxValue() / 1000.0;
  }

  static BenchJson.PurgeLatency json(Params p, List<Row> rows) {
    return new BenchJson.PurgeLatency(Report.machine(),
        new BenchJson.PurgeConfig(p.areas(), p.threads(), p.ratePerThread(), p.nodes(), p.rounds()),
        rows.stream().map(r -> new BenchJson.PurgeRow(r.target(), r.batch(), r.purgeUsec(), r.medianPurgeUsec(),
            r.gcMillisDuring(), r.released(), Report.latency(r.during()), Report.latency(r.before()), r.errors()))
            .toList());
  }
}
