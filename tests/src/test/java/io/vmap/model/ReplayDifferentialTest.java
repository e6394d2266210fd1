package io.vmap.model;

import static org.junit.jupiter.api.Assertions.fail;

import io.vmap.client.VmapSettings;
import io.vmap.replay.Replay;
import io.vmap.space.Geometry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Differential test: random replay traces run line by line through the real engine ({@link
 * Replay}, real actors) and through the independent {@link ReferenceAllocator}; every output line
 * must match (EINVAL lines by their prefix only, reasons are free text), and so must the final
 * {@code info}.
 *
 * <p>Each configuration (geometry, threshold, trace) comes from one seed. A mismatch prints the
 * seed, the options and the trace up to the mismatch, shrinks the trace (delta debugging against
 * fresh engines) and writes {@code target/differential/seed-S.trace} and {@code .expected}: the
 * golden-trace format of ReplayGoldenTest, ready to be kept as a regression test.
 *
 * <p>System properties: {@code vmap.diff.seed} (master seed), {@code vmap.diff.configs} (how
 * many), {@code vmap.diff.only} (run the one configuration with this seed), {@code vmap.diff.ops}
 * (ops per trace multiplier, default 1), {@code vmap.diff.threads} (engines run in parallel),
 * {@code vmap.diff.minimize} (shrink failures, default true).
 */
class ReplayDifferentialTest {

  static final long MASTER_SEED = Long.getLong("vmap.diff.seed", 0x7a11ab1eL);
  static final int CONFIGS = Integer.getInteger("vmap.diff.configs", 56);
  static final double OPS_FACTOR = Double.parseDouble(System.getProperty("vmap.diff.ops", "1"));
  static final int THREADS = Integer.getInteger("vmap.diff.threads", 2);
  static final boolean MINIMIZE = Boolean.parseBoolean(System.getProperty("vmap.diff.minimize", "true"));
  static final int MAX_MINIMIZED = 3;
  static final long OP_TIMEOUT_SECONDS = 20;

  /** One geometry, threshold and trace length, all derived from {@code seed}. */
  record Config(
      long seed, String kind, long vstart, long vend, long page, long zone, int nodes, Long lazyMax, int ops,
      Integer windowZones, Integer releaseBatch) {

    Config(long seed, String kind, long vstart, long vend, long page, long zone, int nodes, Long lazyMax, int ops) {
      this(seed, kind, vstart, vend, page, zone, nodes, lazyMax, ops, tuning(seed)[0], tuning(seed)[1]);
    }

    Geometry geometry() {
      return new Geometry(vstart, vend, page, zone, nodes);
    }

    ReferenceAllocator model() {
      return new ReferenceAllocator(vstart, vend, page, zone, nodes, lazyMax);
    }

    VmapSettings settings() {
      return ReplaySettings.of(geometry(), lazyMax, windowZones, releaseBatch);
    }

    /** The golden-trace header line. */
    String options() {
      return "# options: --nodes " + nodes + " --page " + page + " --zone 0x" + Long.toHexString(zone)
          + " --space 0x" + Long.toHexString(vstart) + ":0x" + Long.toHexString(vend)
          + (lazyMax != null ? " --lazy-max-pages " + lazyMax : "")
          + (windowZones != null ? " --window-zones " + windowZones : "")
          + (releaseBatch != null ? " --release-batch " + releaseBatch : "");
    }

    @Override
    public String toString() {
      return "seed " + seed + " (" + kind + ", " + ops + " ops): " + options().substring(2);
    }
  }

