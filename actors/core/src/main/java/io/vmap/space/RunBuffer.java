package io.vmap.space;

import java.util.Arrays;

/**
 * Builds a {@link FreeShard} from entries in address order in O(n): the validated lists of
 * {@link FreeShard#ofBlocks} and {@link FreeShard#ofRuns}, and the runs of
 * {@link FreeShard#of}. Touching entries are merged as they come; with a fold shape, whole zones
 * one stride apart are folded into runs.
 */
final class RunBuffer {
  static FreeShard ofBlocks(long[] starts, long[] ends, int n, int granule,
      long foldWidth, long foldStride) {
    if (n < 0 || n > starts.length || n > ends.length) {
      throw new IllegalArgumentException(
          "block count " + n + " does not fit arrays of " + starts.length + " and " + ends.length);
    }
    RunBuffer b = new RunBuffer(n);
    b.foldWidth = foldWidth;
    b.foldStride = foldStride;
    long prevEnd = 0;
    for (int i = 0; i < n; i++) {
      long s = starts[i];
      long e = ends[i];
      if (!Unsigned.lt(s, e)) {
        throw new IllegalArgumentException("block " + i + " " + FreeShard.range(s, e) + " is empty");
      }
      if (i > 0 && Unsigned.lt(s, prevEnd)) {
        throw new IllegalArgumentException("block " + i + " " + FreeShard.range(s, e)
            + " is not above the block before it, ending at " + Unsigned.hex(prevEnd));
      }
      b.add(s, e - s, 0, 1);
      prevEnd = e;
    }
    return b.build(granule);
  }

  static FreeShard ofRuns(long[] starts, long[] widths, long[] strides, long[] counts,
      int n, int granule) {
    if (n < 0 || n > starts.length || n > widths.length || n > strides.length
        || n > counts.length) {
      throw new IllegalArgumentException("entry count " + n + " does not fit arrays of "
          + starts.length + ", " + widths.length + ", " + strides.length + " and " + counts.length);
    }
    RunBuffer b = new RunBuffer(n);
    long prevEnd = 0;
    for (int i = 0; i < n; i++) {
      long s = starts[i];
      long w = widths[i];
      long p = strides[i];
      long k = counts[i];
      String what = "entry " + i + " at " + Unsigned.hex(s);
      if (k < 1) throw new IllegalArgumentException(what + ": count " + k + " is below 1");
      if (w == 0) throw new IllegalArgumentException(what + ": width is 0");
      long spanEnd;
      if (k == 1) {
        spanEnd = s + w;
        if (!Unsigned.lt(s, spanEnd)) {
          throw new IllegalArgumentException(what + ": width " + Unsigned.hex(w)
              + " passes 2^64 - 1");
        }
      } else {
        if (Long.bitCount(w) != 1) {
          throw new IllegalArgumentException(
              what + ": run width " + Unsigned.hex(w) + " is not a power of two");
        }
        if ((s & (w - 1)) != 0) {
          throw new IllegalArgumentException(
              what + ": run start is not a multiple of its width " + Unsigned.hex(w));
        }
        if ((p & (w - 1)) != 0 || !Unsigned.lt(w, p)) {
          throw new IllegalArgumentException(what + ": run stride " + Unsigned.hex(p)
              + " is not a multiple of its width " + Unsigned.hex(w) + " above it");
        }
        spanEnd = runEnd(s, w, p, k);
        if (spanEnd == 0) {
          throw new IllegalArgumentException(what + ": " + k + " members of stride "
              + Unsigned.hex(p) + " pass 2^64 - 1");
        }
      }
      if (i > 0 && Unsigned.lt(s, prevEnd)) {
        throw new IllegalArgumentException(what + " is not above the entry before it, ending at "
            + Unsigned.hex(prevEnd));
      }
      b.add(s, w, p, k);
      prevEnd = spanEnd;
    }
    return b.build(granule);
  }

