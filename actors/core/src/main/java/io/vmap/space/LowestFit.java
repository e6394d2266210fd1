package io.vmap.space;

/**
 * The kernel's {@code find_vmap_lowest_match} over a {@link FreeShard}'s tree and runs of untouched
 * zones: the lowest address of {@code [lo, hi)} where {@code size} bytes aligned to {@code align}
 * fit. Exact in O(log n) for aligns the alignment classes cover ({@link ShardTree}'s deficits
 * steer the descent, as {@code subtree_max_size} does for size alone); above them each near miss
 * costs one more descent. Reads the tree, never changes it.
 */
final class LowestFit {

  private static final int NIL = ShardTree.NIL;

  private final ShardTree t;
  private final Runs runs;
  /** The address picked by the last {@link #search}; valid only when it returned a slot. */
  long found;

  LowestFit(ShardTree t, Runs runs) {
    this.t = t;
    this.runs = runs;
  }


  /**
   * The entry holding the lowest fit (see {@link FreeShard#findLowest}), with the address in
   * {@link #found}, or NIL.
   */
  int search(long size, long align, long lo, long hi) {
    if (Unsigned.lt(t.maxSize(t.root), size) || !Unsigned.lt(lo, hi) || Unsigned.lt(hi - lo, size)) {
      return NIL;
    }
    int c = Long.numberOfTrailingZeros(align) - t.granule;
    boolean exact = c <= t.live;
    int fc = exact ? c : t.live; // the class steering the descent; <= 0: sizes alone
    // A fit anywhere, even clipped at lo, is a fit of its unclipped block.
    if (fc > 0 && !t.subtreeFits(t.root, fc, size)) return NIL;
    for (long key = lo; ; ) {
      // The entry straddling key is the only one usable clipped; all others start above key.
      int b = t.floor(key);
      if (b != NIL && Unsigned.lt(key, t.end(b))) {
        if (t.shape(b) == 0) {
          long a = Unsigned.alignUp(key, align);
          // Any later block has an aligned start >= a: if this end is out of bounds, theirs is too.
          if (!endsBelow(a, size, hi)) return NIL;
          if (Unsigned.le(a + size, t.end(b))) {
            found = a;
            return b;
          }
        } else {
          long s = t.start(b);
          long st = t.stride(b);
          long j = Long.divideUnsigned(key - s, st);
          long me = s + j * st + t.width(b);
          if (Unsigned.lt(key, me)) { // key is inside member j
            long a = Unsigned.alignUp(key, align);
            if (!endsBelow(a, size, hi)) return NIL;
            if (Unsigned.le(a + size, me)) {
              found = a;
              return b;
            }
          }
          long m = runs.memberFit(b, j + 1, size, align);
          if (m >= 0) {
            long a = s + m * st;
            if (!endsBelow(a, size, hi)) return NIL;
            found = a;
            return b;
          }
        }
      }
      int x = t.firstFitAbove(key, size, fc);
      if (x == NIL) return NIL;
      long a;
      if (t.shape(x) == 0) {
        a = Unsigned.alignUp(t.start(x), align);
        if (!endsBelow(a, size, hi)) return NIL;
        if (Unsigned.le(a + size, t.end(x))) {
          found = a;
          return x;
        }
      } else {
        long m = runs.memberFit(x, 0, size, align);
        if (m >= 0) {
          a = t.start(x) + m * t.stride(x);
          if (!endsBelow(a, size, hi)) return NIL;
          found = a;
          return x;
        }
      }
      if (exact) {
        throw new IllegalStateException("class " + c + " deficits promised a fit of "
            + Unsigned.hex(size) + " aligned to " + Unsigned.hex(align) + " in the entry at "
            + Unsigned.hex(t.start(x)) + ", which has none");
      }
      // A near miss above the classes: no fit before the next multiple of align past x.
      key = Unsigned.alignUp(t.end(x), align);
      if (!endsBelow(key, size, hi)) return NIL;
    }
  }

  /**
   * Whether an area of {@code size} bytes at {@code a} (from {@link Unsigned#alignUp}, so possibly
   * {@link Unsigned#OVERFLOW}) ends at or below {@code hi} without passing 2^64. Not
   * {@link Unsigned#addOrOverflow}: its marker is also the legal end 2^64 - 1. A start of
   * 2^64 - 1, legal or marker, never has room for a nonzero size.
   */
  private static boolean endsBelow(long a, long size, long hi) {
    if (a == Unsigned.OVERFLOW) return false;
    long e = a + size;
    return Unsigned.lt(a, e) && Unsigned.le(e, hi);
  }
}
