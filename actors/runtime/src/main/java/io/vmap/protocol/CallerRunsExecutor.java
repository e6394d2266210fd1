package io.vmap.protocol;

import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import akka.dispatch.DispatcherPrerequisites;
import akka.dispatch.ExecutorServiceConfigurator;
import akka.dispatch.ExecutorServiceFactory;
import akka.dispatch.ThreadPoolExecutorConfigurator;
import com.typesafe.config.Config;
import io.vmap.protocol.ClientProtocol.Batch;
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
 *       threads, and only the mailbox that send schedules (the node's, when it was idle). Everything
 *       else (timers, other actors' sends, a node's own sends during the turn, anything a pool
 *       thread schedules) goes to the pool as before: pool threads never run a second turn nested
 *       inside the one they run, and a caller runs at most one turn per send.
 *   <li>The turn is the node's usual one: up to {@code throughput} messages, the caller's batch
 *       first, then whatever else waits in the mailbox; what is left is scheduled on the pool.
 *   <li>The answers of the caller's own batch are handled on its thread ({@link LocalReplies}):
 *       its futures complete and its own callbacks run before {@code alloc} or {@code free} returns.
 *       Answers to any other batch the turn handles go to their reply actors, on the pool
 *       ({@link #deferred}): a caller's thread never runs another caller's callbacks, so a lock the
 *       caller holds while it calls the client cannot deadlock with one another callback takes.
 * </ul>
 *
 * <p>Chosen by {@code vmap.dispatcher.executor = "io.vmap.protocol.CallerRunsExecutor"}
 * (reference.conf); the pool's size comes from {@code vmap.dispatcher.thread-pool-executor}.
 */
public final class CallerRunsExecutor extends ExecutorServiceConfigurator {

  /** What a thread is doing with respect to this executor. */
  private static final class Caller {
    /** NONE, OFFERED (inside {@link #tell}), RUNNING (a turn inline) or POOL (a pool thread). */
    int mode;
    /** The batch whose send offered this thread a turn: its answers are this thread's to handle. */
    Batch own;
  }

  private static final int NONE = 0;
  private static final int OFFERED = 1;
  private static final int RUNNING = 2;
  private static final int POOL = 3;

  private static final ThreadLocal<Caller> CALLER = ThreadLocal.withInitial(Caller::new);

  private final ThreadPoolExecutorConfigurator pool;

  /** Made by Akka from the dispatcher's configuration ({@code executor} names this class). */
  public CallerRunsExecutor(Config config, DispatcherPrerequisites prerequisites) {
    super(config, prerequisites);
    this.pool = new ThreadPoolExecutorConfigurator(config.getConfig("thread-pool-executor"), prerequisites);
  }

  @Override
  public ExecutorServiceFactory createExecutorServiceFactory(String id, ThreadFactory threadFactory) {
    ThreadFactory marked = task -> threadFactory.newThread(() -> {
      CALLER.get().mode = POOL;
      task.run();
    });
    ExecutorServiceFactory threads = pool.createExecutorServiceFactory(id, marked);
    return () -> new Inline(threads.createExecutorService());
  }

  /**
   * Sends {@code batch} to {@code node}; on a caller's thread (not this pool's, not inside a turn),
   * the node's turn runs here if the node was idle. Same effect as {@code node.tell(batch)} on any
   * other dispatcher or target (a remote node, a sharding entity).
   */
  public static void tell(RecipientRef<? super Batch> node, Batch batch) {
    Caller c = CALLER.get();
    if (c.mode != NONE) {
      node.tell(batch);
      return;
    }
    c.mode = OFFERED;
    c.own = batch;
    try {
      node.tell(batch);
    } finally {
      c.mode = NONE;
      c.own = null;
    }
  }

  /**
   * True when this thread runs a turn inline and {@code replies} answer a batch other than the one
   * it sent (another caller's, or one a client sent from inside the turn): they go to {@code to}'s
   * mailbox, not to a handler on this thread.
   */
  static boolean deferred(long batch, ActorRef<?> to) {
    Caller c = CALLER.get();
    if (c.mode != RUNNING) return false;
    Batch own = c.own;
    return own == null || own.batch() != batch || !own.replyTo().equals(to);
  }

  /** The pool, plus the caller's turn for the one task a {@link #tell} schedules. */
  private static final class Inline extends AbstractExecutorService {
    private final ExecutorService threads;

    Inline(ExecutorService threads) {
      this.threads = threads;
    }

    @Override
    public void execute(Runnable task) {
      Caller c = CALLER.get();
      if (c.mode != OFFERED || threads.isShutdown()) {
        threads.execute(task);
        return;
      }
      c.mode = RUNNING;
      try {
        task.run();
      } finally {
        // One turn per send: a second task this send schedules (none expected) goes to the pool.
        c.mode = NONE;
        c.own = null;
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
