package io.vmap.runner;

import io.vmap.client.AllocOptions;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The demo's mixed workload: client threads, each with a bounded number of requests in flight,
 * issuing allocations (4 KiB..1 MiB, some aligned, some tagged), frees of random areas it holds,
 * and finds (half inside an area it holds, half at random addresses). Every answer is checked:
 * a failed allocation or free, or a find answering an area that does not contain the address,
 * counts as an error.
 */
final class DemoWorkload {

  /** Callers a kernel's /proc/vmallocinfo would show; a quarter of the allocations carry one. */
  private static final String[] TAGS = {"vmap_stack", "module_alloc", "ioremap", "bpf_jit", "kvmalloc"};
  private static final int MAX_ERRORS_KEPT = 5;

  private final VmapClient client;
  private final Geometry geometry;

  final LongAdder done = new LongAdder();
  final LongAdder allocs = new LongAdder();
  final LongAdder frees = new LongAdder();
  final LongAdder finds = new LongAdder();
  final LongAdder findHits = new LongAdder();
  final LongAdder errors = new LongAdder();
  final LongAdder aligned = new LongAdder();
  final LongAdder tagged = new LongAdder();
  final Histogram allocNanos = new ConcurrentHistogram(3);
  final Histogram freeNanos = new ConcurrentHistogram(3);
  final Histogram findNanos = new ConcurrentHistogram(3);
  final ConcurrentLinkedQueue<String> firstErrors = new ConcurrentLinkedQueue<>();
  private final AtomicInteger errorsKept = new AtomicInteger();

  DemoWorkload(VmapClient client) {
    this.client = client;
    this.geometry = client.geometry();
  }

  /** Runs {@code ops} operations over {@code threads} threads and returns when all are answered. */
  void run(long ops, int threads, int inFlight, long seed) throws InterruptedException {
    SplittableRandom root = new SplittableRandom(seed);
    List<Thread> ts = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      long share = ops / threads + (i < ops % threads ? 1 : 0);
      Worker w = new Worker(root.split(), share, inFlight);
      Thread t = new Thread(w, "vmap-demo-client-" + i);
      t.setDaemon(true);
      ts.add(t);
    }
    for (Thread t : ts) t.start();
    for (Thread t : ts) t.join();
  }

  private void error(String what) {
    errors.increment();
    if (errorsKept.incrementAndGet() <= MAX_ERRORS_KEPT) firstErrors.add(what);
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private static String describe(Throwable t) {
    Throwable c = unwrap(t);
    return c instanceof VmapException v ? v.code() + " " + v.reason() : c.toString();
  }

  /** One client thread: it alone frees the areas it allocated, so no area is freed twice. */
  private final class Worker implements Runnable {
    private final SplittableRandom rnd;
    private final long ops;
    private final int inFlight;
    private final Semaphore permits;
    private final ArrayList<Area> live = new ArrayList<>(); // guarded by itself

    Worker(SplittableRandom rnd, long ops, int inFlight) {
      this.rnd = rnd;
      this.ops = ops;
      this.inFlight = inFlight;
      this.permits = new Semaphore(inFlight);
    }

    @Override
    public void run() {
      for (long i = 0; i < ops; i++) {
        permits.acquireUninterruptibly();
        try {
          issue();
        } catch (RuntimeException e) {
          error("request not sent: " + e);
          answered();
        }
      }
      permits.acquireUninterruptibly(inFlight); // every answer is in
    }

    private void issue() {
      int r = rnd.nextInt(100);
      Area victim = null;
      Area target = null;
      synchronized (live) {
        int n = live.size();
        if (n > 0 && r >= 45 && r < 85) {
          int i = rnd.nextInt(n);
          victim = live.get(i);
          live.set(i, live.get(n - 1));
          live.remove(n - 1);
        } else if (n > 0 && r >= 85 && rnd.nextBoolean()) {
          target = live.get(rnd.nextInt(n));
        }
      }
      if (victim != null) {
        free(victim);
      } else if (r >= 85) {
        find(target != null
            ? target.start() + Long.remainderUnsigned(rnd.nextLong(), target.size())
            : geometry.vstart() + Long.remainderUnsigned(rnd.nextLong(), geometry.spaceBytes()));
      } else {
        alloc();
      }
    }

    private void alloc() {
      long size = (1 + rnd.nextInt(256)) * 4096L;
      AllocOptions o = AllocOptions.size(size);
      if (rnd.nextInt(10) == 0) {
        o.align(1L << (13 + rnd.nextInt(8))); // 8 KiB .. 1 MiB
        aligned.increment();
      }
      if (rnd.nextInt(4) == 0) {
        o.tag(TAGS[rnd.nextInt(TAGS.length)]);
        tagged.increment();
      }
      long t0 = System.nanoTime();
      client.alloc(o).whenComplete((a, ex) -> {
        try {
          allocNanos.recordValue(System.nanoTime() - t0);
          allocs.increment();
          if (ex != null) {
            error("alloc " + size + ": " + describe(ex));
          } else {
            synchronized (live) {
              live.add(a.area());
            }
          }
        } finally {
          answered();
        }
      });
    }

    private void free(Area area) {
      long t0 = System.nanoTime();
      client.free(area.start()).whenComplete((freed, ex) -> {
        try {
          freeNanos.recordValue(System.nanoTime() - t0);
          frees.increment();
          if (ex != null) error("free " + area + ": " + describe(ex));
        } finally {
          answered();
        }
      });
    }

    private void find(long addr) {
      long t0 = System.nanoTime();
      client.find(addr).whenComplete((Optional<Area> found, Throwable ex) -> {
        try {
          findNanos.recordValue(System.nanoTime() - t0);
          finds.increment();
          if (ex != null) {
            error("find " + Unsigned.hex(addr) + ": " + describe(ex));
          } else if (found.isPresent()) {
            findHits.increment();
            if (!found.get().contains(addr)) {
              error("find " + Unsigned.hex(addr) + " answered " + found.get() + ", which does not contain it");
            }
          }
        } finally {
          answered();
        }
      });
    }

    private void answered() {
      done.increment();
      permits.release();
    }
  }
}
