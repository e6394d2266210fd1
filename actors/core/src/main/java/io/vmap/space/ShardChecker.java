package io.vmap.space;

import java.util.Arrays;

/**
 * Verifies every invariant of a {@link FreeShard} and its {@link ShardTree}, for tests, in O(n):
 * the NIL slot, the granule and its limits, order with no overlap and no touching neighbours, run
 * shapes, {@code subtree_max_size}, class deficits, AVL balance and heights, the cached counts and
 * the slot pool. Throws {@link IllegalStateException} describing the first broken one.
 */
final class ShardChecker {
static void check(ShardTree t, long blocks, long bytes) {
  if (t.height(ShardTree.NIL) != 0 || t.maxSize(ShardTree.NIL) != 0 || t.left(ShardTree.NIL) != ShardTree.NIL || t.right(ShardTree.NIL) != ShardTree.NIL
      || t.shape(ShardTree.NIL) != 0) {
    throw new IllegalStateException("the ShardTree.NIL slot was written to");
  }
  for (int w = 0; w < ShardTree.WORDS; w++) {
    if (t.augWord(ShardTree.NIL, w) != Lanes.CAP[w]) {
      throw new IllegalStateException("the ShardTree.NIL slot's class deficits changed");
    }
  }
  if (t.live != Math.max(0, Math.min(FreeShard.CLASSES, 63 - t.granule))
      || t.capMax != ((1L << t.live) - 1) << t.granule) {
    throw new IllegalStateException("t.granule " + t.granule + " and its limits disagree");
  }
  ShardChecker c = new ShardChecker(t);
  c.check(t.root, 0);
  if (c.visited != t.entries) {
    throw new IllegalStateException(
        "tree holds " + c.visited + " t.entries but the cached count is " + t.entries);
  }
  if (c.blocks != blocks) {
    throw new IllegalStateException(
        "tree holds " + c.blocks + " blocks but the cached count is " + blocks);
  }
  if (c.bytes != bytes) {
    throw new IllegalStateException("tree holds " + Long.toUnsignedString(c.bytes)
        + " free bytes but the cached total is " + Long.toUnsignedString(bytes));
  }
  int chained = 0;
  for (int s = t.freeSlots; s != ShardTree.NIL; s = t.left(s)) {
    if (++chained > t.used) throw new IllegalStateException("the free slot chain has a cycle");
  }
  if (chained + t.entries + 1 != t.used) {
    throw new IllegalStateException("slots leak: " + t.used + " t.used, " + t.entries
        + " in the tree, " + chained + " chained as free");
  }
}

  int visited;
  long blocks;
  long bytes;
  boolean hasPrev;
  long prevEnd;
  final long[] expect = new long[ShardTree.WORDS];
  private final ShardTree t;

  ShardChecker(ShardTree t) {
    this.t = t;
  }

  /** Returns the height of {@code n}'s subtree after checking it. */
  int check(int n, int depth) {
    if (n == ShardTree.NIL) return 0;
    if (depth > ShardTree.MAX_HEIGHT || n < 0 || n >= t.used) {
      throw new IllegalStateException("tree link to slot " + n + " at depth " + depth
          + " is out of the pool or the tree has a cycle");
    }
    int hl = check(t.left(n), depth + 1);
    long s = t.start(n);
    long e = t.end(n);
    if (!Unsigned.lt(s, e)) throw new IllegalStateException("empty entry " + FreeShard.range(s, e));
    long gmask = (1L << t.granule) - 1;
    int sh = t.shape(n);
    long k = 1;
    long self = e - s;
    if (sh != 0) {
      if (sh > t.shapes.count) throw new IllegalStateException("entry " + FreeShard.range(s, e) + " has no shape");
      long w = t.shapes.width[sh];
      long p = t.shapes.stride[sh];
      if (Long.bitCount(w) != 1 || (p & (w - 1)) != 0 || !Unsigned.lt(w, p)
          || (s & (w - 1)) != 0 || (w & gmask) != 0) {
        throw new IllegalStateException("run " + FreeShard.range(s, e) + " has a bad shape: width "
            + Unsigned.hex(w) + ", stride " + Unsigned.hex(p) + ", t.granule 2^" + t.granule);
      }
      if (Long.remainderUnsigned(e - s - w, p) != 0) {
        throw new IllegalStateException("run " + FreeShard.range(s, e) + " does not end at a member end");
      }
      k = t.count(n);
      if (k < 2) throw new IllegalStateException("run " + FreeShard.range(s, e) + " has one member");
      self = w;
    } else if ((s & gmask) != 0 || (e & gmask) != 0) {
      throw new IllegalStateException(
          "block " + FreeShard.range(s, e) + " is not a multiple of the t.granule 2^" + t.granule);
    }
    if (hasPrev && !Unsigned.lt(prevEnd, s)) {
      throw new IllegalStateException("entry " + FreeShard.range(s, e)
          + (prevEnd == s ? " touches" : " overlaps or is out of order with")
          + " the entry before it, ending at " + Unsigned.hex(prevEnd));
    }
    hasPrev = true;
    prevEnd = e;
    visited++;
    blocks += k;
    bytes += k * self;
    int hr = check(t.right(n), depth + 1);
    if (Math.abs(hl - hr) > 1) {
      throw new IllegalStateException("entry " + FreeShard.range(s, e) + " is out of balance: left height "
          + hl + ", right height " + hr);
    }
    int h = 1 + Math.max(hl, hr);
    if (t.height(n) != h) {
      throw new IllegalStateException(
          "entry " + FreeShard.range(s, e) + " caches height " + t.height(n) + ", real " + h);
    }
    long m = self;
    if (Unsigned.lt(m, t.maxSize(t.left(n)))) m = t.maxSize(t.left(n));
    if (Unsigned.lt(m, t.maxSize(t.right(n)))) m = t.maxSize(t.right(n));
    if (t.maxSize(n) != m) {
      throw new IllegalStateException("entry " + FreeShard.range(s, e) + " caches subtree_max_size "
          + Long.toUnsignedString(t.maxSize(n)) + ", real " + Long.toUnsignedString(m));
    }
    for (int w = 0; w < ShardTree.WORDS; w++) expect[w] = t.augWord(n, w);
    if (t.pullAug(n)) {
      long[] real = new long[ShardTree.WORDS];
      for (int w = 0; w < ShardTree.WORDS; w++) {
        real[w] = t.augWord(n, w);
        t.setAugWord(n, w, expect[w]);
      }
      throw new IllegalStateException("entry " + FreeShard.range(s, e) + " caches class deficits "
          + Arrays.toString(expect) + ", real " + Arrays.toString(real));
    }
    return h;
  }
}
