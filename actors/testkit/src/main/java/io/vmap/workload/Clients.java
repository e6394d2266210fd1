package io.vmap.workload;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Simulated clients driving an allocator: {@code clients} clients, each with up to
 * {@code inFlight} operations outstanding, issue {@code ops} operations in all. What one operation
 * is and how its answer is checked or recorded is the caller's {@link Step} (typically
 * {@link Generator#next} then a call on a {@code VmapClient}); this class only keeps the right
 * number of them in flight and returns when every one is answered.
 */
public final class Clients {

  private Clients() {}

  /** One simulated client: its number, its own random stream and the areas it may free. */
  public static final class Client {
    private final int id;
    private final SplittableRandom rnd;
    private final LiveAreas live;
    private long issued;

    Client(int id, SplittableRandom rnd, LiveAreas live) {
      this.id = id;
      this.rnd = rnd;
      this.live = live;
    }

    public int id() {
      return id;
    }

    /** The client's random stream; use it only inside {@link Step#issue}. */
    public SplittableRandom rnd() {
      return rnd;
    }

    public LiveAreas live() {
      return live;
    }

    /** 0, 1, 2, ...: this client's operations so far (for request ids). */
    public long next() {
      return issued++;
    }
  }

  /** Issues one operation of client {@code c}; the stage completes when it is answered (either way). */
  @FunctionalInterface
  public interface Step {
    CompletionStage<?> issue(Client c);
  }

  /**
   * Runs the operations and returns when all are answered.
   *
   * @param seed each client's random stream is split from it, in client order
   * @param shared the areas every client frees from, or null: each client frees only its own
   * @param executor where each lane starts; a lane's later steps run on the thread that delivered
   *     the previous answer. Steps of one client are issued one at a time
   * @throws java.util.concurrent.CompletionException if a step threw (that lane stopped; the
   *     others ran to the end of the budget)
   */
  public static void run(long ops, int clients, int inFlight, long seed, LiveAreas shared, Executor executor,
      Step step) {
    if (clients < 1 || inFlight < 1) throw new IllegalArgumentException(clients + " clients x " + inFlight + " in flight");
    SplittableRandom root = new SplittableRandom(seed);
    List<Client> cs = new ArrayList<>();
    for (int i = 0; i < clients; i++) cs.add(new Client(i, root.split(), shared != null ? shared : new LiveAreas()));
    // No more lanes than operations: a lane would end at once, but each costs a task to start.
    long lanes = Math.min((long) clients * inFlight, Math.max(0, ops));
    if (lanes == 0) return;
    Run run = new Run(new AtomicLong(ops), new AtomicLong(lanes), step, executor);
    long started = 0;
    for (int k = 0; k < inFlight && started < lanes; k++) {
      for (int i = 0; i < clients && started < lanes; i++, started++) {
        Client c = cs.get(i);
        executor.execute(() -> run.lane(c));
      }
    }
    run.done.join();
  }

  /** One call of {@link #run}: the operations left, the lanes still running, the first failure. */
  private record Run(AtomicLong budget, AtomicLong lanes, Step step, Executor executor, CompletableFuture<Void> done,
      AtomicReference<Throwable> failure) {

    Run(AtomicLong budget, AtomicLong lanes, Step step, Executor executor) {
      this(budget, lanes, step, executor, new CompletableFuture<>(), new AtomicReference<>());
    }

    /**
     * One outstanding operation at a time, the next issued when it is answered, until the budget is
     * spent. The next one is issued on the thread that delivered the answer (no hop to another
     * thread per operation), or right here, in a loop, when the answer was there at once (a lookup
     * from a read index).
     */
    void lane(Client c) {
      while (true) {
        if (budget.getAndDecrement() <= 0) {
          end();
          return;
        }
        CompletableFuture<?> answered;
        try {
          synchronized (c) {
            answered = step.issue(c).toCompletableFuture();
          }
        } catch (RuntimeException | Error e) {
          failure.compareAndSet(null, e);
          end();
          return;
        }
        if (!answered.isDone()) {
          answered.whenComplete((v, t) -> lane(c));
          return;
        }
      }
    }

    private void end() {
      if (lanes.decrementAndGet() > 0) return;
      Throwable t = failure.get();
      if (t == null) done.complete(null);
      else done.completeExceptionally(t);
    }
  }
}
