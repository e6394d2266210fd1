package io.vmap.state;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Names one client request, so a retry gets the first answer and never a second effect.
 *
 * <p>A client's own requests are {@code (session, seq)}: its session id (random, top bit clear)
 * and a sequence number, increasing in the order the client sends to each node, so each node sees
 * a rising run per session ({@link ClientAnswers} keeps a window of it). A request with a caller-chosen id (an HTTP {@code
 * requestId}, {@code AllocOptions.requestId}) is keyed by a 128-bit hash of the operation and the
 * id ({@link #keyed}), with the session's top bit set: a one-request session of its own.
 */
public record RequestKey(long session, long seq) implements AnswerKey {

  private static final long KEYED = Long.MIN_VALUE;

  /** The key of caller-chosen id {@code id} for operation {@code op} ("alloc", "free"). */
  public static RequestKey keyed(String op, String id) {
    if (id == null || id.isEmpty()) throw new IllegalArgumentException("request id is empty");
    UUID h = UUID.nameUUIDFromBytes((op + '\0' + id).getBytes(StandardCharsets.UTF_8));
    return new RequestKey(h.getMostSignificantBits() | KEYED, h.getLeastSignificantBits());
  }

  /** A client session id: random, top bit clear. */
  public static long newSession(java.util.Random random) {
    return random.nextLong() & ~KEYED;
  }

  /** Whether this is a caller-chosen id's key rather than a session's sequence number. */
  public boolean keyed() {
    return session < 0;
  }

  @Override
  public String toString() {
    return keyed()
        ? "id:" + Long.toHexString(session & ~KEYED) + Long.toHexString(seq)
        : Long.toHexString(session) + "/" + seq;
  }
}
