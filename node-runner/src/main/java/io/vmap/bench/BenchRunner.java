package io.vmap.bench;

import io.vmap.bench.Ops.AsyncOps;
import io.vmap.bench.Ops.SyncOps;
import io.vmap.bench.VmallocTests.Case;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Phaser;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * Runs the selected cases on one target the way test_vmalloc.c's do_concurrent_test() does:
 * nr_threads workers start together, each runs every selected case (in a shuffled order unless
 * sequential_test_order) test_repeat_count times, and its time per case is averaged over repeats.
 *
 * <p>{@link BenchConfig#lockstep()} (what {@code --compare} runs) makes a case's figure the
 * throughput of all workers in that case: every worker runs the same order and waits for the others
 * before each case, and the figure is every worker's requests over the wall time from the case's
 * common start to the last worker's end. In the kernel's way each worker goes through its own
 * shuffled order on its own, so while one runs a case the other runs another (or has finished);
 * the figure is then the sum of each worker's own rate in the case, which is all it can be, and
 * it is not comparable between targets: two workers on one lock that happen to run a case at
 * different times each count at one worker's speed alone.
 */
public final class BenchRunner {

  private BenchRunner() {}

  /** What each worker keeps per case. */
  private static final class WorkerCase {
    int passed;
    int failed;
    long timeNs;
    long startNs;
    long endNs;
    Ops ops;
  }

  /** Runs {@code cfg}'s cases on {@code target}; results in kernel order. */
  public static List<TestResult> run(BenchTarget target, BenchConfig cfg, Progress progress) {
    BenchConfig c = cfg.normalized();
    int workers = c.nrThreads();
    List<Case> selected = new ArrayList<>();
    for (Case k : VmallocTests.ALL) {
      if (k.implemented() && (c.runTestMask() & (1L << k.id)) != 0) selected.add(k);
    }
    WorkerCase[][] data = new WorkerCase[workers][VmallocTests.ALL.size()];
    CountDownLatch ready = new CountDownLatch(workers);
    CountDownLatch go = new CountDownLatch(1);
    // Lockstep: one order for all, and a phase per case. A worker that ends (or dies) deregisters,
    // so the others never wait for it.
    int[] sharedOrder = order(c.sequentialTestOrder(), new SplittableRandom(c.seed()));
    Phaser cases = new Phaser(workers);
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      int worker = w;
      Thread t = new Thread(() -> {
        try {
          SplittableRandom rnd = new SplittableRandom(c.seed() * 0x9E3779B97F4A7C15L + worker);
          if (c.warmupLoops() > 0) {
            for (Case k : selected) {
              progress.current(target.name() + " warmup " + k.name);
              runOnce(k, target, c, c.workload(c.warmupLoops()), rnd, progress, 1);
            }
          }
          int[] order = c.lockstep() ? sharedOrder : order(c.sequentialTestOrder(), rnd);
          ready.countDown();
          awaitQuietly(go);
          for (int idx : order) {
            Case k = VmallocTests.ALL.get(idx);
            if (!selected.contains(k)) continue;
            if (c.lockstep()) cases.arriveAndAwaitAdvance();
            progress.current(target.name() + " " + k.name);
            data[worker][idx] = runOnce(k, target, c, c.workload(c.testLoopCount()), rnd, progress, c.testRepeatCount());
          }
        } finally {
          cases.arriveAndDeregister();
        }
      }, "vmalloc_test/" + w);
      threads.add(t);
      t.start();
    }
    awaitQuietly(ready);
    go.countDown();
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    List<TestResult> out = new ArrayList<>();
    for (Case k : selected) out.add(aggregate(target.name(), k, c, data));
    return out;
  }

  /** test_func()'s order: 0..n-1, shuffled with the kernel's shuffle_array unless sequential. */
  static int[] order(boolean sequential, SplittableRandom rnd) {
    int n = VmallocTests.ALL.size();
    int[] a = new int[n];
    for (int i = 0; i < n; i++) a[i] = i;
    if (!sequential) {
      for (int i = n - 1; i > 0; i--) {
        int j = rnd.nextInt(i); // get_random_u32_below(i), as in the kernel
        int tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
      }
    }
    return a;
  }

  private static WorkerCase runOnce(Case k, BenchTarget target, BenchConfig c, Ops.Workload w,
      SplittableRandom rnd, Progress progress, int repeat) {
    WorkerCase wc = new WorkerCase();
    SyncOps so = null;
    AsyncOps ao = null;
    if (target instanceof BenchTarget.Sync s) {
      so = new SyncOps(s, w, rnd, progress.ops());
      wc.ops = so;
    } else {
      ao = new AsyncOps(target, w, rnd, c.window(), progress.ops());
      wc.ops = ao;
    }
    long t0 = System.nanoTime();
    wc.startNs = t0;
    for (int r = 0; r < repeat; r++) {
      boolean ok;
      try {
        ok = so != null ? k.runSync(so) : k.runAsync(ao);
      } catch (RuntimeException e) {
        wc.ops.noteError(e);
        ok = false;
      }
      if (ok) wc.passed++;
      else wc.failed++;
    }
    wc.endNs = System.nanoTime();
    wc.timeNs = wc.endNs - t0;
    return wc;
  }

  private static TestResult aggregate(String target, Case k, BenchConfig c, WorkerCase[][] data) {
    int passed = 0;
    int failed = 0;
    double avgUs = 0;
    double rateSum = 0;
    long requests = 0;
    long first = 0;
    long last = 0;
    Histogram alloc = new Histogram(3);
    Histogram free = new Histogram(3);
    Histogram find = new Histogram(3);
    Set<String> errors = new LinkedHashSet<>();
    int n = 0;
    for (WorkerCase[] perWorker : data) {
      WorkerCase wc = perWorker[k.id];
      if (wc == null) continue;
      n++;
      passed += wc.passed;
      failed += wc.failed;
      avgUs += wc.timeNs / 1000.0 / c.testRepeatCount();
      long ops = wc.ops.allocH.getTotalCount() + wc.ops.freeH.getTotalCount() + wc.ops.findH.getTotalCount();
      requests += ops;
      rateSum += wc.timeNs > 0 ? ops * 1e9 / wc.timeNs : 0;
      if (n == 1 || wc.startNs - first < 0) first = wc.startNs;
      if (n == 1 || wc.endNs - last > 0) last = wc.endNs;
      alloc.add(wc.ops.allocH);
      free.add(wc.ops.freeH);
      find.add(wc.ops.findH);
      if (wc.ops.error.get() != null) errors.add(wc.ops.error.get());
    }
    double rate = !c.lockstep() ? rateSum : last - first > 0 ? requests * 1e9 / (last - first) : 0;
    Histogram all = TestResult.all(alloc, free, find);
    return new TestResult(target, k.id, k.name, passed, failed, c.testRepeatCount(), c.testLoopCount(),
        Math.round(n == 0 ? 0 : avgUs / n), all.getTotalCount(), rate, all, alloc, free, find, List.copyOf(errors));
  }

  private static void awaitQuietly(CountDownLatch l) {
    try {
      l.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Counts requests and, if enabled, prints a line to stderr every few seconds of a long run:
   * {@code vmap bench: 12 s, 1234567 requests, 98765/s, running embedded fix_size_alloc_test}.
   */
  public static final class Progress implements AutoCloseable {
    private final LongAdder ops = new LongAdder();
    private volatile String current = "";
    private final Thread ticker;

    public Progress(PrintWriter err, boolean enabled, long everyMillis) {
      if (!enabled) {
        ticker = null;
        return;
      }
      long start = System.nanoTime();
      ticker = new Thread(() -> {
        long last = 0;
        long lastT = start;
        try {
          while (true) {
            Thread.sleep(everyMillis);
            long now = System.nanoTime();
            long n = ops.sum();
            err.printf("vmap bench: %d s, %d requests, %.0f/s, running %s%n", (now - start) / 1_000_000_000L, n,
                (n - last) * 1e9 / Math.max(1, now - lastT), current);
            err.flush();
            last = n;
            lastT = now;
          }
        } catch (InterruptedException e) {
          // closed
        }
      }, "vmap-bench-progress");
      ticker.setDaemon(true);
      ticker.start();
    }

    /** Silent. */
    public static Progress none() {
      return new Progress(null, false, 0);
    }

    LongAdder ops() {
      return ops;
    }

    void current(String what) {
      current = what;
    }

    @Override
    public void close() {
      if (ticker != null) ticker.interrupt();
    }
  }
}
