package io.vmap.space;

import java.util.Arrays;

/**
 * The run shapes of one {@link FreeShard}: index 1..{@link #count} of (width, stride) pairs (0 in a
 * tree entry means "a plain block"), and the arithmetic that finds the members of a run starting at
 * aligned addresses without a walk. Invariants: a width is a power of two, a stride is a multiple
 * of its width and above it; a shard has at most {@link #MAX} shapes, so an index fits an unsigned
 * byte; {@code strideTz} and {@code inverse} are the stride's trailing zeros and the inverse of
 * its odd part modulo 2^64.
 */
final class RunShapes {

  /** Distinct (width, stride) run shapes per shard: a shape index is one unsigned byte. */
  static final int MAX = 255;

  long[] width = new long[4];
  long[] stride = new long[4];
  private int[] strideTz = new int[4];
  /** Inverse of the stride's odd part modulo 2^64, to solve for aligned members. */
  private long[] inverse = new long[4];
  /** Shapes in use: indices 1..count. */
  int count;

  /** The index of shape (w, p), added if new. */
  int index(long w, long p) {
    for (int i = 1; i <= count; i++) {
      if (width[i] == w && stride[i] == p) return i;
    }
    if (count == MAX) {
      throw new IllegalArgumentException("more than " + MAX + " run shapes; width "
          + Unsigned.hex(w) + " stride " + Unsigned.hex(p) + " is one too many");
    }
    int i = ++count;
    if (i == width.length) {
      int next = Math.min(MAX + 1, i * 2);
      width = Arrays.copyOf(width, next);
      stride = Arrays.copyOf(stride, next);
      strideTz = Arrays.copyOf(strideTz, next);
      inverse = Arrays.copyOf(inverse, next);
    }
    width[i] = w;
    stride[i] = p;
    int t = Long.numberOfTrailingZeros(p);
    strideTz[i] = t;
    long q = p >>> t;
    long inv = q; // Newton's iteration: correct to 3, 6, 12, 24, 48, 96 bits
    for (int r = 0; r < 5; r++) inv *= 2 - q * inv;
    inverse[i] = inv;
    return i;
  }

  /**
   * The lowest member index {@code j} in {@code [jmin, k)} of a run starting at {@code s}, of shape {@code sh},
   * whose start {@code s + j * stride} is a multiple of {@code 2^bits}, or -1. By arithmetic: with
   * {@code stride = 2^t * q}, {@code q} odd, no member qualifies unless {@code 2^t} divides
   * {@code s} (when {@code bits > t}), and then exactly the {@code j} with
   * {@code j = -(s >> t) * q^-1 (mod 2^(bits - t))}.
   */
  long alignedMember(long s, int sh, long jmin, long k, int bits) {
    if (!Unsigned.lt(jmin, k)) return -1;
    int t = strideTz[sh];
    if (bits <= t) return (s & ((1L << bits) - 1)) == 0 ? jmin : -1;
    if ((s & ((1L << t) - 1)) != 0) return -1;
    long mask = (1L << (bits - t)) - 1; // bits <= 63
    long r = (-(s >>> t) * inverse[sh]) & mask;
    long j = jmin + ((r - jmin) & mask);
    return Unsigned.lt(j, k) ? j : -1;
  }

  /** Bytes of heap the shape tables take, for {@link FreeShard#footprintBytes()}. */
  long footprintBytes() {
    return width.length * (8 + 8 + 4 + 8L) + 4 * 16;
  }
}
