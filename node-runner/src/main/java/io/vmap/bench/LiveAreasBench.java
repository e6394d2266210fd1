package io.vmap.bench;

import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapSettings;
import io.vmap.space.Area;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a big allocator costs and how fast it is read: the embedded allocator (volatile, the
 * configured geometry) filled with {@code areas} one-page areas spread over every node, then
 *
 * <ul>
 *   <li>memory: heap after a full GC, before the allocator starts, once it runs (the nodes' start
 *       cost), and once the areas are allocated (per live area, the nodes' dedup state included);
 *   <li>finds: {@code threads} threads each looking up random addresses inside live areas through
 *       {@link VmapClient#find} for {@code seconds}, every answer checked, as lookups per second.
 * </ul>
 *
 * <p>What a lookup asks: an address at a random offset inside a live area (hits only; with
 * one-page areas, always in the area's first page). The areas come in a random order, shuffled
 * once before the clock starts and read sequentially by each thread from its own offset: a caller
 * has the address in hand, so the bench must not add a cache miss of its own per lookup (a random
 * index into 8 MB of starts was one, about a tenth of the time).
 */
final class LiveAreasBench {

  private LiveAreasBench() {}

  /** @param findCpuSeconds CPU time the finding threads used (what a lookup costs, whatever else runs) */
  record Result(long areas, int nodes, long heapBefore, long heapStarted, long heapFilled, long finds, double findSeconds,
      double findCpuSeconds, int threads) {
    long startBytes() {
      return heapStarted - heapBefore;
    }

    double bytesPerArea() {
      return (double) (heapFilled - heapStarted) / areas;
    }

    double findsPerSecond() {
      return finds / findSeconds;
    }

    double findsPerCpuSecond() {
      return finds / findCpuSeconds;
    }
  }

  static Result run(VmapSettings settings, long areas, int threads, double seconds, long seed, PrintWriter err) {
    long before = heapAfterGc();
    try (Vmap vmap = Vmap.start(settings)) {
      VmapClient c = vmap.client();
      c.info().toCompletableFuture().join(); // every node started
      long started = heapAfterGc();
      int nodes = settings.geometry().nodes();
      long[] starts = new long[(int) areas];
      int chunk = 10_000;
      for (int from = 0; from < areas; from += chunk) {
        List<AllocOptions> batch = new ArrayList<>(chunk);
        for (int i = from; i < Math.min(areas, from + chunk); i++) {
          batch.add(AllocOptions.size(settings.geometry().page()).home(i % nodes));
        }
        List<VmapClient.Result<Allocation>> got = c.allocAll(batch).toCompletableFuture().join();
        for (int i = 0; i < got.size(); i++) {
          if (!got.get(i).ok()) throw new IllegalStateException("allocation " + (from + i) + ": " + got.get(i).error());
          starts[from + i] = got.get(i).value().start();
        }
      }
      long filled = heapAfterGc();
      err.printf("live-areas: %d areas allocated, heap %d MB%n", areas, filled >> 20);
      long finds = 0;
      double took = 0;
      LongAdder cpuNanos = new LongAdder();
      if (seconds > 0) {
        LongAdder done = new LongAdder();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        long page = settings.geometry().page();
        long[] order = shuffled(starts, new SplittableRandom(seed));
        long t0 = System.nanoTime();
        for (int w = 0; w < threads; w++) {
          SplittableRandom rnd = new SplittableRandom(seed + w);
          int from = (int) ((long) order.length * w / threads);
          Thread t = new Thread(() -> {
            long cpu0 = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            long n = 0;
            int next = from;
            try {
              while ((n & 1023) != 0 || System.nanoTime() < deadline) {
                long s = order[next];
                next = next + 1 == order.length ? 0 : next + 1;
                Optional<Area> a = c.find(s + rnd.nextLong(page)).toCompletableFuture().join();
                if (a.isEmpty() || a.get().start() != s) throw new IllegalStateException("find inside " + Long.toHexString(s) + ": " + a);
                n++;
              }
            } catch (Throwable e) {
              failures.add(e);
            }
            done.add(n);
            cpuNanos.add(ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu0);
          }, "find-" + w);
          workers.add(t);
          t.start();
        }
        for (Thread t : workers) {
          try {
            t.join();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        took = (System.nanoTime() - t0) / 1e9;
        if (!failures.isEmpty()) throw new IllegalStateException("a lookup was wrong", failures.get(0));
        finds = done.sum();
      }
      return new Result(areas, nodes, before, started, filled, finds, took, cpuNanos.sum() / 1e9, threads);
    }
  }

  static void print(PrintWriter out, VmapSettings settings, Result r) {
    out.printf("# live areas: %d one-page areas over %d nodes, %s%n", r.areas(), r.nodes(), settings.geometry());
    out.printf("heap before start %d MB, running %d MB, filled %d MB (after a full GC each)%n",
        r.heapBefore() >> 20, r.heapStarted() >> 20, r.heapFilled() >> 20);
    out.printf("start cost: %.1f MB in all, %.1f MB per node%n", r.startBytes() / 1048576.0,
        r.startBytes() / 1048576.0 / r.nodes());
    out.printf("per live area: %.1f bytes (busy tree, free shard, dedup state)%n", r.bytesPerArea());
    if (r.finds() > 0) {
      out.printf("finds: %d threads, %d lookups in %.2f s = %.0f lookups/s (every answer checked); "
              + "%.2f CPU s = %.0f lookups per CPU second%n", r.threads(), r.finds(), r.findSeconds(), r.findsPerSecond(),
          r.findCpuSeconds(), r.findsPerCpuSecond());
    }
  }

  /** A copy of {@code a} in random order (Fisher-Yates). */
  static long[] shuffled(long[] a, SplittableRandom rnd) {
    long[] out = a.clone();
    for (int i = out.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      long x = out[i];
      out[i] = out[j];
      out[j] = x;
    }
    return out;
  }

  /** Heap in use after a full collection (several, until it stops shrinking). */
  static long heapAfterGc() {
    long last = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      if (used >= last) return used;
      last = used;
    }
    return last;
  }
}
