package io.vmap.bench;

import static io.vmap.bench.BenchTarget.NONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmap.client.VmapSettings;
import io.vmap.state.ErrorCode;
import io.vmap.space.Geometry;
import io.vmap.space.Area;
import io.vmap.space.Unsigned;
import io.vmap.workload.Generator;
import io.vmap.workload.LiveAreas;
import io.vmap.workload.Op;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bench's targets are correct allocators (timing is not tested): the baselines place areas
 * exactly where DESIGN.md says, the global-lock target equals the actor allocator with one node on
 * the same sequence, first-fit equals both, and a tiny bench run passes every case.
 */
@org.junit.jupiter.api.Tag("integration")
@Timeout(300)
class BenchTargetsTest {

  static final long P = 4096;
  static final long S = Geometry.DEFAULT_VSTART;
  /** A 64-page space, purge threshold 8 pages. */
  static final long E = S + 64 * P;
  static final long THRESHOLD = 8;

  static GlobalLockTarget globalLock(long end, long threshold) {
    return new GlobalLockTarget(S, end, P, threshold);
  }

  static FirstFitTarget firstFit(long end, long threshold) {
    return new FirstFitTarget(S, end, P, threshold);
  }

  /** The actor allocator, one node, over [S, end). */
  static EmbeddedTarget embedded(long end, long threshold) {
    Geometry g = new Geometry(S, end, P, Geometry.DEFAULT_ZONE, 1);
    return new EmbeddedTarget(VmapSettings.defaults().withGeometry(g, threshold), EmbeddedTarget.RequestIds.SESSION);
  }

  /** Applies one op and waits for background purges, as vmap replay does. */
  static final class Driver {
    final BenchTarget t;

    Driver(BenchTarget t) {
      this.t = t;
    }

    private <T> T await(CompletionStage<T> s) {
      T v = s.toCompletableFuture().join();
      t.quiesce().toCompletableFuture().join();
      return v;
    }

    String alloc(long pages, long align) {
      long a = await(t.allocAsync(pages * P, align, -1));
      return a == NONE ? "ENOSPC" : Unsigned.hex(a);
    }

    String free(long addr) {
      ErrorCode c = await(t.freeAsync(addr));
      return c == null ? "ok" : c.name();
    }

    String find(long addr) {
      long a = await(t.findAsync(addr));
      return a == NONE ? "none" : Unsigned.hex(a);
    }

    String purge() {
      return "purged " + await(t.purgeAsync());
    }
  }

  static String hex(long pages) {
    return Unsigned.hex(S + pages * P);
  }

  /** A hand-checked sequence: lowest fit, alignment, lazy free, errors, purge, threshold purge. */
  static List<String> handSequence(BenchTarget t) {
    Driver d = new Driver(t);
    List<String> out = new ArrayList<>();
    out.add(d.alloc(1, P));                    // S
    out.add(d.alloc(2, P));                    // S+1
    out.add(d.alloc(1, 4 * P));                // S+4: lowest 4-page-aligned free page
    out.add(d.alloc(3, P));                    // S+5: the hole at S+3 is one page only
    out.add(d.free(S + P));                    // ok, lazily freed
    out.add(d.alloc(1, P));                    // S+3: the lazy hole at S+1 is not reusable yet
    out.add(d.free(S + P));                    // ENOENT: freed already
    out.add(d.free(S + 6 * P));                // EINVAL: inside S+5..S+8, not its start
    out.add(d.find(S + 7 * P + 5));            // S+5
    out.add(d.find(S + P));                    // none: lazily freed areas are not found
    out.add(d.purge());                        // purged 1
    out.add(d.alloc(2, P));                    // S+1 again
    out.add(d.alloc(64, P));                   // ENOSPC
    out.add(d.alloc(1, Long.MIN_VALUE));       // ENOSPC: no 2^63-aligned page in the space
    // Lazy pages: 3 + 1 + 1 + 1 + 2 = 8, not above the threshold of 8: nothing purged.
    out.add(d.free(S + 5 * P));
    out.add(d.free(S));
    out.add(d.free(S + 4 * P));
    out.add(d.free(S + 3 * P));
    out.add(d.free(S + P));
    out.add(d.find(S));                        // none
    out.add(d.alloc(56, P));                   // S+8: exactly the free tail
    out.add(d.alloc(1, P));                    // S: no space, so a synchronous purge, then lowest fit
    out.add(d.free(S + 8 * P));                // 56 lazy pages > 8: threshold purge
    out.add(d.alloc(60, 2 * P));               // S+2: [S+1, S+64) is free, 2-page aligned
    out.add(d.find(S + 61 * P));               // S+2
    return out;
  }

