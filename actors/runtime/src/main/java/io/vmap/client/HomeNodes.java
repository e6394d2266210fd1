package io.vmap.client;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

/**
 * Where a client's allocations that name no home node go (README "Decisions" 1 and 12). Thread-safe.
 *
 * <ul>
 *   <li>{@link #threadHome}, a caller's own thread. Volatile nodes: the thread's own node, fixed per
 *       thread (the kernel allocates on the current CPU's node). Durable nodes: one node for every
 *       thread of the client, the next in turn after each {@code turn} allocations. A durable node
 *       answers once its journal has stored what it applied, in one write with everything that
 *       arrived during the write before, so the threads' allocations at one node share writes,
 *       where a node per thread paid a write per thread. The turn spreads a client that never
 *       pauses over every node's space.
 *   <li>{@link #anyHome}, a thread that stands for no CPU (a server's request thread): the next node
 *       in turn, so that calls made one at a time go round every node. Durable nodes: every
 *       thread's allocations go to the client's node while the client waits for an answer there
 *       (and for at most {@code turn} allocations), so that what they allocate meanwhile leaves in
 *       one batch, one journal write; with {@code turn == 0} each thread keeps its own node so.
 * </ul>
 */
final class HomeNodes {

  private final int nodes;
  /** Durable nodes: {@link #threadHome}'s allocations per node before the next; 0: a node per thread. */
  private final int turn;
  private final boolean durable;
  /** Whether the client waits for an answer at a node (something queued or unanswered there). */
  private final IntPredicate waitsAt;
  private final IntPredicate waitsNowhereAt;

  /** Hands each calling thread its own node, in turn, at its first call. */
  private final AtomicInteger nextThreadNode = new AtomicInteger();
  private final ThreadLocal<int[]> threadNodes;
  /** Durable nodes, {@code turn > 0}: the node {@link #threadHome} gives every thread. */
  private final SharedNode byThreads = new SharedNode();
  /** Durable nodes, {@code turn > 0}: the node {@link #anyHome} gives every thread. */
  private final SharedNode byRequests = new SharedNode();
  /** Durable nodes, {@code turn == 0}: the node each thread's {@link #anyHome} allocations go to; -1 before the first. */
  private final ThreadLocal<int[]> anyNodes = ThreadLocal.withInitial(() -> new int[] {-1});
  /** The next node in turn for {@link #anyHome}. */
  private final AtomicInteger nextAny = new AtomicInteger();

  /**
   * @param turn {@code vmap.client.durable-home-turn} for durable nodes, 0 for volatile ones
   * @throws IllegalArgumentException naming the key if {@code turn} is negative
   */
  HomeNodes(int nodes, int turn, boolean durable, IntPredicate waitsAt) {
    if (turn < 0) throw new IllegalArgumentException("vmap.client.durable-home-turn: " + turn + " < 0");
    this.nodes = nodes;
    this.turn = turn;
    this.durable = durable;
    this.waitsAt = waitsAt;
    this.waitsNowhereAt = waitsAt.negate();
    this.threadNodes = ThreadLocal.withInitial(() -> new int[] {Math.floorMod(nextThreadNode.getAndIncrement(), nodes)});
  }

  /** The default home of the calling thread's allocations. */
  int threadHome() {
    return turn == 0 ? threadNodes.get()[0] : byThreads.node(h -> false);
  }

  /** {@link VmapClient#anyHome}. */
  int anyHome() {
    if (!durable) return Math.floorMod(nextAny.getAndIncrement(), nodes);
    if (turn > 0) return byRequests.node(waitsNowhereAt);
    int[] mine = anyNodes.get();
    int h = mine[0];
    if (h < 0 || !waitsAt.test(h)) mine[0] = h = Math.floorMod(nextAny.getAndIncrement(), nodes);
    return h;
  }

  /** One node for all threads: the next in turn at the first call, when {@code leave} says so, or after {@code turn} calls. */
  private final class SharedNode {
    private volatile int node = -1;
    private final AtomicInteger calls = new AtomicInteger();
    private final AtomicInteger next = new AtomicInteger();

    int node(IntPredicate leave) {
      int h = node;
      if (h < 0 || leave.test(h) || calls.incrementAndGet() > turn) {
        // Racing threads may each move it on; the last one's node stays, and none is skipped for long.
        calls.set(1);
        node = h = Math.floorMod(next.getAndIncrement(), nodes);
      }
      return h;
    }
  }
}