  static Config config(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    long page = r.nextInt(3) == 0 ? 8192 : 4096;
    int nodes = r.nextInt(1, 8);
    int kind = r.nextInt(100);
    long vstart;
    long vend;
    long zone;
    Long lazy;
    if (kind < 58) {
      // tiny: 8..64 zones of 1..16 pages, at 0, low, or in the vmalloc range; edges cut or not
      long zonePages = 1L << (r.nextInt(8) == 0 ? 0 : r.nextInt(1, 5));
      zone = page * zonePages;
      long zones = r.nextInt(8, 65);
      long base =
          switch (r.nextInt(10)) {
            case 0, 1 -> 0;
            case 2, 3, 4 -> r.nextLong(1, 1L << 28);
            default -> Long.divideUnsigned(Geometry.DEFAULT_VSTART, zone) + r.nextLong(1L << 20);
          };
      long s = base * zone;
      long e = s + zones * zone;
      if (zonePages > 1 && r.nextInt(3) == 0) s += page * r.nextLong(1, zonePages);
      if (zonePages > 1 && r.nextInt(3) == 0) e -= page * r.nextLong(1, zonePages);
      return new Config(seed, "tiny", s, e, page, zone, nodes, smallLazy(r, zonePages), scale(420));
    }
    if (kind < 64) {
      // the whole space inside one to three zones, edges cut: fewer zones than nodes
      long zonePages = 1L << r.nextInt(3, 6);
      zone = page * zonePages;
      long s = r.nextLong(1, 1L << 30) * zone + page * r.nextLong(0, zonePages);
      long e = Long.divideUnsigned(s, zone) * zone + zone * r.nextInt(1, 4) - page * r.nextLong(0, zonePages / 2);
      if (Long.compareUnsigned(e, s) <= 0) e = s + page;
      return new Config(seed, "subzone", s, e, page, zone, nodes, smallLazy(r, zonePages), scale(300));
    }
    if (kind < 70) {
      // more zones than the spanning search's first window (64): runs cross window boundaries
      long zonePages = 1L << r.nextInt(1, 3);
      zone = page * zonePages;
      long zones = r.nextInt(65, 200);
      long s = r.nextLong(0, 1L << 30) * zone + (r.nextBoolean() ? page : 0);
      return new Config(seed, "medium", s, s + zones * zone, page, zone, nodes, smallLazy(r, zonePages), scale(500));
    }
    if (kind < 84) {
      // the top of the address space: vend = 2^64 - page or 2^64 - 2 pages, vstart a few zones below
      long zonePages = 1L << r.nextInt(1, 5);
      zone = page * zonePages;
      vend = page == 4096 && r.nextBoolean() ? 0xfffffffffffff000L : 0xffffffffffffe000L;
      long zones = r.nextInt(4, 33);
      vstart = vend - zones * zone;
      // vend is not zone aligned, so neither is vstart unless rounded down to a zone
      if (r.nextBoolean()) vstart = Long.divideUnsigned(vstart, zone) * zone;
      else if (r.nextInt(3) == 0) vstart = Long.divideUnsigned(vstart, zone) * zone + page;
      return new Config(seed, "top", vstart, vend, page, zone, nodes, smallLazy(r, zonePages), scale(380));
    }
    if (kind < 96) {
      // the vmalloc range in 16..256 zones of 128 GiB..2 TiB: fills up, spans, never page-sized
      zone = 1L << r.nextInt(37, 42);
      long zonePages = zone / page;
      if (r.nextInt(6) == 0) nodes = 16;
      lazy = switch (r.nextInt(3)) {
        case 0 -> null;
        case 1 -> zonePages * r.nextInt(0, 4);
        default -> (long) r.nextInt(0, 65);
      };
      return new Config(seed, "vmalloc-bigzone", Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VEND, page, zone,
          nodes, lazy, scale(300));
    }
    // the real default geometry: 32 MiB zones, 2^20 zones; never fills, checks placement and routing
    zone = Geometry.DEFAULT_ZONE;
    lazy = r.nextBoolean() ? null : (long) r.nextInt(0, 20000);
    return new Config(seed, "vmalloc-default", Geometry.DEFAULT_VSTART, Geometry.DEFAULT_VEND, page, zone,
        nodes, lazy, scale(250));
  }

  /**
   * Engine tuning that must not change any output: the spanning search's first window (small
   * windows make free runs cross window boundaries) and the purge's release batch (small batches
   * release a purge in many steps). Null = reference.conf.
   */
  static Integer[] tuning(long seed) {
    SplittableRandom r = new SplittableRandom(seed ^ 0x5bd1e995L);
    Integer window = switch (r.nextInt(4)) {
      case 0 -> 1;
      case 1 -> r.nextInt(2, 6);
      default -> null;
    };
    Integer batch = switch (r.nextInt(4)) {
      case 0 -> 1;
      case 1 -> r.nextInt(2, 4);
      default -> null;
    };
    return new Integer[] {window, batch};
  }

  private static Long smallLazy(SplittableRandom r, long zonePages) {
    return switch (r.nextInt(10)) {
      case 0, 1 -> null; // the default: never reached in a tiny space, only explicit purges
      case 2, 3, 4 -> (long) r.nextInt(0, 9);
      case 5, 6 -> zonePages * r.nextInt(1, 5);
      default -> (long) r.nextInt(0, 65);
    };
  }