  static final List<String> EXPECTED = List.of(
      hex(0), hex(1), hex(4), hex(5), "ok", hex(3), "ENOENT", "EINVAL", hex(5), "none", "purged 1",
      hex(1), "ENOSPC", "ENOSPC", "ok", "ok", "ok", "ok", "ok", "none", hex(8), hex(0), "ok", hex(2), hex(2));

  @Test
  void globalLockPlacesAsDesigned() {
    try (GlobalLockTarget t = globalLock(E, THRESHOLD)) {
      assertEquals(EXPECTED, handSequence(t));
      assertEquals(2, t.busyCount());
    }
  }

  @Test
  void firstFitPlacesAsDesigned() {
    try (FirstFitTarget t = firstFit(E, THRESHOLD)) {
      assertEquals(EXPECTED, handSequence(t));
      // Busy S and S+2..S+62; free S+1 and S+62..S+64.
      assertEquals(2, t.rangeCount());
    }
  }

  @Test
  void embeddedWithOneNodePlacesAsDesigned() {
    try (EmbeddedTarget t = embedded(E, THRESHOLD)) {
      assertEquals(EXPECTED, handSequence(t));
    }
  }

  @Test
  void invalidRequestsAreRejectedByEveryTarget() {
    try (GlobalLockTarget g = globalLock(E, THRESHOLD);
        FirstFitTarget f = firstFit(E, THRESHOLD);
        EmbeddedTarget e = embedded(E, THRESHOLD)) {
      for (BenchTarget t : List.of(g, f, e)) {
        for (long[] bad : new long[][] {{0, P}, {P, 3 * P}}) {
          CompletionException x = assertThrows(CompletionException.class,
              () -> t.allocAsync(bad[0], bad[1], -1).toCompletableFuture().join(), t.name());
          assertTrue(x.getCause() instanceof IllegalArgumentException, t.name() + ": " + x.getCause());
        }
      }
    }
  }

  /**
   * A random sequence from the workload generator (sizes 1..8 pages, aligns 1..16 pages, frees of
   * live areas, sometimes of an address one page further: a dead or interior one, lookups anywhere,
   * purges) over a 256-page space with a 16-page threshold: global-lock and the actor allocator
   * with one node answer every op identically, and so does first-fit.
   */
  @Test
  void randomSequenceGlobalLockEqualsEmbeddedOneNodeEqualsFirstFit() {
    long end = S + 256 * P;
    Generator generator = new Generator(new Geometry(S, end, P, Geometry.DEFAULT_ZONE, 1),
        Generator.Options.of(new Generator.Mix(0.03, 0.17, 0.35), List.of(new Generator.Band(1, 1, 8)))
            .withAligns(1.0, Long.numberOfTrailingZeros(P), Long.numberOfTrailingZeros(P) + 4));
    try (GlobalLockTarget g = globalLock(end, 16);
        FirstFitTarget f = firstFit(end, 16);
        EmbeddedTarget e = embedded(end, 16)) {
      List<Driver> ds = List.of(new Driver(g), new Driver(f), new Driver(e));
      SplittableRandom rnd = new SplittableRandom(7);
      LiveAreas live = new LiveAreas();
      int[] kinds = new int[4];
      for (int step = 0; step < 1500; step++) {
        Op op = generator.next(rnd, live);
        List<String> answers = new ArrayList<>();
        String what;
        if (op instanceof Op.Alloc a) {
          kinds[0]++;
          long pages = a.size() / P;
          what = "alloc " + pages + " align " + a.align();
          for (Driver d : ds) answers.add(d.alloc(pages, a.align()));
          if (!answers.get(0).equals("ENOSPC")) {
            long start = Unsigned.parse(answers.get(0));
            live.add(new LiveAreas.Held(new Area(start, start + a.size(), ""), null));
          }
        } else if (op instanceof Op.Free fr) {
          kinds[1]++;
          long a = fr.area().start();
          if (rnd.nextInt(10) == 0) a += P * rnd.nextInt(0, 2); // sometimes inside, not the start
          what = "free " + Unsigned.hex(a);
          for (Driver d : ds) answers.add(d.free(a));
        } else if (op instanceof Op.Find fi) {
          kinds[2]++;
          what = "find " + Unsigned.hex(fi.addr());
          for (Driver d : ds) answers.add(d.find(fi.addr()));
        } else {
          kinds[3]++;
          what = "purge";
          for (Driver d : ds) answers.add(d.purge());
        }
        assertEquals(answers.get(0), answers.get(2), "step " + step + " " + what + ": global-lock vs embedded");
        assertEquals(answers.get(0), answers.get(1), "step " + step + " " + what + ": global-lock vs first-fit");
      }
      for (int k : kinds) assertTrue(k > 0, "every kind of op was drawn: " + java.util.Arrays.toString(kinds));
    }
  }

