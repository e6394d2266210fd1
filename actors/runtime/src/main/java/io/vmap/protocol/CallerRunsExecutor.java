package io.vmap.protocol;

import akka.actor.typed.RecipientRef;
import akka.dispatch.DispatcherPrerequisites;
import akka.dispatch.ExecutorServiceConfigurator;
import akka.dispatch.ExecutorServiceFactory;
import akka.dispatch.MonitorableThreadFactory;
import akka.dispatch.ThreadPoolExecutorConfigurator;
import com.typesafe.config.Config;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * {@code vmap.dispatcher}'s executor: a thread pool over one FIFO queue (the {@code
 * thread-pool-executor} section of the dispatcher), where a client's thread whose batch finds its
 * node idle runs the node's turn itself instead of waking a pool thread for it. The kernel's caller
 * does its allocation on its own CPU under the node's lock; here the caller's thread takes the
 * node's mailbox, which Akka lets one thread run at a time. At window 1 that removes both hand-offs
 * of a round trip (the pool thread's wake-up and the caller's), BENCHMARKS.md "Window 1: the
 * caller runs the node".
 *
 * <p>Who runs inline, and what:
 *
 * <ul>
 *   <li>Only a thread that sends a client batch through {@link #tell} and is not one of this pool's
 *       threads, and only the mailbox that send schedules (the node's, when it was idle). The
 *       client does so for a call with nothing else of its own outstanding at that node (a caller
 *       that waits for each answer); a client with calls in flight there sends as before, so that
 *       the node's turns overlap with its next calls on the pool. Everything
 *       else (timers, other actors' sends, a node's own sends during the turn, anything a pool
 *       thread schedules) goes to the pool as before: pool threads never run a second turn nested
 *       inside the one they run, and a caller runs at most one turn per send.
 *   <li>The turn is the node's usual one: up to {@code throughput} messages, the caller's batch and
 *       whatever else waits in the mailbox; what is left is scheduled on the pool.
 *   <li>The turn hands its answers over on this thread as a pool thread's would ({@link
 *       LocalReplies}), and the client completes there the calls this thread made: their futures
 *       are complete and their callbacks have run before {@code alloc} or {@code free} returns. The
 *       calls of other threads answered in the turn are completed on the pool ({@link
 *       #runsTurnHere}): a caller's thread never runs another thread's callbacks, so a lock the
 *       caller holds while it calls the client cannot deadlock with one that a callback takes.
 * </ul>
 *
 * <p>Chosen by {@code vmap.dispatcher.executor = "io.vmap.protocol.CallerRunsExecutor"}
 * (reference.conf); the pool's size comes from {@code vmap.dispatcher.thread-pool-executor}.
 */
public final class CallerRunsExecutor extends ExecutorServiceConfigurator {

  /**
   * What each thread is doing here: NONE, OFFERED (inside {@link #tell}), RUNNING (a turn inline)
   * or POOL (one of the pool's threads).
   */
  private static final class Mode {
    int value;
  }

  private static final int NONE = 0;
  private static final int OFFERED = 1;
  private static final int RUNNING = 2;
  private static final int POOL = 3;

  private static final ThreadLocal<Mode> MODE = ThreadLocal.withInitial(Mode::new);

  private final ThreadPoolExecutorConfigurator pool;

  /** Made by Akka from the dispatcher's configuration ({@code executor} names this class). */
  public CallerRunsExecutor(Config config, DispatcherPrerequisites prerequisites) {
    super(config, prerequisites);
    this.pool = new ThreadPoolExecutorConfigurator(config.getConfig("thread-pool-executor"), prerequisites);
  }

  @Override
  public ExecutorServiceFactory createExecutorServiceFactory(String id, ThreadFactory threadFactory) {
    // Named as Akka names a thread-pool-executor's threads (vmap-vmap.dispatcher-N), which it does
    // only for its own factory, not for this wrapper.
    ThreadFactory named =
        threadFactory instanceof MonitorableThreadFactory m ? m.withName(m.name() + "-" + id) : threadFactory;
    ThreadFactory marked = task -> named.newThread(() -> {
      MODE.get().value = POOL;
      task.run();
    });
    ExecutorServiceFactory threads = pool.createExecutorServiceFactory(id, marked);
    return () -> new Inline(threads.createExecutorService());
  }

  /**
   * Tells {@code message} to {@code to}; on a caller's thread (not this pool's, not inside a turn),
   * the turn this schedules runs here if {@code to} was idle. The same as {@code to.tell(message)}
   * on any other dispatcher or target (a remote node, a sharding entity).
   */
  public static <T> void tell(RecipientRef<T> to, T message) {
    Mode m = MODE.get();
    if (m.value != NONE) {
      to.tell(message);
      return;
    }
    m.value = OFFERED;
    try {
      to.tell(message);
    } finally {
      m.value = NONE;
    }
  }

  /**
   * Whether this thread is a caller running a node's turn: answers handled now are the caller's to
   * complete only if it made the calls (ClientSession hands the others to the pool).
   */
  public static boolean runsTurnHere() {
    return MODE.get().value == RUNNING;
  }

  /** The pool, plus the caller's turn for the one task a {@link #tell} schedules. */
  private static final class Inline extends AbstractExecutorService {
    private final ExecutorService threads;

    Inline(ExecutorService threads) {
      this.threads = threads;
    }

    @Override
    public void execute(Runnable task) {
      Mode m = MODE.get();
      if (m.value != OFFERED || threads.isShutdown()) {
        threads.execute(task);
        return;
      }
      m.value = RUNNING;
      try {
        task.run();
      } finally {
        // One turn per send: a second task this send schedules (none expected) goes to the pool.
        m.value = NONE;
      }
    }

    @Override
    public void shutdown() {
      threads.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
      return threads.shutdownNow();
    }

    @Override
    public boolean isShutdown() {
      return threads.isShutdown();
    }

    @Override
    public boolean isTerminated() {
      return threads.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
      return threads.awaitTermination(timeout, unit);
    }
  }
}
