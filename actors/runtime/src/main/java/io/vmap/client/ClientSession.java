package io.vmap.client;

import akka.actor.Cancellable;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.protocol.CallerRunsExecutor;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Batch;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.ClientProtocol.Reply;
import io.vmap.protocol.LocalReplies;
import io.vmap.protocol.NodeDirectory;
import io.vmap.state.ErrorCode;
import io.vmap.state.RequestKey;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * A client's session with the nodes: how a request travels (DESIGN.md "Batches", "Sessions and
 * dedup").
 *
 * <ul>
 *   <li>One session id per node it talks to (numbered one by one there, so the node's window is
 *       dense) and one long-lived reply actor per node (answers
 *       from different nodes complete their callers' stages in parallel); a request is a {@link
 *       ClientProtocol.Request} carrying its {@link RequestKey} ({@code (session, seq)}, or the hash
 *       of a caller-chosen id), and answers are matched by key: no ask, no temporary actor, no
 *       timer per request.
 *   <li>One channel per node with at most one batch in flight: what callers submit while it is in
 *       flight queues and goes out as the next batch when the node acknowledges the previous one
 *       (group commit on the request side: no added latency when idle, big batches under load).
 *       Requests of one channel keep their order.
 *   <li>Each batch carries the channel's acknowledgement floor, the lowest sequence number still
 *       unanswered (not given up) there: the node keeps every answer from it on, so a retry always
 *       gets its first answer, and drops what is below (README "Decisions" 2).
 *   <li>One periodic check for timeouts: an unacknowledged batch, or a request still unanswered
 *       {@code timeout} after it was sent, is sent again with the same key while it has retries
 *       left (the node answers a retry with its first answer), else fails with ETIMEDOUT.
 * </ul>
 *
 * Thread-safe: callers submit from any thread. Answers from a node of this ActorSystem arrive on
 * that node's thread ({@link LocalReplies}: no mailbox hop), others on the reply actors; both run
 * on {@code vmap.dispatcher}. A call alone at its node (nothing else of this client outstanding
 * there) that finds the node idle has the node's turn run on the caller's thread ({@link
 * CallerRunsExecutor}): the calls that thread made are completed there before the call returns,
 * other threads' calls answered in that turn on the pool. A caller's non-async stage callbacks run
 * on whichever of these threads, inside the node's turn for a local node, so heavy or blocking work
 * belongs in an {@code *Async} callback on the caller's own executor.
 */
final class ClientSession {

  /** The requests to one node: the batch in flight and what queues behind it. */
  private final class Channel {
    final int node;
    final RecipientRef<ClientProtocol.Command> target;
    /** This client's session with the node, and its next sequence number there: a dense run per node. */
    final long session;
    long nextSeq;
    /**
     * This session's requests not answered (nor given up) yet, by sequence number; the lowest is
     * the acknowledgement floor each batch carries (the node keeps every answer from it on).
     * Guarded by the channel, whose lock is taken for each batch anyway.
     */
    final SeqRing<Pending> unanswered = new SeqRing<>();
    /** Where this channel's answers arrive: one reply actor per channel, so answers from different nodes complete their callers' stages in parallel. */
    ActorRef<Replies> replies;
    long batches;
    final ArrayDeque<Pending> queued = new ArrayDeque<>();
    /** The batch in flight, -1 if none; its requests; the check at which it counts as lost. */
    long inFlight = -1;
    List<Pending> inFlightItems = List.of();
    long inFlightDeadline;

    Channel(int node, RecipientRef<ClientProtocol.Command> target, long session) {
      this.node = node;
      this.target = target;
      this.session = session;
    }

    /** The lowest sequence number still waited for (or the next one). Under the lock. */
    long floorLocked() {
      return unanswered.isEmpty() ? nextSeq : unanswered.lowest();
    }

