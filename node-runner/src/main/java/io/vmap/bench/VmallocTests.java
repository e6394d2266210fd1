package io.vmap.bench;

import static io.vmap.bench.BenchTarget.NONE;
import static io.vmap.bench.Ops.FALSE;
import static io.vmap.bench.Ops.TRUE;

import io.vmap.bench.Ops.AsyncOps;
import io.vmap.bench.Ops.SyncOps;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The test cases of the kernel's lib/test_vmalloc.c, in its order (bit i of {@code
 * --run-test-mask} selects entry i), each written twice: once as direct calls ({@link SyncOps}),
 * once as chains of requests run through a window ({@link AsyncOps}). Both forms issue the same
 * requests with the same sizes and alignments; only the pipelining differs.
 *
 * <p>Ids 7-10 (pcpu_alloc_test, kvfree_rcu_*, vm_map_ram_test) exercise kernel subsystems that
 * have no counterpart here: they are listed so the mask bits keep their kernel meaning, and
 * skipped. Id 11, find_heavy_test, is ours: lookups against a long busy list.
 */
final class VmallocTests {

  private VmallocTests() {}

  /** One test case; {@code run*} is one repeat and returns whether it passed (the kernel's 0). */
  abstract static class Case {
    final int id;
    final String name;

    Case(int id, String name) {
      this.id = id;
      this.name = name;
    }

    boolean implemented() {
      return true;
    }

    abstract boolean runSync(SyncOps o);

    abstract boolean runAsync(AsyncOps o);
  }

  /** Kernel ids 7-10: present for the mask, not run. */
  private static final class NotApplicable extends Case {
    NotApplicable(int id, String name) {
      super(id, name);
    }

    @Override
    boolean implemented() {
      return false;
    }

    @Override
    boolean runSync(SyncOps o) {
      throw new UnsupportedOperationException(name);
    }

    @Override
    boolean runAsync(AsyncOps o) {
      throw new UnsupportedOperationException(name);
    }
  }

  /** Areas kept busy by long_busy_list_alloc_test and find_heavy_test (the kernel's 15000). */
  static final int LONG_BUSY = 15000;

  /** Every case, index = kernel id. */
  static final List<Case> ALL = List.of(
      new FixSize(), new FullFit(), new LongBusyList(), new RandomSize(), new FixAlign(),
      new RandomSizeAlign(), new AlignShift(),
      new NotApplicable(7, "pcpu_alloc_test"),
      new NotApplicable(8, "kvfree_rcu_1_arg_vmalloc_test"),
      new NotApplicable(9, "kvfree_rcu_2_arg_vmalloc_test"),
      new NotApplicable(10, "vm_map_ram_test"),
      new FindHeavy());

  /** Mask of the cases that run here. */
  static long implementedMask() {
    long m = 0;
    for (Case c : ALL) if (c.implemented()) m |= 1L << c.id;
    return m;
  }

  static Case byName(String name) {
    for (Case c : ALL) if (c.name.equals(name)) return c;
    return null;
  }

  private static CompletionStage<Boolean> allocFree(AsyncOps o, long size, long align) {
    return o.alloc(size, align, -1).thenCompose(p -> p == NONE ? FALSE : o.free(p));
  }

  private static boolean allocFree(SyncOps o, long size, long align) {
    long p = o.alloc(size, align, -1);
    return p != NONE && o.free(p);
  }

  private static long[] none(int n) {
    long[] a = new long[n];
    Arrays.fill(a, NONE);
    return a;
  }

  // ---------------------------------------------------------------------------------------- 0

  /** vmalloc((nr_pages > 0 ? nr_pages : 1) * PAGE_SIZE) then vfree, test_loop_count times. */
  static final class FixSize extends Case {
    FixSize() {
      super(0, "fix_size_alloc_test");
    }

    @Override
    boolean runSync(SyncOps o) {
      long size = (o.nrPages > 0 ? o.nrPages : 1) * o.page;
      for (int i = 0; i < o.loops; i++) if (!allocFree(o, size, o.page)) return false;
      return true;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      long size = (o.nrPages > 0 ? o.nrPages : 1) * o.page;
      return o.window(o.loops, i -> allocFree(o, size, o.page));
    }
  }

  // ---------------------------------------------------------------------------------------- 1

  /**
   * junk_length = fls(nodes) * 32 MiB / PAGE_SIZE pairs of one-page areas (ptr[i], junk[i]); the
   * junk ones are freed, leaving one-page holes (after a purge) for the loop's one-page
   * allocations to fit exactly. Both areas of pair i use affinity hint i, so on the embedded
   * target they are neighbours in one node's shard, as in the kernel's single free tree.
   */
  static final class FullFit extends Case {
    FullFit() {
      super(1, "full_fit_alloc_test");
    }