  // ------------------------------------------------------------------------------ tiny runs

  static BenchConfig tiny(int nodes) {
    return BenchConfig.defaults().withNodes(nodes).withLoops(3).withWarmup(0);
  }

  static void assertAllPassed(List<TestResult> results, String target) {
    assertEquals(Long.bitCount(VmallocTests.implementedMask()), results.size(), target);
    for (TestResult r : results) {
      assertTrue(r.errors().isEmpty(), target + " " + r.name() + ": " + r.errors());
      assertTrue(r.ops() > 0, target + " " + r.name() + " issued no request");
      if (r.name().equals("align_shift_alloc_test")) {
        // "This test case is supposed to be failed": 2^46 and up cannot be aligned in the space.
        assertEquals(0, r.passed(), target + " " + r.summaryLine());
        assertEquals(r.repeat(), r.failed(), target + " " + r.summaryLine());
      } else {
        assertTrue(r.passed() > 0, target + " " + r.summaryLine());
        assertEquals(0, r.failed(), target + " " + r.summaryLine());
      }
    }
  }

  @Test
  void tinyBenchRunPassesOnEveryTarget() {
    // One node: the embedded space is one block, so align_shift's huge aligns are cheap.
    BenchConfig cfg = tiny(1);
    for (String name : Targets.COMPARED) {
      try (BenchTarget t = Targets.open(name, cfg)) {
        assertAllPassed(BenchRunner.run(t, cfg, BenchRunner.Progress.none()), name);
      }
    }
  }

  @Test
  void tinyRunWithTwoThreadsAndSixteenNodesPassesOnEmbedded() {
    // Not align_shift (its aligns above a zone walk every zone block of 16 nodes: slow) nor
    // full_fit (its setup is 2 * 40960 allocations with 16 nodes): covered with one node above.
    long mask = VmallocTests.implementedMask() & ~(1L << 6) & ~(1L << 1);
    BenchConfig cfg = new BenchConfig(2, 3, 1, mask, false, 2, 16, null, 256, 8, 1,
        EmbeddedTarget.RequestIds.KEYED, 4, 0, false, false);
    try (BenchTarget t = Targets.open("embedded", cfg)) {
      List<TestResult> results = BenchRunner.run(t, cfg, BenchRunner.Progress.none());
      assertEquals(Long.bitCount(cfg.runTestMask()), results.size());
      for (TestResult r : results) {
        assertEquals(2, r.passed(), r.summaryLine() + " " + r.errors());
        assertEquals(0, r.failed(), r.summaryLine());
        assertTrue(r.errors().isEmpty(), r.errors().toString());
      }
    }
  }

  /** global-lock with every allocation's alignment and thread written down, in call order. */
  private static final class Recording implements BenchTarget.Sync {
    final BenchTarget.Sync inner;
    final List<long[]> calls = new ArrayList<>(); // {thread id, align}

    Recording(BenchTarget.Sync inner) {
      this.inner = inner;
    }

    @Override public String name() { return inner.name(); }
    @Override public String describe() { return inner.describe(); }
    @Override public long page() { return inner.page(); }
    @Override public ErrorCode free(long addr) { return inner.free(addr); }
    @Override public long find(long addr) { return inner.find(addr); }
    @Override public int purge() { return inner.purge(); }
    @Override public void close() { inner.close(); }

    @Override
    public long alloc(long size, long align, int hint) {
      synchronized (calls) {
        calls.add(new long[] {Thread.currentThread().getId(), align});
      }
      return inner.alloc(size, align, hint);
    }
  }

  @Test
  void lockstepRunsEachCaseWithAllWorkersInIt() {
    // fix_size (align one page) and fix_align (align 8 pages), 2 workers: in lockstep both run the
    // same order and neither starts the second case before the other has ended the first, so the
    // calls, in the order they were made, change alignment exactly once.
    long mask = (1L << 0) | (1L << 4);
    BenchConfig cfg = new BenchConfig(2, 2000, 1, mask, false, 0, 16, null, 256, 8, 7,
        EmbeddedTarget.RequestIds.SESSION, 4, 0, false, true);
    try (Recording t = new Recording((BenchTarget.Sync) Targets.open("global-lock", cfg))) {
      List<TestResult> results = BenchRunner.run(t, cfg, BenchRunner.Progress.none());
      assertEquals(2, results.size());
      for (TestResult r : results) {
        assertEquals(2, r.passed(), r.summaryLine());
        assertEquals(2 * 2 * 2000, r.ops(), r.summaryLine());
        assertTrue(r.opsPerSec() > 0, r.summaryLine());
      }
      int changes = 0;
      for (int i = 1; i < t.calls.size(); i++) if (t.calls.get(i)[1] != t.calls.get(i - 1)[1]) changes++;
      assertEquals(1, changes, "alignment changes in the call order");
      assertEquals(2, t.calls.stream().mapToLong(c -> c[0]).distinct().count(), "workers that called");
    }
  }

