package io.vmap.space;

/**
 * {@link BusyTree}'s first-page index: an open-addressing table (linear probing, load at most 1/2,
 * 4 bytes per entry) from the page holding an area's start to the area's slot in the tree. A lookup
 * of an address in an area's first page (the common case: callers look areas up by the address
 * they were given, as the kernel's {@code find_vmap_area} callers do) is one probe run and one slot
 * instead of a walk of every tree level, each a cache miss once the tree outgrows the cache.
 *
 * <p>An entry is the slot number (28 bits), three bits of the key's hash and the sign bit set when
 * the area has a tag. The hash bits let a probe skip seven in eight entries of other pages without
 * loading their slots (each a cache miss), and a reader of an untagged area (the common case)
 * never touches the tag array.
 *
 * <p>{@link #floorEntry} also serves addresses past an area's first page and addresses in free
 * space near an area: it probes the address's page, then up to a few pages below it; the first
 * page holding a start at or below the address holds the tree's floor entry, so the tree walk is
 * needed only when no area starts within those pages.
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
  /** An entry's three bits of its key's hash (bits the home position does not use). */
  private static final int HASH_BITS = 0x7000_0000;
  /** An entry's slot number; also the most slots a tree may have. */
  static final int SLOT = 0x0fff_ffff;

  private final long page;
  /** {@code -page}: an area is keyed by {@code start & pageMask}. */
  private final long pageMask;
  private final int pageShift;
  /** Entries, NIL = empty; a power of two, at most half full. */
  private int[] table = new int[16];
  private int count;

  /** @param page a positive power of two (checked by the tree) */
  FirstPageIndex(long page) {
    this.page = page;
    pageMask = -page;
    pageShift = Long.numberOfTrailingZeros(page);
  }

  private long hash(long start) {
    return ((start & pageMask) >>> pageShift) * 0x9E3779B97F4A7C15L;
  }

  /** Where the probe run of a key with hash {@code h} starts (bits 32 to 59 of the hash). */
  private static int home(long h, int mask) {
    return (int) (h >>> 32) & mask;
  }

  /** The entry bits of a key with hash {@code h} (its top three bits). */
  private static int hashBits(long h) {
    return (int) (h >>> 33) & HASH_BITS;
  }

  /**
   * The entry (slot, hash bits and {@link #TAGGED} bit) of the area with the greatest start at or
   * below {@code addr} among the areas starting in {@code addr}'s page or the {@code pagesBack}
   * pages below it; NIL if none starts there. An entry found is the tree's floor entry of {@code
   * addr} (any area starting between it and {@code addr} would start in those pages too), so
   * {@code addr} is in its area or in no area.
   *
   * <p>Any thread: {@code sl} is the slot array the caller read (start at {@code sl[stride *
   * slot]}, end next to it); every index is checked against it and every run is bounded by the
   * table's length, so a torn read ends (with NIL or a wrong entry, which validation discards).
   */
  int floorEntry(long[] sl, int stride, long addr, int pagesBack) {
    int[] t = table;
    int mask = t.length - 1;
    long key = addr & pageMask;
    for (int back = 0; ; back++) {
      long h = hash(key);
      int bits = hashBits(h);
      int best = NIL;
      long bestStart = 0;
      for (int i = home(h, mask), probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
        int e = t[i];
        if (e == NIL) break;
        if ((e & HASH_BITS) != bits) continue;
        long at = (long) (e & SLOT) * stride;
        if (at + 1 >= sl.length) return NIL;
        long st = sl[(int) at];
        if ((st & pageMask) != key || Unsigned.lt(addr, st)) continue;
        if (Unsigned.lt(addr, sl[(int) at + 1])) return e; // contains addr: the floor, no need to look further
        if (best == NIL || Unsigned.lt(bestStart, st)) {
          best = e;
          bestStart = st;
        }
      }
      if (best != NIL || back == pagesBack || key == 0) return best;
      key -= page;
    }
  }

  /** The slot of the area starting exactly at {@code start}, or NIL (owner). */
  int slotStartingAt(long[] sl, int stride, long start) {
    int[] t = table;
    int mask = t.length - 1;
    long h = hash(start);
    int bits = hashBits(h);
    for (int i = home(h, mask); t[i] != NIL; i = (i + 1) & mask) {
      int s = t[i] & SLOT;
      if ((t[i] & HASH_BITS) == bits && sl[s * stride] == start) return s;
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
    if (s <= NIL || s > SLOT) throw new IllegalArgumentException("slot " + s + " is not in 1.." + SLOT);
    place(table, s | hashBits(hash(start)) | (tagged ? TAGGED : 0), start);
    count++;
  }

  private void place(int[] t, int e, long start) {
    int mask = t.length - 1;
    int i = home(hash(start), mask);
    while (t[i] != NIL) i = (i + 1) & mask;
    t[i] = e;
  }

  /** Removes slot {@code s}, whose area starts at {@code start} (owner, under the write lock): backward shift. */
  void remove(int s, long start, long[] sl, int stride) {
    int[] t = table;
    int mask = t.length - 1;
    int i = home(hash(start), mask);
    while ((t[i] & SLOT) != s) i = (i + 1) & mask;
    // Close the gap: move later entries of the run back unless their home is in (i, j].
    for (int j = (i + 1) & mask; t[j] != NIL; j = (j + 1) & mask) {
      int h = home(hash(sl[(t[j] & SLOT) * stride]), mask);
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