  /**
   * End of the last member of a run, or 0 if it would pass 2^64 - 1 (0 is never a run's end).
   * Requires {@code k >= 2}, {@code 0 < w < p}.
   */
  private static long runEnd(long s, long w, long p, long k) {
    long n = k - 1;
    if (Unsigned.lt(Long.divideUnsigned(-1L, p), n)) return 0;
    long last = s + n * p;
    if (Unsigned.lt(last, s)) return 0;
    long e = last + w;
    return Unsigned.lt(last, e) ? e : 0;
  }

  long[] starts;
  long[] widths;
  long[] strides;
  long[] counts;
  int n;
  /** Nonzero: a block of this width at its start plus foldStride of the last one extends it. */
  long foldWidth;
  long foldStride;

  RunBuffer() {
    this(4);
  }

  RunBuffer(int capacity) {
    int c = Math.max(4, capacity);
    starts = new long[c];
    widths = new long[c];
    strides = new long[c];
    counts = new long[c];
  }

  private long spanEnd(int i) {
    return starts[i] + (counts[i] - 1) * strides[i] + widths[i];
  }

  /** Appends a valid entry that starts at or above the end of the last one. */
  void add(long s, long w, long p, long k) {
    if (k == 1) p = 0;
    if (n == 0 || spanEnd(n - 1) != s) {
      if (!fold(s, w, k)) push(s, w, p, k);
      return;
    }
    // Touching: the last member before s and the first member from s become one block.
    int last = n - 1;
    long mergedStart;
    if (counts[last] > 1) {
      counts[last]--;
      mergedStart = starts[last] + counts[last] * strides[last];
      if (counts[last] == 1) strides[last] = 0;
    } else {
      mergedStart = starts[last];
      n--;
    }
    push(mergedStart, s + w - mergedStart, 0, 1);
    if (k > 1) push(s + p, w, k == 2 ? 0 : p, k - 1);
  }

  /** Folds a block into the last entry if it is that entry's next member; whether it did. */
  private boolean fold(long s, long w, long k) {
    if (foldWidth == 0 || k != 1 || w != foldWidth || (s & (w - 1)) != 0 || n == 0) {
      return false;
    }
    int last = n - 1;
    if (widths[last] != w || (starts[last] & (w - 1)) != 0) return false;
    if (counts[last] > 1 && strides[last] != foldStride) return false;
    if (spanEnd(last) - w + foldStride != s) return false;
    strides[last] = foldStride;
    counts[last]++;
    return true;
  }

  private void push(long s, long w, long p, long k) {
    if (n == starts.length) {
      int c = n * 2;
      starts = Arrays.copyOf(starts, c);
      widths = Arrays.copyOf(widths, c);
      strides = Arrays.copyOf(strides, c);
      counts = Arrays.copyOf(counts, c);
    }
    starts[n] = s;
    widths[n] = w;
    strides[n] = p;
    counts[n] = k;
    n++;
  }

  FreeShard build(int granule) {
    int g = granule;
    for (int i = 0; i < n; i++) {
      g = Math.min(g, Math.min(Long.numberOfTrailingZeros(starts[i]),
          Long.numberOfTrailingZeros(widths[i])));
    }
    ShardTree t = new ShardTree(Math.max(ShardTree.INITIAL_CAPACITY, n + 1), g);
    long blocks = 0;
    long bytes = 0;
    for (int i = 0; i < n; i++) {
      int slot = i + 1;
      t.setStart(slot, starts[i]);
      t.setEnd(slot, spanEnd(i));
      if (counts[i] > 1) t.setShape(slot, t.shapes.index(widths[i], strides[i]));
      blocks += counts[i];
      bytes += counts[i] * widths[i];
    }
    t.used = n + 1;
    t.entries = n;
    t.root = t.build(1, n);
    return new FreeShard(t, blocks, bytes);
  }
}
