package io.vmap.space;

/**
 * Reads a {@link FreeShard}'s entries in address order, for its {@code forEach} family: plain
 * blocks as they are, runs either member by member or as one entry, without expanding them.
 */
final class ShardWalk {

  private static final int NIL = ShardTree.NIL;

  private ShardWalk() {}

  /**
   * In-order walk of {@code t}'s entries with a block intersecting {@code [lo, hi)}, to one of two
   * visitors: {@code bv} gets every member of a run as a block, {@code rv} a run cut to its members
   * in range, as one call. O(log n + k), k the blocks (or entries) visited.
   */
  static void walk(ShardTree t, long lo, long hi, FreeShard.BlockVisitor bv, FreeShard.RunVisitor rv) {
    if (t.root == NIL || !Unsigned.lt(lo, hi)) return;
    // In-order walk from the first entry ending above lo. Ends are ordered like starts because
    // entries are disjoint, so the BST can be descended by end as well.
    int[] stack = new int[t.height(t.root)];
    int sp = 0;
    for (int n = t.root; n != NIL; ) {
      if (Unsigned.lt(lo, t.end(n))) {
        stack[sp++] = n;
        n = t.left(n);
      } else {
        n = t.right(n);
      }
    }
    while (sp > 0) {
      int n = stack[--sp];
      long s = t.start(n);
      if (!Unsigned.lt(s, hi)) return;
      if (t.shape(n) == 0) {
        if (bv != null) bv.visit(s, t.end(n));
        else rv.visit(s, t.end(n) - s, 0, 1);
      } else {
        long w = t.width(n);
        long st = t.stride(n);
        long k = t.count(n);
        // Members ending above lo, starting below hi.
        long j0 = Unsigned.lt(lo, s + w) ? 0 : Long.divideUnsigned(lo - s - w, st) + 1;
        long j1 = Math.min(k, Long.divideUnsigned(hi - 1 - s, st) + 1);
        if (bv != null) {
          for (long j = j0; j < j1; j++) bv.visit(s + j * st, s + j * st + w);
        } else if (j0 < j1) {
          rv.visit(s + j0 * st, w, j1 - j0 == 1 ? 0 : st, j1 - j0);
        }
        if (j1 < k) return;
      }
      for (int c = t.right(n); c != NIL; c = t.left(c)) stack[sp++] = c;
    }
  }
}
