package io.vmap.state;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The first answer to each recent client request, so that a retry (same {@link RequestKey}) gets
 * it and never a second effect, in bounded memory with no per-request strings.
 *
 * <ul>
 *   <li>Per session a window: {@code next}, one past the highest sequence number answered, and the
 *       answers of the last {@code window} sequence numbers in a ring. A client sends each node one
 *       contiguous run and waits for a batch's answer before its next batch, so a retry falls
 *       inside the window; one older than that is handled as a new request (DESIGN.md).
 *   <li>Answers that come after the window has moved on (an allocation that walked, spanned or
 *       waited for a purge while the session sent more) and keyed requests (caller-chosen ids, each
 *       its own one-request session) go to a FIFO map bounded by {@code keyed}.
 *   <li>Sessions beyond {@code sessions} are forgotten least recently used first: a retry from one
 *       of them is treated as new.
 * </ul>
 *
 * Not thread safe: part of a node's state.
 */
public final class ClientAnswers {

  private static final int FIRST_RING = 16;

  /**
   * One session's window: sequence numbers {@code [max(first, next - window), next)} are answered
   * (or in flight) and their answers are in the ring, which covers at least {@code min(window, next
   * - first)} of them (it grows as the session goes on, so a session that sends little costs little).
   */
  private static final class Window {
    /** The first sequence number this node saw from the session (since it last remembered it). */
    long first;
    long next;
    Answer[] ring = new Answer[FIRST_RING];
  }

  private final int window;
  private final int sessionCapacity;
  private final LinkedHashMap<Long, Window> sessions;
  private final BoundedMap<RequestKey, Answer> others;

  /**
   * @param window answers kept per session (at least the largest batch a client sends)
   * @param sessions sessions remembered
   * @param keyed answers of keyed requests and late answers remembered
   */
  public ClientAnswers(int window, int sessions, int keyed) {
    if (window < 1 || Integer.bitCount(window) != 1) {
      throw new IllegalArgumentException("dedup window " + window + " is not a power of two");
    }
    if (sessions < 1) throw new IllegalArgumentException("dedup sessions " + sessions + " < 1");
    this.window = window;
    this.sessionCapacity = sessions;
    this.sessions = new LinkedHashMap<>(16, 0.75f, true);
    this.others = new BoundedMap<>(keyed);
  }

  /**
   * The first answer to {@code key}, or null: the request is new, or so old that its session's
   * window has moved past it (or its session was forgotten), and is then handled as new.
   */
  public Answer lookup(RequestKey key) {
    Answer a = others.get(key);
    if (a != null || key.keyed()) return a;
    Window w = sessions.get(key.session());
    if (w == null || key.seq() >= w.next || key.seq() < w.first || key.seq() < w.next - window) return null;
    return w.ring[(int) (key.seq() & (w.ring.length - 1))];
  }

  /** Records the first answer to {@code key}. */
  public void record(RequestKey key, Answer answer) {
    if (key.keyed()) {
      others.put(key, answer);
      return;
    }
    Window w = sessions.get(key.session());
    if (w == null) {
      w = new Window();
      w.first = key.seq();
      w.next = key.seq();
      sessions.put(key.session(), w);
      if (sessions.size() > sessionCapacity) {
        Iterator<Long> eldest = sessions.keySet().iterator();
        eldest.next();
        eldest.remove();
      }
    }
    long seq = key.seq();
    if (seq < w.first || seq < w.next - window) {
      others.put(key, answer); // a late answer: the window moved on (or was forgotten) meanwhile
      return;
    }
    if (seq >= w.next) advance(w, seq + 1);
    w.ring[(int) (seq & (w.ring.length - 1))] = answer;
  }

  /** Moves {@code next} up to {@code to}, clearing the slots of the sequence numbers it passes. */
  private void advance(Window w, long to) {
    long covered = Math.min(window, to - w.first);
    if (covered > w.ring.length) grow(w, (int) covered);
    if (to - w.next >= w.ring.length) {
      java.util.Arrays.fill(w.ring, null);
    } else {
      for (long s = w.next; s < to; s++) w.ring[(int) (s & (w.ring.length - 1))] = null;
    }
    w.next = to;
  }

  /** A larger ring (a power of two, at most the window) keeping every answer it holds. */
  private void grow(Window w, int atLeast) {
    int size = w.ring.length;
    while (size < atLeast) size <<= 1;
    Answer[] bigger = new Answer[size];
    for (long s = Math.max(w.first, w.next - w.ring.length); s < w.next; s++) {
      bigger[(int) (s & (size - 1))] = w.ring[(int) (s & (w.ring.length - 1))];
    }
    w.ring = bigger;
  }

  public int sessions() {
    return sessions.size();
  }

  // ---------------------------------------------------------------- snapshots

  /** Every remembered answer, as keys and answers in one order (sessions oldest use first, then the rest). */
  public void forEach(java.util.function.BiConsumer<RequestKey, Answer> out) {
    for (Map.Entry<Long, Window> e : sessions.entrySet()) {
      Window w = e.getValue();
      for (long s = Math.max(w.first, w.next - w.ring.length); s < w.next; s++) {
        Answer a = w.ring[(int) (s & (w.ring.length - 1))];
        if (a != null) out.accept(new RequestKey(e.getKey(), s), a);
      }
    }
    for (Map.Entry<RequestKey, Answer> e : others.entries()) out.accept(e.getKey(), e.getValue());
  }

}
