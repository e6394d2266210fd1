package io.vmap.state;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The first answer to each client request its client may still retry, so that a retry (same
 * {@link RequestKey}) gets it and never a second effect, in bounded memory with no per-request
 * strings.
 *
 * <ul>
 *   <li>Per session a window over its sequence numbers (dense: a client numbers its requests to
 *       each node one by one). With each batch the client sends its <em>acknowledgement floor</em>,
 *       the lowest sequence number it still waits for an answer to from this node ({@link
 *       #acknowledge}); the window keeps every answer at or above the floor, in a ring that grows
 *       as needed, so a lone answer that was lost is still there when its retry comes, however many
 *       later requests were answered meanwhile.
 *   <li>A hard cap, {@code cap} sequence numbers per session (for a client that never acknowledges,
 *       or whose one unanswered request waits while the session goes on): answers older than that
 *       are dropped, and so are those below the floor. A request below the window ({@link
 *       #FORGOTTEN}) is refused with ESTALE, never executed again: below the floor only a stale
 *       copy of an acknowledged request can come; past the cap the client gets a clear error.
 *   <li>Sessions beyond {@code sessions} are retired least recently used first: a retired session
 *       keeps only the sequence number below which everything is refused (a few bytes), and
 *       starts a fresh window from there if it comes back. Retired sessions beyond {@code
 *       sessions} more are forgotten.
 *   <li>Keyed requests (caller-chosen ids, each its own one-request session) keep their answer and
 *       the fingerprint of their parameters in a FIFO map bounded by {@code keyed}: the same id with
 *       other parameters is refused ({@link #REUSED}, EEXIST). Answers that came after their
 *       session's window had moved past them go to a second map of that size.
 * </ul>
 *
 * Not thread safe: part of a node's state. The floors reach a durable node's journal as {@link
 * NodeEvent.Acknowledged} (only those that drop an answer), so a recovered node keeps what the
 * node kept, and {@link #forEach} writes each window's lower bound into snapshots as an ESTALE
 * answer at that sequence number (an answer never recorded otherwise).
 */
public final class ClientAnswers {

  /** The answer to a retry whose first answer is no longer kept: refused, not executed again. */
  public static final Answer.Failed FORGOTTEN = new Answer.Failed(ErrorCode.ESTALE,
      "the first answer to this request is no longer kept (older than the client's acknowledgement floor, or than"
          + " vmap.node.dedup-window later requests of its session): not executed again; it may have taken effect");

  /** The answer to a caller-chosen id already used for other parameters (the client names the id). */
  public static final Answer.Failed REUSED = new Answer.Failed(ErrorCode.EEXIST,
      "request id already used for a different request (other size, align, range, tag, tenant, node or address)");

  private static final int FIRST_RING = 16;

  /**
   * One session's window. Sequence numbers below {@code low} are refused; {@code [low, base)} were
   * never seen here (new); {@code [base, next)} have their answers (or null: in flight, or never
   * sent here) in the ring, which holds at least {@code next - base} slots and null outside that
   * range.
   */
  private static final class Window {
    long low = Long.MIN_VALUE;
    long base;
    long next;
    Answer[] ring = new Answer[FIRST_RING];

    Window(long from) {
      base = from;
      next = from;
    }

    int slot(long seq) {
      return (int) (seq & (ring.length - 1));
    }
  }

  private record Keyed(long fingerprint, Answer answer) {}

  private final int cap;
  private final int sessionCapacity;
  private final LinkedHashMap<Long, Window> sessions;
  /**
   * The session used last and its window (null: none). The access-ordered map has it last already,
   * so a lookup or record of the same session (a batch's items all share one) skips the map: no
   * boxed key, no relinking, and the same LRU order. Only {@link #session} and {@link #window} touch
   * the map by key, and both keep this pair the session they touched last.
   */
  private long lastSession;
  private Window lastWindow;
  /** Retired sessions: everything below the value is refused. */
  private final BoundedMap<Long, Long> retired;
  private final BoundedMap<Long, Keyed> keyed;
  private final BoundedMap<RequestKey, Answer> late;

  /**
   * @param cap most sequence numbers of one session whose answers are kept (a power of two, at least
   *     the largest batch a client sends)
   * @param sessions sessions remembered (and as many retired ones)
   * @param keyed answers of keyed requests remembered, and as many late answers
   */
  public ClientAnswers(int cap, int sessions, int keyed) {
    if (cap < 1 || Integer.bitCount(cap) != 1) {
      throw new IllegalArgumentException("dedup window " + cap + " is not a power of two");
    }
    if (sessions < 1) throw new IllegalArgumentException("dedup sessions " + sessions + " < 1");
    this.cap = cap;
    this.sessionCapacity = sessions;
    this.sessions = new LinkedHashMap<>(16, 0.75f, true);
    this.retired = new BoundedMap<>(sessions);
    this.keyed = new BoundedMap<>(keyed);
    this.late = new BoundedMap<>(keyed);
  }

  /**
   * The first answer to {@code key}; {@link #FORGOTTEN} if the request is older than what is kept
   * for its session; {@link #REUSED} if its id answered other parameters; null if it is new (or in
   * flight: the caller knows what it is still working on).
   */
  public Answer lookup(RequestKey key) {
    if (key.keyed()) {
      Keyed k = keyed.get(key.session());
      if (k == null) return null;
      return key.sameRequest(k.fingerprint()) ? k.answer() : REUSED;
    }
    long seq = key.seq();
    Window w = session(key.session());
    if (w == null) {
      Long below = retired.get(key.session());
      if (below == null || seq >= below) return late.size() == 0 ? null : late.get(key);
      return lateOrForgotten(key);
    }
    if (seq >= w.next) return null;
    if (seq < w.low) return lateOrForgotten(key);
    if (seq < w.base) return null;
    return w.ring[w.slot(seq)];
  }

  private Answer lateOrForgotten(RequestKey key) {
    Answer a = late.get(key);
    return a != null ? a : FORGOTTEN;
  }

  /**
   * Records the first answer to {@code key}. An ESTALE answer is a window's lower bound as {@link
   * #forEach} writes it (restoring a snapshot): everything below {@code key.seq()} is refused.
   */
  public void record(RequestKey key, Answer answer) {
    if (key.keyed()) {
      keyed.put(key.session(), new Keyed(key.seq(), answer));
      return;
    }
    long seq = key.seq();
    Window w = window(key.session(), seq);
    if (answer instanceof Answer.Failed f && f.code() == ErrorCode.ESTALE) {
      raise(w, seq);
      return;
    }
    if (seq < w.low || w.next - seq > cap) {
      late.put(key, answer); // the window moved past it while it was being answered
      return;
    }
    if (seq < w.base) {
      fit(w, w.next - seq);
      w.base = seq;
    } else if (seq >= w.next) {
      advance(w, seq + 1);
    }
    w.ring[w.slot(seq)] = answer;
  }

  /**
   * The client of {@code session} waits for no answer below {@code floor} any more: they are
   * dropped, and a request below it is refused from now on.
   *
   * @return whether an answer was dropped (the only case a durable node needs to store)
   */
  public boolean acknowledge(long session, long floor) {
    Window w = session(session);
    if (w == null || floor <= w.low) return false;
    return raise(w, floor);
  }

  /**
   * The session's window, or null; as {@code sessions.get} (which makes it the most recently used),
   * without the map when it is the session used last.
   */
  private Window session(long session) {
    if (lastWindow != null && lastSession == session) return lastWindow;
    Window w = sessions.get(session);
    if (w != null) {
      lastSession = session;
      lastWindow = w;
    }
    return w;
  }

  /** The session's window, made (or brought back from retirement) for a first answer at {@code seq}. */
  private Window window(long session, long seq) {
    Window w = session(session);
    if (w != null) return w;
    Long below = retired.get(session);
    if (below != null) {
      w = new Window(Math.max(seq, below));
      w.low = below;
    } else {
      w = new Window(seq);
    }
    sessions.put(session, w);
    if (sessions.size() > sessionCapacity) {
      var eldest = sessions.entrySet().iterator();
      Map.Entry<Long, Window> e = eldest.next();
      eldest.remove();
      retired.put(e.getKey(), e.getValue().next);
    }
    // After the retirement: the new window is the most recently used, never the one retired.
    lastSession = session;
    lastWindow = w;
    return w;
  }

  /** Refuses everything below {@code to} from now on; true if a kept answer was dropped. */
  private boolean raise(Window w, long to) {
    if (to > w.low) w.low = to;
    if (to <= w.base) return false;
    boolean dropped = false;
    long end = Math.min(to, w.next);
    for (long s = w.base; s < end; s++) {
      dropped |= w.ring[w.slot(s)] != null;
      w.ring[w.slot(s)] = null;
    }
    w.base = end;
    if (to > w.next) w.base = w.next = to; // every slot is null: any range may start here
    if (w.ring.length > FIRST_RING && (w.next - w.base) * 8 < w.ring.length) resize(w, (int) (w.next - w.base) * 2);
    return dropped;
  }

  /** Moves {@code next} up to {@code to}, dropping answers more than {@code cap} behind it. */
  private void advance(Window w, long to) {
    if (to - w.base > cap) raise(w, to - cap);
    fit(w, to - w.base);
    w.next = to; // the slots of [next, to) are null: they lie outside the range the ring held
  }

  /** Makes the ring hold at least {@code span} slots. */
  private void fit(Window w, long span) {
    if (span > w.ring.length) resize(w, (int) span);
  }

  /** A ring of the smallest power of two at least {@code atLeast} (and FIRST_RING), same answers. */
  private void resize(Window w, int atLeast) {
    int size = FIRST_RING;
    while (size < atLeast) size <<= 1;
    if (size == w.ring.length) return;
    Answer[] ring = new Answer[size];
    for (long s = w.base; s < w.next; s++) ring[(int) (s & (size - 1))] = w.ring[w.slot(s)];
    w.ring = ring;
  }

  public int sessions() {
    return sessions.size();
  }

  /** Answers kept for {@code session}'s own requests (tests and memory figures). */
  public int kept(long session) {
    Window w = session(session);
    if (w == null) return 0;
    int n = 0;
    for (Answer a : w.ring) if (a != null) n++;
    return n;
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Every remembered answer, as keys and answers in the order {@link #record} takes them back:
   * retired sessions (their bound), then sessions least recently used first (each its lower bound,
   * if any, as an ESTALE answer, then its answers), then keyed and late answers.
   */
  public void forEach(java.util.function.BiConsumer<RequestKey, Answer> out) {
    for (Map.Entry<Long, Long> e : retired.entries()) out.accept(new RequestKey(e.getKey(), e.getValue()), FORGOTTEN);
    for (Map.Entry<Long, Window> e : sessions.entrySet()) {
      Window w = e.getValue();
      if (w.low != Long.MIN_VALUE) out.accept(new RequestKey(e.getKey(), w.low), FORGOTTEN);
      for (long s = w.base; s < w.next; s++) {
        Answer a = w.ring[w.slot(s)];
        if (a != null) out.accept(new RequestKey(e.getKey(), s), a);
      }
    }
    for (Map.Entry<Long, Keyed> e : keyed.entries()) {
      out.accept(new RequestKey(e.getKey(), e.getValue().fingerprint()), e.getValue().answer());
    }
    for (Map.Entry<RequestKey, Answer> e : late.entries()) out.accept(e.getKey(), e.getValue());
  }
}
