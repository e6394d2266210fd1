package io.vmap.bench;

import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * What a test body sees: the workload parameters and the target's operations, each timed into a
 * latency histogram (nanoseconds, from the call to its result). One instance per worker thread and
 * test; {@link SyncOps} for {@link BenchTarget.Sync} targets (direct calls), {@link AsyncOps} for
 * the others (a bounded window of outstanding requests per worker).
 */
abstract class Ops {

  static final CompletionStage<Boolean> TRUE = CompletableFuture.completedFuture(true);
  static final CompletionStage<Boolean> FALSE = CompletableFuture.completedFuture(false);

  final long page;
  final int loops;
  final int nrPages;
  /** full_fit_alloc_test's junk_length: fls(nodes) * 32 MiB / page, nodes standing in for CPUs. */
  final int junkLength;
  final int findsPerAlloc;
  /** An address no test allocates (the last page of the space): a lookup miss. */
  final long missAddr;
  final SplittableRandom rnd;
  final Histogram allocH;
  final Histogram freeH;
  final Histogram findH;
  private final LongAdder progress;
  /** The first unexpected error (an exception, not a plain allocation failure). */
  final AtomicReference<String> error = new AtomicReference<>();

  Ops(Workload w, SplittableRandom rnd, boolean concurrentRecording, LongAdder progress) {
    this.page = w.page();
    this.loops = w.loops();
    this.nrPages = w.nrPages();
    this.junkLength = w.junkLength();
    this.findsPerAlloc = w.findsPerAlloc();
    this.missAddr = w.missAddr();
    this.rnd = rnd;
    this.allocH = concurrentRecording ? new ConcurrentHistogram(3) : new Histogram(3);
    this.freeH = concurrentRecording ? new ConcurrentHistogram(3) : new Histogram(3);
    this.findH = concurrentRecording ? new ConcurrentHistogram(3) : new Histogram(3);
    this.progress = progress;
  }

  /** The parameters a test needs, fixed for a run. */
  record Workload(long page, int loops, int nrPages, int junkLength, int findsPerAlloc, long missAddr) {
    Workload withLoops(int l) {
      return new Workload(page, l, nrPages, junkLength, findsPerAlloc, missAddr);
    }
  }

  final void record(Histogram h, long t0) {
    h.recordValue(Math.max(0, System.nanoTime() - t0));
    progress.increment();
  }

  final void noteError(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    error.compareAndSet(null, String.valueOf(t));
  }

  // ------------------------------------------------------------------------------------------

  /** Direct calls on the worker thread. */
  static final class SyncOps extends Ops {
    private final BenchTarget.Sync t;

    SyncOps(BenchTarget.Sync t, Workload w, SplittableRandom rnd, LongAdder progress) {
      super(w, rnd, false, progress);
      this.t = t;
    }

    long alloc(long size, long align, int hint) {
      long t0 = System.nanoTime();
      long a = t.alloc(size, align, hint);
      record(allocH, t0);
      return a;
    }

    boolean free(long addr) {
      long t0 = System.nanoTime();
      boolean ok = t.free(addr) == null;
      record(freeH, t0);
      return ok;
    }

    long find(long addr) {
      long t0 = System.nanoTime();
      long s = t.find(addr);
      record(findH, t0);
      return s;
    }
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Pipelined calls: a test phase is a number of independent chains (e.g. alloc then free), each
   * with at most one request outstanding; {@link #window} keeps up to {@code window} chains in
   * flight, so at most {@code window} requests per worker are outstanding. Latency is from the
   * call to the completion callback (it includes mailbox queueing behind this worker's other
   * outstanding requests and other workers').
   */
  static final class AsyncOps extends Ops {
    private final BenchTarget t;
    private final int window;

    AsyncOps(BenchTarget t, Workload w, SplittableRandom rnd, int window, LongAdder progress) {
      super(w, rnd, true, progress);
      this.t = t;
      this.window = Math.max(1, window);
    }

    CompletionStage<Long> alloc(long size, long align, int hint) {
      long t0 = System.nanoTime();
      return t.allocAsync(size, align, hint).thenApply(a -> {
        record(allocH, t0);
        return a;
      });
    }

    CompletionStage<Boolean> free(long addr) {
      long t0 = System.nanoTime();
      return t.freeAsync(addr).thenApply(code -> {
        record(freeH, t0);
        return code == null;
      });
    }

    CompletionStage<Long> find(long addr) {
      long t0 = System.nanoTime();
      return t.findAsync(addr).thenApply(s -> {
        record(findH, t0);
        return s;
      });
    }

    /** Chains {@code 0..n-1}, up to {@code window} at once; stops starting new ones after a failure. */
    boolean window(int n, IntFunction<CompletionStage<Boolean>> chain) {
      return run(n, chain, true);
    }

    /** Like {@link #window} but runs every chain even after a failure (teardown frees). */
    boolean windowAll(int n, IntFunction<CompletionStage<Boolean>> chain) {
      return run(n, chain, false);
    }

    private boolean run(int n, IntFunction<CompletionStage<Boolean>> chain, boolean stopOnFailure) {
      Semaphore slots = new Semaphore(window);
      AtomicBoolean ok = new AtomicBoolean(true);
      for (int i = 0; i < n; i++) {
        if (stopOnFailure && !ok.get()) break;
        slots.acquireUninterruptibly();
        CompletionStage<Boolean> s;
        try {
          s = chain.apply(i);
        } catch (RuntimeException e) {
          noteError(e);
          ok.set(false);
          slots.release();
          continue;
        }
        s.whenComplete((r, ex) -> {
          if (ex != null) {
            noteError(ex);
            ok.set(false);
          } else if (!r) {
            ok.set(false);
          }
          slots.release();
        });
      }
      slots.acquireUninterruptibly(window);
      slots.release(window);
      return ok.get();
    }
  }
}
