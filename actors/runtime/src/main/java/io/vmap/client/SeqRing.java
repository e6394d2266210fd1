package io.vmap.client;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A channel's calls not answered yet, by sequence number: a ring over {@code [lowest, next)}, since
 * a channel numbers its calls one by one and most are answered in order. Put, get and remove are an
 * index each: no hashing, no boxed key, no node per call (a concurrent map of request keys cost a
 * few CASes on both the caller's and the node's thread per call).
 *
 * <p>The ring spans from the oldest unanswered call to the newest, so a call that waits long (a
 * walk, a purge) keeps the slots of the calls after it until it is answered or given up, as the
 * channel's queue of outstanding calls did before.
 *
 * <p>Not thread safe: guarded by its channel.
 */
final class SeqRing<P> {

  private Object[] ring = new Object[64];
  /** The lowest sequence number that may be here (every slot below it is empty). */
  private long base;
  /** One past the highest sequence number put. */
  private long next;
  private int size;

  /** Adds {@code p} under {@code seq}, which must be above every sequence number put so far. */
  void put(long seq, P p) {
    if (p == null) throw new IllegalArgumentException("null call at seq " + seq);
    if (seq < next) throw new IllegalArgumentException("seq " + seq + " is not above the last one put, " + (next - 1));
    if (size == 0) base = seq;
    long span = seq - base + 1;
    if (span > ring.length) grow(span);
    ring[slot(seq)] = p;
    next = seq + 1;
    size++;
  }

  /** The call under {@code seq}, or null. */
  @SuppressWarnings("unchecked")
  P get(long seq) {
    return seq < base || seq >= next ? null : (P) ring[slot(seq)];
  }

  /** Takes out and returns the call under {@code seq}, or null if there is none. */
  P remove(long seq) {
    P p = get(seq);
    if (p != null) clear(seq);
    return p;
  }

  /** Takes out the call under {@code seq} if it is {@code p}; whether it was. */
  boolean remove(long seq, P p) {
    if (p == null || get(seq) != p) return false;
    clear(seq);
    return true;
  }

  private void clear(long seq) {
    ring[slot(seq)] = null;
    size--;
    if (size == 0) {
      base = next;
    } else if (seq == base) {
      while (ring[slot(base)] == null) base++; // a call is left: the walk stops at it
    }
  }

  boolean isEmpty() {
    return size == 0;
  }

  int size() {
    return size;
  }

  /** The lowest sequence number of a call here; meaningless when empty. */
  long lowest() {
    return base;
  }

  /** Each call, lowest sequence number first. */
  @SuppressWarnings("unchecked")
  void forEach(Consumer<? super P> action) {
    for (long s = base; s < next && size > 0; s++) {
      Object p = ring[slot(s)];
      if (p != null) action.accept((P) p);
    }
  }

  /** Takes out every call; returns them, lowest sequence number first. */
  List<P> clear() {
    List<P> out = new ArrayList<>(size);
    forEach(out::add);
    java.util.Arrays.fill(ring, null);
    size = 0;
    base = next;
    return out;
  }

  private int slot(long seq) {
    return (int) (seq & (ring.length - 1));
  }

  private void grow(long span) {
    if (span > 1 << 30) throw new IllegalStateException("more than 2^30 calls unanswered on one channel");
    int size = ring.length;
    while (size < span) size <<= 1;
    Object[] bigger = new Object[size];
    for (long s = base; s < next; s++) bigger[(int) (s & (size - 1))] = ring[slot(s)];
    ring = bigger;
  }
}
