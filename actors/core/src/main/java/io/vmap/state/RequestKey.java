package io.vmap.state;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Names one client request, so a retry gets the first answer and never a second effect.
 *
 * <p>A client's own requests are {@code (session, seq)}: a session id (random, top bit clear; a
 * {@code VmapClient} has one per node it talks to) and a sequence number, rising by one per request
 * to that node, so each node sees a dense run per session ({@link ClientAnswers} keeps the answers
 * its client still waits for). A request with a caller-chosen id (an HTTP {@code requestId}, {@code
 * AllocOptions.requestId}) is keyed by a hash of the operation and the id in {@code session}, top
 * bit set (a one-request session of its own), and a fingerprint of the request's parameters in
 * {@code seq} ({@link #keyed(String, String, long)}): a node that already answered the id for other
 * parameters refuses the request (EEXIST) instead of answering it with the first request's answer.
 */
public record RequestKey(long session, long seq) implements AnswerKey {

  private static final long KEYED = Long.MIN_VALUE;
  /** Fingerprints have their top two bits clear; a key made without one (a UUID's low half) has 10. */
  private static final long FINGERPRINT_BITS = 0x3FFF_FFFF_FFFF_FFFFL;

  /**
   * The key of caller-chosen id {@code id} for operation {@code op} ("alloc", "free") without a
   * fingerprint of its parameters: a node answers it with the id's first answer whatever that was
   * for (keys stored before fingerprints existed read the same way).
   */
  public static RequestKey keyed(String op, String id) {
    UUID h = hash(op, id);
    return new RequestKey(h.getMostSignificantBits() | KEYED, h.getLeastSignificantBits());
  }

  /**
   * The key of caller-chosen id {@code id} for operation {@code op}, for a request whose parameters
   * have {@code fingerprint} ({@link #fingerprint(AllocSpec)}, {@link #fingerprint(long)}).
   */
  public static RequestKey keyed(String op, String id, long fingerprint) {
    return new RequestKey(hash(op, id).getMostSignificantBits() | KEYED, fingerprint & FINGERPRINT_BITS);
  }

  private static UUID hash(String op, String id) {
    if (id == null || id.isEmpty()) throw new IllegalArgumentException("request id is empty");
    return UUID.nameUUIDFromBytes((op + '\0' + id).getBytes(StandardCharsets.UTF_8));
  }

  /** What an allocation asks for: size, align, range, home node, tag, policy and tenant. */
  public static long fingerprint(AllocSpec s) {
    long h = mix(0x9E37_79B9_7F4A_7C15L, s.size());
    h = mix(h, s.align());
    h = mix(h, s.lo());
    h = mix(h, s.hi());
    h = mix(h, s.home());
    h = mix(h, s.policy() == null ? -1 : s.policy().ordinal());
    h = mix(h, text(s.tag()));
    return mix(h, text(s.tenant())) & FINGERPRINT_BITS;
  }

  /** What a free asks for: its address. */
  public static long fingerprint(long addr) {
    return mix(0xC2B2_AE3D_27D4_EB4FL, addr) & FINGERPRINT_BITS;
  }

  /** Whether two keys of one id name the same request (a key without a fingerprint matches any). */
  public boolean sameRequest(long otherSeq) {
    return seq == otherSeq || unfingerprinted(seq) || unfingerprinted(otherSeq);
  }

  private static boolean unfingerprinted(long seq) {
    return (seq & ~FINGERPRINT_BITS) != 0;
  }

  private static long text(String s) {
    if (s == null) return 0;
    long h = 0xCBF2_9CE4_8422_2325L; // FNV-1a over the UTF-16 units
    for (int i = 0; i < s.length(); i++) h = (h ^ s.charAt(i)) * 0x100_0000_01B3L;
    return h;
  }

  /** One step of a 64-bit hash (Stafford's mix of SplitMix64). */
  private static long mix(long h, long v) {
    long z = h ^ (v + 0x9E37_79B9_7F4A_7C15L + (h << 6) + (h >>> 2));
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
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