    /** The next batch from the queue, now in flight; null if the queue is empty. Under the lock. */
    Batch nextBatchLocked() {
      long deadline = ticks + TICKS_PER_TIMEOUT + 1;
      if (queued.isEmpty()) return null;
      int n = Math.min(queued.size(), maxBatch);
      List<Pending> items = new ArrayList<>(n);
      List<ClientProtocol.Request> requests = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        Pending p = queued.poll();
        p.inBatch = true;
        p.deadline = deadline;
        items.add(p);
        requests.add(p.request);
      }
      inFlight = batches++ * channels.length + node;
      inFlightItems = items;
      inFlightDeadline = deadline;
      return new Batch(inFlight, requests, this.replies, session, floorLocked());
    }
  }

  private static final AtomicInteger SESSIONS = new AtomicInteger();
  /**
   * Timeouts are counted in checks of a quarter timeout each, on the scheduler's clock (so a test
   * on Akka's ManualTime controls them): a request times out at the fifth check after it was sent,
   * between one and one and a quarter timeouts after it.
   */
  private static final int TICKS_PER_TIMEOUT = 4;

  private final long id;
  private final Channel[] channels;
  /** Requests with a caller-chosen id ({@link #submit}), by key; the channels keep their session's own. */
  private final ConcurrentHashMap<RequestKey, Pending> waiting = new ConcurrentHashMap<>();
  /** The channel of each session id (read-only once built). */
  private final Long2ObjectHashMap<Channel> bySession = new Long2ObjectHashMap<>();
  private final Duration timeout;
  /** Checks so far; read under the channels' locks, written by the check. */
  private volatile long ticks;
  private final int retries;
  private final int maxBatch;
  private final LongAdder retriesSent = new LongAdder();
  private final Cancellable ticker;
  private final ActorSystem<?> system;
  private final LocalReplies local;
  /** The reply actors' dispatcher: where a caller running a node's turn hands other threads' answers. */
  private final java.util.concurrent.Executor pool;
  /** Where allocations that name no home go. */
  private final HomeNodes homes;

  /** @param homeTurn {@link HomeNodes}' turn ({@code vmap.client.durable-home-turn}; 0 for volatile nodes) */
  ClientSession(ActorSystem<?> system, NodeDirectory nodes, Duration timeout, int retries, int maxBatch,
      String dispatcher, int homeTurn, boolean durable) {
    if (maxBatch < 1) throw new IllegalArgumentException("vmap.client.max-batch: " + maxBatch + " < 1");
    this.homes = new HomeNodes(nodes.size(), homeTurn, durable, this::waitsAt);
    this.system = system;
    this.local = LocalReplies.get(system);
    this.pool = system.dispatchers().lookup(
        dispatcher == null ? DispatcherSelector.defaultDispatcher() : DispatcherSelector.fromConfig(dispatcher));
    SecureRandom random = new SecureRandom();
    this.id = RequestKey.newSession(random);
    this.timeout = timeout;
    this.retries = retries;
    this.maxBatch = maxBatch;
    this.channels = new Channel[nodes.size()];
    String name = "vmap-client-" + SESSIONS.incrementAndGet() + "-" + Long.toHexString(id) + "-";
    for (int k = 0; k < channels.length; k++) {
      channels[k] = new Channel(k, nodes.client(k), RequestKey.newSession(random));
      bySession.put(channels[k].session, channels[k]);
      channels[k].replies = system.systemActorOf(
          Behaviors.<Replies>receive((ctx, r) -> {
            onReplies(r);
            return Behaviors.same();
          }),
          name + k,
          dispatcher == null ? DispatcherSelector.defaultDispatcher() : DispatcherSelector.fromConfig(dispatcher));
      // Nodes of this system hand their answers to onReplies on their own thread; the actor still
      // gets what comes from other members.
      local.register(channels[k].replies, this::onReplies);
    }
    // One check for every request's timeout, often enough that a request fails within a quarter of
    // its timeout after it: no timer per request.
    Duration tick = timeout.dividedBy(TICKS_PER_TIMEOUT);
    if (tick.compareTo(Duration.ofMillis(1)) < 0) tick = Duration.ofMillis(1);
    this.ticker = system.scheduler().scheduleWithFixedDelay(tick, tick, this::checkTimeouts, system.executionContext());
  }

  long id() {
    return id;
  }

  long retriesSent() {
    return retriesSent.sum();
  }

  int retries() {
    return retries;
  }

  Duration timeout() {
    return timeout;
  }

  /** {@link HomeNodes#threadHome}. */
  int threadHome() {
    return homes.threadHome();
  }

  /** {@link VmapClient#anyHome}. */
  int anyHome() {
    return homes.anyHome();
  }

  /**
   * Whether this session waits for an answer at {@code node}: something queued for it, or one of
   * this session's numbered requests unanswered there (taken out before their callers complete, so
   * a caller's next call sees its last one gone).
   */
  private boolean waitsAt(int node) {
    Channel ch = channels[node];
    synchronized (ch) {
      return !ch.unanswered.isEmpty() || !ch.queued.isEmpty();
    }
  }

  /**
   * Submits {@code p}, whose key is a caller-chosen id's ({@link RequestKey#keyed}): sent at once if
   * its node's channel is free, else queued for the next batch.
   */
  void submit(Pending p) {
    while (true) {
      Pending first = waiting.putIfAbsent(p.request.key(), p);
      if (first == null) break;
      // The same id is already on its way: this call gets its answer, without a second request.
      if (first.follow(p)) return;
      waiting.remove(p.request.key(), first); // answered just now; send this one (it gets the same answer)
    }
    Channel ch = channels[p.node];
    Batch send = null;
    boolean alone = false;
    synchronized (ch) {
      ch.queued.add(p);
      if (ch.inFlight < 0) {
        send = ch.nextBatchLocked();
        alone = ch.unanswered.isEmpty() && send.requests().size() == 1;
      }
    }
    send(ch, send, alone);
  }

  /**
   * Gives {@code p} (made without its request) the next key of this session to its node and
   * submits it, atomically: no function object per call.
   */
  <P extends Pending> P submitNew(P p) {
    Channel ch = channels[p.node];
    Batch send = null;
    boolean alone = false;
    synchronized (ch) {
      // Taken under the channel's lock, so each node gets this session's requests in key order.
      long seq = ch.nextSeq++;
      p.request = p.requestFor(new RequestKey(ch.session, seq));
      ch.unanswered.put(seq, p);
      ch.queued.add(p);
      if (ch.inFlight < 0) {
        send = ch.nextBatchLocked();
        alone = ch.unanswered.size() == 1 && send.requests().size() == 1;
      }
    }
    send(ch, send, alone);
    return p;
  }

  /**
   * Sends {@code batch} (if any) to its node. A call {@code alone} (nothing else of this client
   * outstanding at that node: a caller waiting for each answer in turn) may have the node's turn run
   * on the caller's thread when the node is idle ({@link CallerRunsExecutor}); a client with other
   * calls in flight there keeps the node's turns on the pool, where they overlap with its next
   * calls.
   */
  private static void send(Channel ch, Batch batch, boolean alone) {
    if (batch == null) return;
    if (alone) CallerRunsExecutor.tell(ch.target, batch);
    else ch.target.tell(batch);
  }

  /**
   * On the node's thread (a node of this system, {@link LocalReplies}) or the reply actor's: complete
   * what is answered; a batch's acknowledgement frees its channel. Safe from any thread.
   */
  private void onReplies(Replies r) {
    List<Reply> replies = r.replies();
    Channel ch = r.batch() < 0 ? null : channels[(int) (r.batch() % channels.length)];
    Pending[] answered = new Pending[replies.size()];
    // The acknowledged channel's own answers (nearly all of them) are taken out in one turn of its lock.
    if (ch != null) {
      synchronized (ch) {
        for (int i = 0; i < answered.length; i++) {
          RequestKey key = replies.get(i).key();
          if (key != null && key.session() == ch.session) answered[i] = ch.unanswered.remove(key.seq());
        }
      }
    }
    for (int i = 0; i < answered.length; i++) {
      RequestKey key = replies.get(i).key();
      if (answered[i] != null || key == null || (ch != null && key.session() == ch.session)) continue;
      answered[i] = takeWaiting(key);
    }
    // A caller running the node's turn completes the calls it made; other threads' calls (and calls
    // others may follow) are completed on the pool, so that it never runs their callbacks.
    Thread caller = CallerRunsExecutor.runsTurnHere() ? Thread.currentThread() : null;
    boolean[] later = null;
    for (int i = 0; i < answered.length; i++) {
      Pending p = answered[i];
      if (p == null) continue;
      if (caller == null || (p.caller == caller && !p.mayHaveFollowers())) {
        p.answer(replies.get(i));
      } else {
        if (later == null) later = new boolean[answered.length];
        later[i] = true;
      }
    }
    if (later != null) {
      boolean[] onPool = later;
      pool.execute(() -> {
        for (int i = 0; i < answered.length; i++) if (onPool[i]) answered[i].answer(replies.get(i));
      });
    }
    if (ch == null) return;
    Batch send = null;
    synchronized (ch) {
      if (ch.inFlight != r.batch()) return; // a late or repeated acknowledgement
      for (Pending p : ch.inFlightItems) p.inBatch = false;
      ch.inFlight = -1;
      ch.inFlightItems = List.of();
      send = ch.nextBatchLocked();
    }
    if (send != null) ch.target.tell(send);
  }

  /**
   * Takes the request {@code key} names out of those waiting for an answer (its channel's, or the
   * caller-chosen ids'); null if it is not waiting (answered or given up already).
   */
  private Pending takeWaiting(RequestKey key) {
    if (key.keyed()) return waiting.remove(key);
    Channel c = bySession.get(key.session());
    if (c == null) return null;
    synchronized (c) {
      return c.unanswered.remove(key.seq());
    }
  }

  /** Whether {@code p} still waits for its answer. Under its channel's lock. */
  private boolean waitingLocked(Channel ch, Pending p) {
    RequestKey key = p.request.key();
    return key.keyed() ? waiting.get(key) == p : ch.unanswered.get(key.seq()) == p;
  }

  /** Takes {@code p} out of those waiting; false if it was answered or given up meanwhile. */
  private boolean takeWaiting(Pending p) {
    RequestKey key = p.request.key();
    if (key.keyed()) return waiting.remove(key, p);
    Channel ch = channels[p.node];
    synchronized (ch) {
      return ch.unanswered.remove(key.seq(), p);
    }
  }

  /** Periodic: batches never acknowledged and requests never answered within the timeout. */
  private void checkTimeouts() {
    long now = ++ticks;
    List<Pending> expired = new ArrayList<>();
    for (Channel ch : channels) {
      Batch send = null;
      synchronized (ch) {
        if (ch.inFlight >= 0 && now >= ch.inFlightDeadline) {
          // No acknowledgement: the batch or its answer was lost, or the node is slow or gone.
          // Its unanswered requests go again, in front of the queue, with the same keys.
          List<Pending> again = new ArrayList<>();
          for (Pending p : ch.inFlightItems) {
            p.inBatch = false;
            if (!waitingLocked(ch, p)) continue;
            if (p.retriesLeft > 0) {
              p.retriesLeft--;
              retriesSent.increment();
              p.deadline = Long.MAX_VALUE;
              again.add(p);
            } else {
              expired.add(p);
            }
          }
          for (int i = again.size() - 1; i >= 0; i--) ch.queued.addFirst(again.get(i));
          ch.inFlight = -1;
          ch.inFlightItems = List.of();
          send = ch.nextBatchLocked();
        }
      }
      if (send != null) ch.target.tell(send);
    }
    // Acknowledged but unanswered (a walk, a purge, a lost answer): ask again, or give up.
    for (Pending p : waiting.values()) {
      Channel ch = channels[p.node];
      boolean resend = false;
      synchronized (ch) {
        if (p.inBatch || p.deadline > now) continue; // in flight, or queued (no deadline yet)
        resend = retryOrExpireLocked(p, expired);
      }
      if (resend) resubmit(p);
    }
    for (Channel ch : channels) {
      Batch send = null;
      synchronized (ch) {
        if (ch.unanswered.isEmpty()) continue;
        ch.unanswered.forEach(p -> {
          if (!p.inBatch && p.deadline <= now && retryOrExpireLocked(p, expired)) ch.queued.add(p);
        });
        if (ch.inFlight < 0) send = ch.nextBatchLocked();
      }
      if (send != null) ch.target.tell(send);
    }
    for (Pending p : expired) {
      if (takeWaiting(p)) {
        p.giveUp(new VmapException(ErrorCode.ETIMEDOUT, "no answer from node " + p.node + " within "
            + timeout.toMillis() + " ms; the request may still take effect: retry with the same request id"));
      }
    }
  }

  /**
   * {@code p} timed out: true if it is to be sent again (a retry used), else it joins {@code
   * expired}. Under its channel's lock.
   */
  private boolean retryOrExpireLocked(Pending p, List<Pending> expired) {
    if (p.retriesLeft > 0) {
      p.retriesLeft--;
      retriesSent.increment();
      p.deadline = Long.MAX_VALUE;
      return true;
    }
    expired.add(p);
    return false;
  }

  private void resubmit(Pending p) {
    Channel ch = channels[p.node];
    Batch send = null;
    synchronized (ch) {
      ch.queued.add(p);
      if (ch.inFlight < 0) send = ch.nextBatchLocked();
    }
    if (send != null) ch.target.tell(send);
  }

  /** Stops the session: every request still waiting fails. */
  void close() {
    ticker.cancel();
    for (Pending p : waiting.values()) {
      if (waiting.remove(p.request.key(), p)) p.giveUp(new VmapException(ErrorCode.ETIMEDOUT, "client closed"));
    }
    for (Channel ch : channels) {
      List<Pending> closed;
      synchronized (ch) {
        closed = ch.unanswered.clear();
      }
      for (Pending p : closed) p.giveUp(new VmapException(ErrorCode.ETIMEDOUT, "client closed"));
    }
    for (Channel ch : channels) {
      local.unregister(ch.replies);
      akka.actor.typed.javadsl.Adapter.toClassic(ch.replies)
          .tell(akka.actor.PoisonPill.getInstance(), akka.actor.ActorRef.noSender());
    }
  }
}