    @Override
    boolean runSync(SyncOps o) {
      int n = o.junkLength;
      long[] ptr = none(n);
      long[] junk = none(n);
      for (int i = 0; i < n; i++) {
        ptr[i] = o.alloc(o.page, o.page, i);
        junk[i] = o.alloc(o.page, o.page, i);
      }
      boolean ok = true;
      for (int i = 0; i < n; i++) if (junk[i] != NONE) ok &= o.free(junk[i]);
      for (int i = 0; ok && i < o.loops; i++) ok = allocFree(o, o.page, o.page);
      for (int i = 0; i < n; i++) if (ptr[i] != NONE) ok &= o.free(ptr[i]);
      return ok;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      int n = o.junkLength;
      long[] ptr = none(n);
      long[] junk = none(n);
      // Like the kernel, a failed setup allocation is not a failure (vfree(NULL) is a no-op).
      boolean ok = o.window(n, i -> o.alloc(o.page, o.page, i)
          .thenCompose(p -> {
            ptr[i] = p;
            return o.alloc(o.page, o.page, i);
          })
          .thenApply(q -> {
            junk[i] = q;
            return true;
          }));
      ok &= o.windowAll(n, i -> junk[i] == NONE ? TRUE : o.free(junk[i]));
      if (ok) ok = o.window(o.loops, i -> allocFree(o, o.page, o.page));
      ok &= o.windowAll(n, i -> ptr[i] == NONE ? TRUE : o.free(ptr[i]));
      return ok;
    }
  }

  // ---------------------------------------------------------------------------------------- 2

  /** 15000 one-page areas stay busy; each loop allocates 100 pages and 1 page, then frees both. */
  static final class LongBusyList extends Case {
    LongBusyList() {
      super(2, "long_busy_list_alloc_test");
    }

    @Override
    boolean runSync(SyncOps o) {
      long[] ptr = none(LONG_BUSY);
      for (int i = 0; i < LONG_BUSY; i++) ptr[i] = o.alloc(o.page, o.page, -1);
      boolean ok = true;
      for (int i = 0; ok && i < o.loops; i++) {
        long p1 = o.alloc(100 * o.page, o.page, -1);
        if (p1 == NONE) {
          ok = false;
          break;
        }
        long p2 = o.alloc(o.page, o.page, -1);
        if (p2 == NONE) {
          o.free(p1);
          ok = false;
          break;
        }
        ok = o.free(p1) & o.free(p2);
      }
      for (int i = 0; i < LONG_BUSY; i++) if (ptr[i] != NONE) ok &= o.free(ptr[i]);
      return ok;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      long[] ptr = none(LONG_BUSY);
      boolean ok = o.window(LONG_BUSY, i -> o.alloc(o.page, o.page, -1).thenApply(p -> {
        ptr[i] = p;
        return true;
      }));
      ok = ok && o.window(o.loops, i -> o.alloc(100 * o.page, o.page, -1).thenCompose(p1 -> {
        if (p1 == NONE) return FALSE;
        return o.alloc(o.page, o.page, -1).thenCompose(p2 -> {
          if (p2 == NONE) return o.free(p1).thenApply(x -> false);
          return o.free(p1).thenCompose(a -> o.free(p2).thenApply(b -> a && b));
        });
      }));
      ok &= o.windowAll(LONG_BUSY, i -> ptr[i] == NONE ? TRUE : o.free(ptr[i]));
      return ok;
    }
  }

  // ---------------------------------------------------------------------------------------- 3

  /** 1..100 pages, uniformly random, alloc then free. */
  static final class RandomSize extends Case {
    RandomSize() {
      super(3, "random_size_alloc_test");
    }

    @Override
    boolean runSync(SyncOps o) {
      for (int i = 0; i < o.loops; i++) {
        if (!allocFree(o, o.rnd.nextInt(1, 101) * o.page, o.page)) return false;
      }
      return true;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      return o.window(o.loops, i -> allocFree(o, o.rnd.nextInt(1, 101) * o.page, o.page));
    }
  }

  // ---------------------------------------------------------------------------------------- 4

  /**
   * 5 pages aligned to THREAD_ALIGN << 1. THREAD_ALIGN is THREAD_SIZE, 4 pages on x86-64 without
   * KASAN, so the alignment is 8 pages (32 KiB with 4 KiB pages).
   */
  static final class FixAlign extends Case {
    FixAlign() {
      super(4, "fix_align_alloc_test");
    }

    @Override
    boolean runSync(SyncOps o) {
      for (int i = 0; i < o.loops; i++) if (!allocFree(o, 5 * o.page, (4 * o.page) << 1)) return false;
      return true;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      return o.window(o.loops, i -> allocFree(o, 5 * o.page, (4 * o.page) << 1));
    }
  }

  // ---------------------------------------------------------------------------------------- 5

  /** rnd = a random byte; align = 1 << (rnd % 23) (up to 4 MiB); size = (rnd % 10 + 1) pages. */
  static final class RandomSizeAlign extends Case {
    RandomSizeAlign() {
      super(5, "random_size_align_alloc_test");
    }

