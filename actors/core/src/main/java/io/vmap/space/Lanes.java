package io.vmap.space;

/**
 * The SWAR arithmetic of a {@link ShardTree}'s class deficits: class {@code c}'s deficit is the
 * 16-bit lane {@code (c - 1) % 4} of word {@code (c - 1) / 4}, four words per entry, so that
 * {@code ShardTree.pullAug} adds and compares four classes at once. A deficit stays below 2^14 and
 * a sum of two below 2^15, which leaves each lane's top bit free for {@link #min}'s comparison.
 */
final class Lanes {

  private Lanes() {}

  /** Longs per entry. */
  static final int WORDS = (FreeShard.CLASSES + 3) / 4;

  /** 1 in every lane: {@code x * ONES} puts {@code x} in every lane. */
  static final long ONES = 0x0001000100010001L;

  /** The top bit of every lane. */
  private static final long TOPS = 0x8000800080008000L;

  /** Per word, each lane's largest deficit {@code 2^c - 1}; 0 in lanes past the last class. */
  static final long[] CAP = new long[WORDS];

  static {
    for (int c = 1; c <= FreeShard.CLASSES; c++) {
      CAP[(c - 1) >> 2] |= ((1L << c) - 1) << shift(c);
    }
  }

  static final long CAP0 = CAP[0];
  static final long CAP1 = CAP[1];
  static final long CAP2 = CAP[2];
  static final long CAP3 = CAP[3];

  /** The bit offset of class {@code c}'s lane in its word. */
  static int shift(int c) {
    return ((c - 1) & 3) << 4;
  }

  /** The lane-wise minimum of four 16-bit lanes, each below 2^15. */
  static long min(long a, long b) {
    long ge = ((a | TOPS) - b) & TOPS; // top bit set where a >= b; no lane borrows
    long pick = (ge >>> 15) * 0xffff;
    return (b & pick) | (a & ~pick);
  }
}