  private static int scale(int ops) {
    return (int) Math.max(1, ops * OPS_FACTOR);
  }

  static List<Long> seeds() {
    String only = System.getProperty("vmap.diff.only");
    if (only != null && !only.isBlank()) {
      List<Long> l = new ArrayList<>();
      for (String s : only.split(",")) l.add(Long.decode(s.trim()));
      return l;
    }
    SplittableRandom master = new SplittableRandom(MASTER_SEED);
    List<Long> l = new ArrayList<>();
    for (int i = 0; i < CONFIGS; i++) l.add(master.nextLong() & 0xffffffffffffL);
    return l;
  }

  /** What one run found: the trace so far, and the first mismatch (null if none). */
  record Outcome(Config config, List<String> trace, int mismatchAt, String expected, String actual, String modelDump, long millis) {
    boolean failed() {
      return mismatchAt >= 0;
    }
  }

  /** Expected and actual agree: equal, or both EINVAL (reasons are free text). */
  static boolean agree(String expected, String actual) {
    if (expected == null || actual == null) return expected == actual;
    if (expected.startsWith("EINVAL")) return actual.equals("EINVAL") || actual.startsWith("EINVAL ");
    return expected.equals(actual);
  }

  /** Generates and runs the trace of {@code c}. */
  static Outcome runGenerated(Config c) {
    ReferenceAllocator model = c.model();
    TraceGenerator gen = new TraceGenerator(new SplittableRandom(c.seed() ^ 0x9e3779b97f4a7c15L), model)
        .hugeSizes(c.kind().equals("vmalloc-default") ? 1 : 8);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < c.ops(); i++) {
      String line = gen.next();
      lines.add(line);
      // the generator looks at the model's state: generate the next line after applying this one
      gen.observe(line, model.apply(line));
    }
    // the final state check: busy and lazy counts and free bytes of the engine equal the model's
    lines.add("info");
    return run(c, lines);
  }

  /** Runs {@code lines} through a fresh engine and a fresh model; stops at the first mismatch. */
  static Outcome run(Config c, List<String> lines) {
    long t0 = System.nanoTime();
    ReferenceAllocator model = c.model();
    ExecutorService ex = Executors.newSingleThreadExecutor(t -> {
      Thread th = new Thread(t, "diff-" + c.seed());
      th.setDaemon(true);
      return th;
    });
    Replay replay = null;
    try {
      replay = new Replay(c.settings());
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        String expected = model.apply(line);
        String actual;
        Replay rr = replay;
        Future<String> f = ex.submit(() -> rr.apply(line));
        try {
          actual = f.get(OP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
          replay = null; // hung: leave it, the daemon thread dies with the JVM
          return new Outcome(c, lines.subList(0, i + 1), i, expected, "HANG: no answer in " + OP_TIMEOUT_SECONDS + " s", model.dump(), ms(t0));
        } catch (Exception e) {
          Throwable t = e.getCause() != null ? e.getCause() : e;
          actual = "EXCEPTION " + t;
        }
        if (!agree(expected, actual)) {
          return new Outcome(c, new ArrayList<>(lines.subList(0, i + 1)), i, expected, actual, model.dump(), ms(t0));
        }
      }
      return new Outcome(c, lines, -1, null, null, null, ms(t0));
    } finally {
      if (replay != null) replay.close();
      ex.shutdownNow();
    }
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /**
   * Shrinks a failing trace: first drops every line that changes nothing (find, info, junk, failed
   * ops) except the failing one, then delta-debugging chunks of decreasing size. Each try runs a
   * fresh engine; any mismatch counts as still failing. Bounded by a number of engine runs.
   */
  static Outcome minimize(Outcome o) {
    int[] budget = {90};
    Outcome best = o;
    // 1. lines that print but do not change the state, except the last one
    List<String> t = new ArrayList<>();
    ReferenceAllocator m = o.config().model();
    for (int i = 0; i < best.trace().size(); i++) {
      String line = best.trace().get(i);
      String info0 = m.info();
      String out = m.apply(line);
      boolean inert = out == null || m.info().equals(info0) && !line.strip().startsWith("purge");
      if (!inert || i == best.trace().size() - 1) t.add(line);
    }
    Outcome c = tryTrace(o.config(), t, budget);
    if (c != null) best = c;
    // 2. ddmin on chunks
    int n = 2;
    while (budget[0] > 0 && best.trace().size() > 1) {
      List<String> cur = best.trace();
      int chunk = Math.max(1, cur.size() / n);
      boolean shrunk = false;
      for (int start = 0; start < cur.size() && budget[0] > 0; start += chunk) {
        List<String> cand = new ArrayList<>(cur.subList(0, start));
        cand.addAll(cur.subList(Math.min(cur.size(), start + chunk), cur.size()));
        if (cand.isEmpty()) continue;
        Outcome r = tryTrace(o.config(), cand, budget);
        if (r != null) {
          best = r;
          shrunk = true;
          break;
        }
      }
      if (shrunk) {
        n = Math.max(2, n - 1);
      } else {
        if (chunk == 1) break;
        n = Math.min(cur.size(), n * 2);
      }
    }
    return best;
  }

  private static Outcome tryTrace(Config c, List<String> lines, int[] budget) {
    if (budget[0]-- <= 0) return null;
    Outcome r = run(c, lines);
    return r.failed() ? r : null;
  }

  static String describe(Outcome o) {
    StringBuilder sb = new StringBuilder();
    sb.append("MISMATCH ").append(o.config()).append('\n');
    sb.append("  line ").append(o.mismatchAt() + 1).append(": ").append(o.trace().get(o.mismatchAt())).append('\n');
    sb.append("  expected (model): ").append(o.expected()).append('\n');
    sb.append("  actual (engine):  ").append(o.actual()).append('\n');
    sb.append("  reproduce: -Dvmap.diff.only=").append(o.config().seed()).append('\n');
    sb.append("  trace:\n").append(o.config().options()).append('\n');
    ReferenceAllocator m = o.config().model();
    for (String line : o.trace()) {
      String out = m.apply(line);
      sb.append(line).append(out != null ? "    # -> " + out : "").append('\n');
    }
    sb.append("  model state before the last line:\n").append(o.modelDump().indent(4));
    return sb.toString();
  }

  static void writeRepro(Outcome o) {
    try {
      Path dir = Path.of("target", "differential");
      Files.createDirectories(dir);
      List<String> trace = new ArrayList<>();
      trace.add(o.config().options());
      trace.add("# differential seed " + o.config().seed() + ": the engine answered '" + o.actual() + "' on the last line");
      trace.addAll(o.trace());
      List<String> expected = new ArrayList<>();
      ReferenceAllocator m = o.config().model();
      for (String line : trace) {
        String out = m.apply(line);
        if (out != null) expected.add(out.startsWith("EINVAL") ? "EINVAL" : out);
      }
      Files.write(dir.resolve("seed-" + o.config().seed() + ".trace"), trace);
      Files.write(dir.resolve("seed-" + o.config().seed() + ".expected"), expected);
    } catch (IOException e) {
      System.err.println("could not write the repro: " + e);
    }
  }

  @Test
  void engineMatchesTheModelOnRandomTraces() throws Exception {
    List<Long> seeds = seeds();
    long t0 = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, THREADS));
    List<Future<Outcome>> futures = new ArrayList<>();
    for (long s : seeds) futures.add(pool.submit(() -> runGenerated(config(s))));
    List<Outcome> failures = Collections.synchronizedList(new ArrayList<>());
    List<Outcome> all = new ArrayList<>();
    long ops = 0;
    for (Future<Outcome> f : futures) {
      Outcome o = f.get();
      all.add(o);
      ops += o.failed() ? o.mismatchAt() + 1 : o.trace().size();
      if (o.failed()) failures.add(o);
    }
    pool.shutdown();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf("differential: %d traces, %d ops compared in %d ms, %d mismatches%n",
        seeds.size(), ops, ms, failures.size());
    all.sort((a, b) -> Long.compare(b.millis(), a.millis()));
    for (Outcome o : all.subList(0, Math.min(3, all.size()))) {
      System.out.printf("  slowest: %d ms %s%n", o.millis(), o.config());
    }
    if (failures.isEmpty()) return;
    StringBuilder report = new StringBuilder();
    for (int i = 0; i < failures.size(); i++) {
      Outcome o = failures.get(i);
      if (MINIMIZE && i < MAX_MINIMIZED) o = minimize(o);
      writeRepro(o);
      report.append(describe(o)).append('\n');
    }
    System.out.println(report);
    fail(failures.size() + " of " + seeds.size() + " traces differ from the model (repros in target/differential):\n" + report);
  }
}