    @Override
    boolean runSync(SyncOps o) {
      for (int i = 0; i < o.loops; i++) {
        int r = o.rnd.nextInt(256);
        if (!allocFree(o, ((r % 10) + 1) * o.page, 1L << (r % 23))) return false;
      }
      return true;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      return o.window(o.loops, i -> {
        int r = o.rnd.nextInt(256);
        return allocFree(o, ((r % 10) + 1) * o.page, 1L << (r % 23));
      });
    }
  }

  // ---------------------------------------------------------------------------------------- 6

  /**
   * One page aligned to 1 << i for i = 0..63, in order, stopping at the first failure. "This test
   * case is supposed to be failed": aligns beyond the space cannot be met. In the default space
   * (0xffffc90000000000..0xffffe90000000000) the first align that fails is 2^46. Ignores
   * test_loop_count, like the kernel.
   */
  static final class AlignShift extends Case {
    AlignShift() {
      super(6, "align_shift_alloc_test");
    }

    @Override
    boolean runSync(SyncOps o) {
      for (int i = 0; i < Long.SIZE; i++) if (!allocFree(o, o.page, 1L << i)) return false;
      return true;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      return o.window(1, x -> step(o, 0));
    }

    private static CompletionStage<Boolean> step(AsyncOps o, int i) {
      if (i == Long.SIZE) return TRUE;
      return allocFree(o, o.page, 1L << i).thenCompose(ok -> ok ? step(o, i + 1) : FALSE);
    }
  }

  // ---------------------------------------------------------------------------------------- 11

  /**
   * Lookup-heavy (ours, not the kernel's): 15000 one-page areas stay busy; each loop allocates a
   * page, then does findsPerAlloc lookups one after another: the new area, random addresses inside
   * random busy areas, and one miss (the space's last page), each checked against the expected
   * area start, then frees the page. A wrong answer fails the test.
   */
  static final class FindHeavy extends Case {
    FindHeavy() {
      super(11, "find_heavy_test");
    }

    /** Fills addrs/expect for one loop; slot 0 is the new area (filled in once allocated). */
    private static boolean plan(Ops o, long[] ptr, long[] addrs, long[] expect) {
      int f = addrs.length;
      for (int j = 1; j < f; j++) {
        if (j == f - 1 && f >= 2) {
          addrs[j] = o.missAddr;
          expect[j] = NONE;
        } else {
          long a = ptr[o.rnd.nextInt(ptr.length)];
          if (a == NONE) return false;
          addrs[j] = a + o.rnd.nextLong(o.page);
          expect[j] = a;
        }
      }
      return true;
    }

    @Override
    boolean runSync(SyncOps o) {
      long[] ptr = none(LONG_BUSY);
      for (int i = 0; i < LONG_BUSY; i++) ptr[i] = o.alloc(o.page, o.page, -1);
      int f = Math.max(1, o.findsPerAlloc);
      long[] addrs = new long[f];
      long[] expect = new long[f];
      boolean ok = true;
      for (int i = 0; ok && i < o.loops; i++) {
        if (!plan(o, ptr, addrs, expect)) {
          ok = false;
          break;
        }
        long p = o.alloc(o.page, o.page, -1);
        if (p == NONE) {
          ok = false;
          break;
        }
        addrs[0] = p + o.rnd.nextLong(o.page);
        expect[0] = p;
        for (int j = 0; j < f; j++) if (o.find(addrs[j]) != expect[j]) ok = false;
        ok &= o.free(p);
      }
      for (int i = 0; i < LONG_BUSY; i++) if (ptr[i] != NONE) ok &= o.free(ptr[i]);
      return ok;
    }

    @Override
    boolean runAsync(AsyncOps o) {
      long[] ptr = none(LONG_BUSY);
      boolean ok = o.window(LONG_BUSY, i -> o.alloc(o.page, o.page, -1).thenApply(p -> {
        ptr[i] = p;
        return true;
      }));
      int f = Math.max(1, o.findsPerAlloc);
      ok = ok && o.window(o.loops, i -> {
        long[] addrs = new long[f];
        long[] expect = new long[f];
        if (!plan(o, ptr, addrs, expect)) return FALSE;
        long off = o.rnd.nextLong(o.page);
        return o.alloc(o.page, o.page, -1).thenCompose(p -> {
          if (p == NONE) return FALSE;
          addrs[0] = p + off;
          expect[0] = p;
          return finds(o, addrs, expect, 0, true)
              .thenCompose(found -> o.free(p).thenApply(freed -> found && freed));
        });
      });
      ok &= o.windowAll(LONG_BUSY, i -> ptr[i] == NONE ? TRUE : o.free(ptr[i]));
      return ok;
    }

    private static CompletionStage<Boolean> finds(AsyncOps o, long[] addrs, long[] expect, int j, boolean ok) {
      if (j == addrs.length) return ok ? TRUE : FALSE;
      return o.find(addrs[j]).thenCompose(s -> finds(o, addrs, expect, j + 1, ok && s == expect[j]));
    }
  }
}
