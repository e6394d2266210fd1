package io.vmap.runner;

import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.space.Area;
import io.vmap.space.Unsigned;
import io.vmap.workload.Clients;
import io.vmap.workload.Generator;
import io.vmap.workload.LiveAreas;
import io.vmap.workload.Op;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The demo's mixed workload, drawn by {@link Generator} with {@link #MIX}: client threads, each
 * client with a bounded number of requests in flight, issuing allocations (4 KiB..1 MiB, a tenth
 * aligned to 8 KiB..1 MiB, a quarter tagged), frees of random areas it holds, and finds (half inside
 * an area it holds, half at random addresses). Every answer is checked: a failed allocation or
 * free, or a find answering an area that does not contain the address, counts as an error.
 */
final class DemoWorkload {

  /** Callers a kernel's /proc/vmallocinfo would show; a quarter of the allocations carry one. */
  private static final List<String> TAGS = List.of("vmap_stack", "module_alloc", "ioremap", "bpf_jit", "kvmalloc");

  /** 45% allocations of 1..256 pages, 40% frees, 15% finds. */
  static final Generator.Options MIX =
      Generator.Options.of(new Generator.Mix(0, 0.15, 0.40), List.of(new Generator.Band(1, 1, 256)))
          .withFindInside(0.5)
          .withAligns(0.1, 13, 20)
          .withTags(0.25, TAGS);

  private static final int MAX_ERRORS_KEPT = 5;

  private final VmapClient client;
  private final Generator generator;

  final LongAdder done = new LongAdder();
  /** Areas allocated and not (yet) freed, as this workload counts them: the progress line's, free of any query to the nodes. */
  final LongAdder liveCount = new LongAdder();
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
    this.generator = new Generator(client.geometry(), MIX);
  }

  /**
   * Runs {@code ops} operations from {@code threads} clients, each with {@code inFlight} requests
   * in flight and frees only of its own areas, on as many threads; returns when all are answered.
   */
  void run(long ops, int threads, int inFlight, long seed) {
    ExecutorService pool = Executors.newFixedThreadPool(threads, new java.util.concurrent.ThreadFactory() {
      private final AtomicInteger n = new AtomicInteger();

      @Override
      public Thread newThread(Runnable r) {
        Thread t = new Thread(r, "vmap-demo-client-" + n.getAndIncrement());
        t.setDaemon(true);
        return t;
      }
    });
    try {
      Clients.run(ops, threads, inFlight, seed, null, pool, this::issue);
    } finally {
      pool.shutdownNow();
    }
  }

  private CompletionStage<?> issue(Clients.Client c) {
    try {
      Op op = generator.next(c.rnd(), c.live());
      if (op instanceof Op.Alloc a) return alloc(a, c.live());
      if (op instanceof Op.Free f) return free(f.area(), c.live());
      return find(((Op.Find) op).addr());
    } catch (RuntimeException e) {
      error("request not sent: " + e);
      done.increment();
      return CompletableFuture.completedFuture(null);
    }
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

  private CompletionStage<?> alloc(Op.Alloc a, LiveAreas live) {
    if (a.align() != 0) aligned.increment();
    if (a.tag() != null) tagged.increment();
    long t0 = System.nanoTime();
    return client.alloc(a.options()).whenComplete((al, ex) -> {
      allocNanos.recordValue(System.nanoTime() - t0);
      allocs.increment();
      done.increment();
      if (ex != null) error("alloc " + a.size() + ": " + describe(ex));
      else {
        live.add(new LiveAreas.Held(al.area(), null));
        liveCount.increment();
      }
    });
  }

  private CompletionStage<?> free(Area area, LiveAreas live) {
    long t0 = System.nanoTime();
    return client.free(area.start()).whenComplete((freed, ex) -> {
      freeNanos.recordValue(System.nanoTime() - t0);
      frees.increment();
      done.increment();
      live.released(area);
      if (ex != null) error("free " + area + ": " + describe(ex));
      else liveCount.decrement();
    });
  }

  private CompletionStage<?> find(long addr) {
    long t0 = System.nanoTime();
    return client.find(addr).whenComplete((Optional<Area> found, Throwable ex) -> {
      findNanos.recordValue(System.nanoTime() - t0);
      finds.increment();
      done.increment();
      if (ex != null) {
        error("find " + Unsigned.hex(addr) + ": " + describe(ex));
      } else if (found.isPresent()) {
        findHits.increment();
        if (!found.get().contains(addr)) {
          error("find " + Unsigned.hex(addr) + " answered " + found.get() + ", which does not contain it");
        }
      }
    });
  }
}
