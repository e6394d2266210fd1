package io.vmap.space;

import java.util.Arrays;

/**
 * A free shard's entries as plain data, the way {@link FreeShard#forEachRun} gives them and {@link
 * FreeShard#ofRuns} takes them back: entry {@code i} is {@code counts[i]} blocks of {@code
 * widths[i]} bytes, the {@code j}-th at {@code starts[i] + j * strides[i]}; a plain block has count 1
 * (its stride is 0). A node's untouched zones are one run, so a shard of the 12.5 PiB five-level
 * space (hundreds of millions of zones) is a handful of entries here, where a list of blocks would
 * hold one per zone. What snapshots store and inspections report ({@code CompactSnapshot}, {@code
 * NodeReport}); readers that need blocks ask for members in a range ({@link #forEachMember}) or
 * count bytes by arithmetic ({@link #bytesIn}), never expanding a run whole.
 *
 * <p>The arrays are owned by the record: never changed after construction.
 */
public record FreeRuns(long[] starts, long[] widths, long[] strides, long[] counts) {

  /** No entries. */
  public static final FreeRuns NONE = new FreeRuns(new long[0], new long[0], new long[0], new long[0]);

  /**
   * @throws IllegalArgumentException if an array is missing or the lengths differ (naming them);
   *     the entries themselves are checked when a shard is built from them ({@link #toShard})
   */
  public FreeRuns {
    if (starts == null || widths == null || strides == null || counts == null) {
      throw new IllegalArgumentException("free runs: an array is missing");
    }
    if (widths.length != starts.length || strides.length != starts.length || counts.length != starts.length) {
      throw new IllegalArgumentException("free runs: " + starts.length + " starts, " + widths.length + " widths, "
          + strides.length + " strides and " + counts.length + " counts");
    }
  }

  /** Every entry of {@code shard}, in address order. O(entries), not O(blocks). */
  public static FreeRuns of(FreeShard shard) {
    Builder b = new Builder(shard.entryCount());
    shard.forEachRun(b::add);
    return b.build();
  }

  /**
   * The shard these entries describe, sized for {@code g}; see {@link FreeShard#ofRuns(Geometry,
   * long[], long[], long[], long[], int)}. O(entries).
   *
   * @throws IllegalArgumentException naming the first bad entry
   */
  public FreeShard toShard(Geometry g) {
    return FreeShard.ofRuns(g, starts, widths, strides, counts, starts.length);
  }

  /** Entries: plain blocks and runs. */
  public int size() {
    return starts.length;
  }

  /** Free blocks, each member of a run counted. */
  public long blocks() {
    long n = 0;
    for (long k : counts) n += k;
    return n;
  }

  /** Free bytes (unsigned). */
  public long bytes() {
    long n = 0;
    for (int i = 0; i < counts.length; i++) n += counts[i] * widths[i];
    return n;
  }

  /** The end of entry {@code i}'s last member. */
  public long end(int i) {
    return starts[i] + (counts[i] - 1) * strides[i] + widths[i];
  }

  /** Whether entry {@code i} is a run (two members or more) rather than a plain block. */
  public boolean isRun(int i) {
    return counts[i] > 1;
  }

  /** The plain blocks (count 1) alone, as {@code {starts, ends}}, in address order. */
  public long[][] plainBlocks() {
    int n = 0;
    for (long k : counts) if (k == 1) n++;
    long[] s = new long[n];
    long[] e = new long[n];
    int j = 0;
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] != 1) continue;
      s[j] = starts[i];
      e[j++] = starts[i] + widths[i];
    }
    return new long[][] {s, e};
  }

  /** The runs (count 2 or more) alone, in address order. */
  public FreeRuns runsOnly() {
    Builder b = new Builder(counts.length);
    for (int i = 0; i < counts.length; i++) if (counts[i] > 1) b.add(starts[i], widths[i], strides[i], counts[i]);
    return b.build();
  }

  /**
   * Bytes of entry {@code i}'s members inside {@code [lo, hi)} (members cut at the bounds). O(1):
   * by arithmetic, whatever the count.
   */
  public long bytesIn(int i, long lo, long hi) {
    long[] j = membersIn(i, lo, hi);
    if (j == null) return 0;
    long w = widths[i];
    long st = strides[i];
    long sum = (j[1] - j[0]) * w;
    long first = starts[i] + j[0] * st;
    if (Unsigned.lt(first, lo)) sum -= lo - first;
    long lastEnd = starts[i] + (j[1] - 1) * st + w;
    if (lastEnd == 0 || Unsigned.lt(hi, lastEnd)) sum -= lastEnd - hi; // lastEnd 0: 2^64
    return sum;
  }

  /**
   * Member indices {@code {j0, j1}} of entry {@code i} intersecting {@code [lo, hi)}, {@code j0 <
   * j1}, or null if none.
   */
  public long[] membersIn(int i, long lo, long hi) {
    if (!Unsigned.lt(lo, hi)) return null;
    long s = starts[i];
    long w = widths[i];
    long k = counts[i];
    long e = end(i); // 0: the entry ends at 2^64
    if (!Unsigned.lt(s, hi) || (e != 0 && !Unsigned.lt(lo, e))) return null;
    if (k == 1) return new long[] {0, 1};
    long st = strides[i];
    long j0 = Unsigned.lt(lo, s + w) ? 0 : Long.divideUnsigned(lo - s - w, st) + 1;
    long j1 = Math.min(k, Long.divideUnsigned(hi - 1 - s, st) + 1);
    return j0 < j1 ? new long[] {j0, j1} : null;
  }

  /**
   * Entry {@code i}'s members intersecting {@code [lo, hi)}, each with its own (unclipped) bounds, in
   * address order, at most {@code limit} of them: O(limit), whatever the count.
   *
   * @return how many were visited
   */
  public long forEachMember(int i, long lo, long hi, long limit, FreeShard.BlockVisitor v) {
    long[] j = membersIn(i, lo, hi);
    if (j == null) return 0;
    long n = 0;
    for (long m = j[0]; m < j[1] && n < limit; m++, n++) {
      long ms = starts[i] + m * strides[i];
      v.visit(ms, ms + widths[i]);
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FreeRuns r && Arrays.equals(starts, r.starts) && Arrays.equals(widths, r.widths)
        && Arrays.equals(strides, r.strides) && Arrays.equals(counts, r.counts);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(starts) * 31 + Arrays.hashCode(counts);
  }

  @Override
  public String toString() {
    return "FreeRuns[" + starts.length + " entries, " + blocks() + " blocks, " + Long.toUnsignedString(bytes())
        + " bytes]";
  }

  /** Collects entries in address order. */
  public static final class Builder {
    private long[] s;
    private long[] w;
    private long[] p;
    private long[] k;
    private int n;

    public Builder(int capacity) {
      int c = Math.max(4, capacity);
      s = new long[c];
      w = new long[c];
      p = new long[c];
      k = new long[c];
    }

    /** Appends one entry (a plain block: {@code count == 1}, stride ignored). */
    public void add(long start, long width, long stride, long count) {
      if (n == s.length) {
        int c = n * 2;
        s = Arrays.copyOf(s, c);
        w = Arrays.copyOf(w, c);
        p = Arrays.copyOf(p, c);
        k = Arrays.copyOf(k, c);
      }
      s[n] = start;
      w[n] = width;
      p[n] = count == 1 ? 0 : stride;
      k[n++] = count;
    }

    public FreeRuns build() {
      return new FreeRuns(Arrays.copyOf(s, n), Arrays.copyOf(w, n), Arrays.copyOf(p, n), Arrays.copyOf(k, n));
    }
  }
}
