package io.vmap.client;

import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Reply;
import io.vmap.state.RequestKey;
import java.util.ArrayList;
import java.util.List;

/**
 * A request a {@link ClientSession} was given and what to do with its answer: its request (or how
 * to make it under the session's next key), its node, its retries and timeout bookkeeping (guarded
 * by its channel), the thread that made the call, and the calls with the same caller-chosen id
 * that wait for its answer.
 */
abstract class Pending {
  /**
   * Set once before it is sent: at construction, or by {@link ClientSession#submitNew} (under its
   * channel's lock, from {@link #requestFor}) for a call that gets its session's next key.
   */
  ClientProtocol.Request request;
  final int node;
  int retriesLeft;
  /** The check (tick) at which it counts as timed out, once sent; guarded by its channel. */
  long deadline = Long.MAX_VALUE;
  /** Whether it is in a batch whose acknowledgement the channel waits for; guarded by its channel. */
  boolean inBatch;
  /** The thread that made the call: a caller running a node's turn completes only its own calls. */
  final Thread caller = Thread.currentThread();

  /**
   * Calls with the same caller-chosen id made while this one waits: they get its answer. Only a
   * call with a caller-chosen id has any (it is found by key in {@code waiting}).
   */
  private List<Pending> followers;
  /** Answered or given up: a later call with its id is sent, not made its follower. */
  private volatile boolean done;

  Pending(ClientProtocol.Request request, int node, int retries) {
    this.request = request;
    this.node = node;
    this.retriesLeft = retries;
  }

  /** Makes {@code f} get this request's answer; false if this one is answered already. */
  synchronized boolean follow(Pending f) {
    if (done) return false;
    if (followers == null) followers = new ArrayList<>(1);
    followers.add(f);
    return true;
  }

  private synchronized List<Pending> finish() {
    done = true;
    return followers == null ? List.of() : followers;
  }

  final void answer(Reply reply) {
    complete(reply);
    if (mayHaveFollowers()) for (Pending f : finish()) f.answer(reply);
  }

  final void giveUp(VmapException e) {
    fail(e);
    if (mayHaveFollowers()) for (Pending f : finish()) f.giveUp(e);
  }

  /** False for a session call (no caller-chosen id): no follower, so no lock to take when it ends. */
  boolean mayHaveFollowers() {
    return request == null || request.key() == null || request.key().keyed();
  }

  /** Its request under {@code key}, for {@link ClientSession#submitNew}; a call made with its request has none. */
  ClientProtocol.Request requestFor(RequestKey key) {
    throw new IllegalStateException("a call made with its request is submitted with submit()");
  }

  abstract void complete(Reply reply);

  abstract void fail(VmapException e);
}
