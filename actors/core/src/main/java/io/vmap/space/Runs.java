package io.vmap.space;

/**
 * Runs of untouched zones inside a {@link ShardTree}: an entry of {@code count} members of
 * {@code width} bytes every {@code stride} bytes, the zones a node owns and has never touched, in
 * one entry. Members behave as blocks everywhere; this class cuts a member out of its run when an
 * allocation or a release touches it ({@link #isolate}, {@link #splitAfter}) and joins a block one
 * member wide back to its neighbours ({@link #rejoin}), so that a node's memory follows its live
 * areas, not its history. Invariants (checked by {@link ShardChecker}): a run has at least two
 * members, a shape of {@link RunShapes}, and its entry's end is its last member's end.
 */
final class Runs {

  private static final int NIL = ShardTree.NIL;

  private final ShardTree t;
  private final RunShapes shapes;

  Runs(ShardTree t) {
    this.t = t;
    this.shapes = t.shapes;
  }

  /**
   * The lowest member index {@code >= jmin} of run {@code n} holding a fit of {@code size} aligned
   * to {@code align} (at its start: members start at multiples of their width), or -1.
   */
  long memberFit(int n, long jmin, long size, long align) {
    int sh = t.shape(n);
    long w = shapes.width[sh];
    if (Unsigned.lt(w, size)) return -1;
    long k = t.count(n);
    if (!Unsigned.lt(jmin, k)) return -1;
    if (Unsigned.le(align, w)) return jmin;
    return shapes.alignedMember(t.start(n), sh, jmin, k, Long.numberOfTrailingZeros(align));
  }

  /** Entry {@code n} keeps its first {@code k} members (a block if {@code k == 1}). */
  private void keepMembers(int n, long k) {
    int sh = t.shape(n);
    long w = shapes.width[sh];
    if (k == 1) {
      t.setEnd(n, t.start(n) + w);
      t.setShape(n, 0);
    } else {
      t.setEnd(n, t.start(n) + (k - 1) * shapes.stride[sh] + w);
    }
  }

  /** Inserts {@code k} members of shape {@code sh} from {@code s}: a run, or a block if one. */
  private int insertMembers(long s, int sh, long k) {
    long w = shapes.width[sh];
    if (k == 1) return t.insertEntry(s, s + w, 0);
    return t.insertEntry(s, s + (k - 1) * shapes.stride[sh] + w, sh);
  }

  /**
   * Cuts member {@code j} of run {@code n} out as a block of its own and returns its slot; the
   * members before and after it stay runs (or blocks, if one is left). No free space changes.
   * O(log n).
   */
  int isolate(int n, long j) {
    int sh = t.shape(n);
    long s = t.start(n);
    long st = shapes.stride[sh];
    long k = t.count(n);
    long ms = s + j * st;
    if (j == 0) {
      t.setEnd(n, s + shapes.width[sh]);
      t.setShape(n, 0);
      t.refresh(s);
      insertMembers(s + st, sh, k - 1);
      return n;
    }
    keepMembers(n, j);
    t.refresh(s);
    int y = t.insertEntry(ms, ms + shapes.width[sh], 0);
    if (j < k - 1) insertMembers(ms + st, sh, k - 1 - j);
    return y;
  }

  /** Run {@code n} keeps members {@code 0..j}; the rest become a new entry, returned. */
  int splitAfter(int n, long j) {
    int sh = t.shape(n);
    long s = t.start(n);
    long k = t.count(n);
    keepMembers(n, j + 1);
    t.refresh(s);
    return insertMembers(s + (j + 1) * shapes.stride[sh], sh, k - 1 - j);
  }

  /**
   * Block {@code z}, just released or merged, joins its neighbours if it is exactly one member of
   * a run shape past the entry before it, or before the entry after it: that entry being a run of
   * the shape, or a block as wide at a start that a run could have (so zones freed whole in any
   * order come together again). When it fits both, the three become one run. Only shapes the shard
   * already has are used; a shard built without runs never gets one. O(log n).
   */
  void rejoin(int z) {
    long zs = t.start(z);
    long ze = t.end(z);
    long w = ze - zs;
    if (Long.bitCount(w) != 1 || (zs & (w - 1)) != 0) return;
    int p = zs == 0 ? NIL : t.floor(zs - 1);
    int q = t.higher(zs);
    int intoP = joinShape(p, w, zs, true);
    int intoQ = joinShape(q, w, zs, false);
    if (intoP != 0 && intoQ != 0 && intoP == intoQ) {
      long qEnd = t.end(q);
      t.remove(zs);
      t.remove(t.start(q));
      t.setEnd(p, qEnd);
      t.setShape(p, intoP);
      t.refresh(t.start(p));
    } else if (intoP != 0) {
      t.remove(zs);
      t.setEnd(p, ze);
      t.setShape(p, intoP);
      t.refresh(t.start(p));
    } else if (intoQ != 0) {
      t.remove(zs);
      t.setStart(q, zs); // q's predecessor ends below zs: the order holds
      t.setShape(q, intoQ);
      t.refresh(zs);
    }
  }

  /**
   * The shape with which a block of width {@code w} at {@code zs} extends entry {@code n} (which
   * lies before it if {@code before}, else after it), or 0.
   */
  private int joinShape(int n, long w, long zs, boolean before) {
    if (n == NIL) return 0;
    int sh = t.shape(n);
    if (sh != 0) {
      if (shapes.width[sh] != w) return 0;
      long st = shapes.stride[sh];
      return (before ? t.end(n) - w + st == zs : t.start(n) - st == zs) ? sh : 0;
    }
    long s = t.start(n);
    if (t.end(n) - s != w || (s & (w - 1)) != 0) return 0;
    for (int i = 1; i <= shapes.count; i++) {
      if (shapes.width[i] != w) continue;
      long st = shapes.stride[i];
      if (before ? s + st == zs : s - st == zs) return i;
    }
    return 0;
  }
}
