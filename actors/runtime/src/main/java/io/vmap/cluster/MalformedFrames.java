package io.vmap.cluster;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which malformed frames from a peer to log: the first from each sender, then at most one line per
 * sender and interval, which counts the frames dropped since. A peer with a broken serializer (or a
 * hostile one) sends thousands a second; one line per frame would bury the log and cost a stack
 * trace each. Pure bookkeeping, no clock of its own (times come in as nanoseconds), not
 * thread-safe: used by one logger actor.
 */
final class MalformedFrames {

  /** What to do with one malformed frame. */
  record Verdict(boolean log, boolean first, long droppedSince, long sinceNanos) {
    static final Verdict QUIET = new Verdict(false, false, 0, 0);
  }

  private static final class Sender {
    long lastLogged;
    long unlogged;
  }

  /** Senders remembered at most; the least recently seen is forgotten (and logged afresh). */
  static final int MAX_SENDERS = 1024;

  private final long intervalNanos;
  private final Map<String, Sender> senders =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Sender> eldest) {
          return size() > MAX_SENDERS;
        }
      };

  MalformedFrames(Duration interval) {
    if (interval.isNegative()) throw new IllegalArgumentException("interval " + interval + " < 0");
    this.intervalNanos = interval.toNanos();
  }

  /** A frame from {@code sender} that could not be read, at {@code nowNanos}. */
  Verdict offer(String sender, long nowNanos) {
    Sender s = senders.get(sender);
    if (s == null) {
      s = new Sender();
      s.lastLogged = nowNanos;
      senders.put(sender, s);
      return new Verdict(true, true, 0, 0);
    }
    long since = nowNanos - s.lastLogged;
    if (since < intervalNanos) {
      s.unlogged++;
      return Verdict.QUIET;
    }
    Verdict v = new Verdict(true, false, s.unlogged + 1, since);
    s.lastLogged = nowNanos;
    s.unlogged = 0;
    return v;
  }
}