  // ------------------------------------------------------------------------------ the command

  record Run(int exit, String out, String err) {}

  static Run bench(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    String[] withSub = new String[args.length + 1];
    withSub[0] = "bench";
    System.arraycopy(args, 0, withSub, 1, args.length);
    int exit = io.vmap.runner.VmapCommand.commandLine(o, e).execute(withSub);
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** The run's stdout as one JSON document. */
  static JsonNode json(Run r) {
    try {
      return new ObjectMapper().readTree(r.out());
    } catch (java.io.IOException e) {
      throw new AssertionError("not one JSON document: " + r.out(), e);
    }
  }

  @Test
  void commandPrintsKernelSummaryLines() {
    Run r = bench("--target", "global-lock", "--test-loop-count", "5", "--sequential-test-order", "1",
        "--warmup-loops", "0", "--no-progress", "--run-test-mask", "0x81f");
    assertEquals(0, r.exit(), r.err());
    List<String> summaries = r.out().lines().filter(l -> l.startsWith("Summary: ")).toList();
    assertEquals(List.of("fix_size_alloc_test", "full_fit_alloc_test", "long_busy_list_alloc_test",
        "random_size_alloc_test", "fix_align_alloc_test", "find_heavy_test"),
        summaries.stream().map(l -> l.split(" ")[1]).toList());
    for (String l : summaries) {
      assertTrue(l.matches("Summary: \\w+ passed: 1 failed: 0 repeat: 1 loops: 5 avg: \\d+ usec"), l);
    }
    assertTrue(r.out().contains("ops/s, latency usec p50: "), r.out());
  }

  @Test
  void compareRunsInLockstepAndWarm() {
    // Without --warmup-loops, --compare warms each target up with 200,000 loops per case (or the
    // loop count if more); a single target keeps the kernel's way and 1,000.
    Run c = bench("--compare", "--test", "fix_size_alloc_test", "--test-loop-count", "10", "--no-progress",
        "--nodes", "2");
    assertEquals(0, c.exit(), c.err());
    assertTrue(c.out().contains("warmup-loops=200000 lockstep=1"), c.out());
    Run one = bench("--target", "global-lock", "--test", "fix_size_alloc_test", "--test-loop-count", "10",
        "--no-progress");
    assertEquals(0, one.exit(), one.err());
    assertTrue(one.out().contains("warmup-loops=1000 lockstep=0"), one.out());
  }

  @Test
  void forkRunsEveryCaseInAJvmOfItsOwn() {
    Run r = bench("--compare", "--fork", "--json", "--test", "fix_size_alloc_test", "--test-loop-count", "10",
        "--warmup-loops", "0", "--no-progress", "--nodes", "2");
    assertEquals(0, r.exit(), r.err());
    JsonNode j = json(r);
    java.util.Set<String> pids = new java.util.HashSet<>();
    for (JsonNode run : j.get("runs")) {
      String d = run.get("describe").asText();
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("pids \\[(\\d+)\\]$").matcher(d);
      assertTrue(m.find(), d);
      pids.add(m.group(1));
      for (JsonNode res : run.get("results")) {
        // What the child measured comes back whole: its counts and its histograms.
        assertEquals(1, res.get("passed").asInt(), res.toString());
        assertEquals(20, res.get("ops").asLong(), res.toString());
        assertEquals(20, res.get("latency").get("count").asLong(), res.toString());
        assertEquals(10, res.get("by_op").get("alloc").get("count").asLong(), res.toString());
      }
    }
    // One case of three targets: three JVMs, none of them this one.
    assertEquals(3, pids.size(), pids.toString());
    assertTrue(!pids.contains(Long.toString(ProcessHandle.current().pid())), pids.toString());
  }

  @Test
  void commandJsonAndCompare() {
    Run r = bench("--compare", "--json", "--test", "fix_size_alloc_test", "--test-loop-count", "10",
        "--warmup-loops", "0", "--no-progress", "--nodes", "2");
    assertEquals(0, r.exit(), r.err());
    JsonNode j = json(r);
    assertTrue(j.isObject(), r.out());
    List<String> targets = new ArrayList<>();
    for (JsonNode run : j.get("runs")) {
      targets.add(run.get("target").asText());
      assertEquals("fix_size_alloc_test", run.get("results").get(0).get("test").asText(), r.out());
      assertEquals(1, run.get("results").get(0).get("passed").asInt(), r.out());
    }
    assertEquals(Targets.COMPARED, targets);
    assertEquals(10, j.get("config").get("test_loop_count").asInt(), r.out());
    assertTrue(j.get("config").get("lockstep").asBoolean(), r.out());
    assertEquals(0, j.get("config").get("warmup_loops").asInt(), r.out());
    JsonNode compare = j.get("compare");
    assertTrue(compare.isArray() && compare.size() == Targets.COMPARED.size(), r.out());
    for (JsonNode row : compare) {
      assertTrue(row.has("embedded_ratio"), row.toString());
      // embedded / target: absent (null) on the embedded row itself, a ratio on the others.
      assertEquals(!row.get("target").asText().equals("embedded"), row.get("embedded_ratio").isNumber(), row.toString());
    }
  }

  @Test
  void durableAndHttpTargetsRunTheCases() throws Exception {
    Run d = bench("--target", "embedded-durable", "--test", "fix_size_alloc_test", "--test-loop-count", "20",
        "--warmup-loops", "0", "--no-progress", "--nodes", "2");
    assertEquals(0, d.exit(), d.err());
    assertTrue(d.out().contains("Summary: fix_size_alloc_test passed: 1 failed: 0"), d.out());
    assertTrue(d.out().contains("durable, H2 journal"), d.out());
    // What the run stored: one row per journal write, and the H2 commits' chunks.
    java.util.regex.Matcher j = java.util.regex.Pattern.compile(
        "# journal: (\\d+) event rows, (\\d+) payload bytes .*; snapshots: \\d+ taken .*; H2: (\\d+) chunks in the file")
        .matcher(d.out());
    assertTrue(j.find(), d.out());
    assertTrue(Long.parseLong(j.group(1)) > 0 && Long.parseLong(j.group(2)) > 0 && Long.parseLong(j.group(3)) > 0, j.group());

    // the PostgreSQL server the build starts (scripts/postgres.sh, VMAP_PG_* in the Failsafe environment)
    Run p = bench("--target", "embedded-postgres", "--test", "fix_size_alloc_test", "--test-loop-count", "20",
        "--warmup-loops", "0", "--no-progress", "--nodes", "2");
    assertEquals(0, p.exit(), p.err());
    assertTrue(p.out().contains("Summary: fix_size_alloc_test passed: 1 failed: 0"), p.out());
    assertTrue(p.out().contains("durable, PostgreSQL journal"), p.out());
    assertTrue(java.util.regex.Pattern.compile("# journal: [1-9]\\d* event rows").matcher(p.out()).find(), p.out());

    try (io.vmap.client.Vmap vmap = io.vmap.client.Vmap.start(io.vmap.client.VmapSettings.defaults()
        .withGeometry(new io.vmap.space.Geometry(0x100000, 0x100000 + 64 * 0x100000L, 4096, 0x100000, 2), null))) {
      int port = io.vmap.http.VmapHttpServer.start(vmap.system(), vmap.client(), "127.0.0.1", 0,
              io.vmap.http.HealthProbe.always())
          .toCompletableFuture().join().localAddress().getPort();
      Run h = bench("--target", "http://127.0.0.1:" + port, "--test", "fix_size_alloc_test",
          "--test-loop-count", "20", "--warmup-loops", "0", "--no-progress", "--nodes", "2");
      assertEquals(0, h.exit(), h.err());
      assertTrue(h.out().contains("Summary: fix_size_alloc_test passed: 1 failed: 0"), h.out());
    }
  }

  @Test
  void badTargetsFailCleanly() {
    Run h = bench("--target", "http://127.0.0.1:1");
    assertEquals(2, h.exit());
    assertTrue(h.err().startsWith("vmap bench: target 'http://127.0.0.1:1' does not answer"), h.err());
    Run u = bench("--target", "nope");
    assertEquals(2, u.exit());
    assertTrue(u.err().startsWith("vmap bench: unknown target 'nope'"), u.err());
    Run m = bench("--run-test-mask", "banana");
    assertEquals(2, m.exit());
    assertTrue(m.err().startsWith("vmap bench: "), m.err());
  }
}
