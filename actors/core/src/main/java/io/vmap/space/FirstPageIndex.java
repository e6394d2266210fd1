package io.vmap.space;

/**
 * {@link BusyTree}'s first-page index: an open-addressing table (linear probing, load at most 1/2,
 * 4 bytes per entry) from the page holding an area's start to the area's slot in the tree. A lookup
 * of an address in an area's first page (the common case: callers look areas up by the address
 * they were given, as the kernel's {@code find_vmap_area} callers do) is one probe run and one slot
 * instead of a walk of every tree level, each a cache miss once the tree outgrows the cache.
 *
 * <p>An entry is the slot number, with the sign bit set when the area has a tag: a reader of an
 * untagged area (the common case) never touches the tag array, one cache miss less.
 *
 * <p>One writer (the tree's owner, under its write lock); readers on other threads through {@link
 * #slotContaining}, which is bounded and bounds-checked so a torn read ends (the tree's seqlock
 * validation then discards it). Invariant: every live slot has exactly one entry, in the probe run
 * of its start's page; a table is filled before it is published.
 */
final class FirstPageIndex {

  static final int NIL = 0;
  /** Set in an entry whose area has a tag. */
  static final int TAGGED = 0x8000_0000;
  /** An entry's slot number. */
  static final int SLOT = 0x7fff_ffff;

  /** {@code -page}: an area is keyed by {@code start & pageMask}. */
  private final long pageMask;
  private final int pageShift;
  /** Entries, NIL = empty; a power of two, at most half full. */
  private int[] table = new int[16];
  private int count;

  /** @param page a positive power of two (checked by the tree) */
  FirstPageIndex(long page) {
    pageMask = -page;
    pageShift = Long.numberOfTrailingZeros(page);
  }

  private int home(long start, int mask) {
    return (int) ((((start & pageMask) >>> pageShift) * 0x9E3779B97F4A7C15L) >>> 32) & mask;
  }

  /**
   * The entry (slot and {@link #TAGGED} bit) of the area that starts in {@code addr}'s page and
   * contains {@code addr}, or NIL. Any thread: {@code sl} is the slot array the caller read (start
   * at {@code sl[stride * slot]}, end next to it); every index is checked against it and the run is
   * bounded by the table's length.
   */
  int slotContaining(long[] sl, int stride, long addr) {
    int[] t = table;
    int mask = t.length - 1;
    long key = addr & pageMask;
    for (int i = home(addr, mask), probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
      int e = t[i];
      if (e == NIL) return NIL;
      long at = (long) (e & SLOT) * stride;
      if (at + 1 >= sl.length) return NIL;
      long st = sl[(int) at];
      if ((st & pageMask) == key && Unsigned.le(st, addr) && Unsigned.lt(addr, sl[(int) at + 1])) return e;
    }
    return NIL;
  }

  /** The slot of the area starting exactly at {@code start}, or NIL (owner). */
  int slotStartingAt(long[] sl, int stride, long start) {
    int[] t = table;
    int mask = t.length - 1;
    for (int i = home(start, mask); t[i] != NIL; i = (i + 1) & mask) {
      int s = t[i] & SLOT;
      if (sl[s * stride] == start) return s;
    }
    return NIL;
  }

  /** Adds slot {@code s}, whose area starts at {@code start} (owner, under the write lock). */
  void put(int s, long start, boolean tagged, long[] sl, int stride) {
    if (2L * (count + 1) > table.length) {
      // Filled before published: a reader sees the old table or the whole new one.
      int[] old = table;
      int[] bigger = new int[old.length * 2];
      for (int e : old) if (e != NIL) place(bigger, e, sl[(e & SLOT) * stride]);
      table = bigger;
    }
    place(table, tagged ? s | TAGGED : s, start);
    count++;
  }

  private void place(int[] t, int e, long start) {
    int mask = t.length - 1;
    int i = home(start, mask);
    while (t[i] != NIL) i = (i + 1) & mask;
    t[i] = e;
  }

  /** Removes slot {@code s}, whose area starts at {@code start} (owner, under the write lock): backward shift. */
  void remove(int s, long start, long[] sl, int stride) {
    int[] t = table;
    int mask = t.length - 1;
    int i = home(start, mask);
    while ((t[i] & SLOT) != s) i = (i + 1) & mask;
    // Close the gap: move later entries of the run back unless their home is in (i, j].
    for (int j = (i + 1) & mask; t[j] != NIL; j = (j + 1) & mask) {
      int h = home(sl[(t[j] & SLOT) * stride], mask);
      boolean stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (!stays) {
        t[i] = t[j];
        i = j;
      }
    }
    t[i] = NIL;
    count--;
  }

  int size() {
    return count;
  }

  /** Table length: entries plus empty ones (memory accounting, tests). */
  int capacity() {
    return table.length;
  }
}
