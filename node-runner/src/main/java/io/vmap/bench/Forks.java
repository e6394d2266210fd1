package io.vmap.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmap.bench.VmallocTests.Case;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.zip.DataFormatException;
import org.HdrHistogram.Histogram;

/**
 * {@code vmap bench --fork}: every case of every target in a JVM of its own, as JMH forks. In one
 * JVM a case's speed depends on the cases run before it: the JIT compiles a path for the profile
 * it has seen, and global-lock's fix_size ran 1.92x faster alone than after the other allocation
 * cases (BENCHMARKS.md "`--compare` in lockstep"). A fork warms up and measures its one case only.
 *
 * <p>The parent starts {@code java} with its own JVM options (less agents, flight recordings and
 * logs, which would write to the parent's files), its class path and the bench's options for one
 * target and one case, plus {@code --fork-child FILE}; the child writes its result there as JSON,
 * histograms included, and the parent reads it back.
 */
final class Forks {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Forks() {}

  /** What a child hands back: its target's description, its pid, and its one case's result. */
  record Child(String describe, long pid, Result result) {}

  /** A {@link TestResult} with its histograms as HdrHistogram's compressed encoding, base64. */
  record Result(String target, int id, String name, int passed, int failed, int repeat, int loops, long avgUsec,
      long ops, double opsPerSec, String alloc, String free, String find, List<String> errors) {

    static Result of(TestResult r) {
      return new Result(r.target(), r.id(), r.name(), r.passed(), r.failed(), r.repeat(), r.loops(), r.avgUsec(),
          r.ops(), r.opsPerSec(), encode(r.alloc()), encode(r.free()), encode(r.find()), r.errors());
    }

    TestResult toTestResult() {
      Histogram a = decode(alloc);
      Histogram f = decode(free);
      Histogram l = decode(find);
      return new TestResult(target, id, name, passed, failed, repeat, loops, avgUsec, ops, opsPerSec,
          TestResult.all(a, f, l), a, f, l, List.copyOf(errors));
    }
  }

  /** The child's side: writes {@code results} (one case) for the parent. */
  static void write(Path file, String describe, List<TestResult> results) throws IOException {
    if (results.size() != 1) {
      throw new IllegalStateException("a fork runs one case, not " + results.size());
    }
    Child c = new Child(describe, ProcessHandle.current().pid(), Result.of(results.get(0)));
    Files.writeString(file, MAPPER.writeValueAsString(c), StandardCharsets.UTF_8);
  }

  /**
   * Runs case {@code k} of {@code target} in a new JVM with {@code cfg}'s knobs.
   *
   * @throws IllegalStateException naming the case and the target, with the end of the child's
   *     stderr, if the child wrote no result
   */
  static Child run(String target, Case k, BenchConfig cfg) {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("vmap-bench-fork");
      Path result = dir.resolve("result.json");
      Path stderr = dir.resolve("stderr.txt");
      Process p = new ProcessBuilder(command(target, k, cfg, result))
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(stderr.toFile())
          .start();
      int exit = p.waitFor();
      if (!Files.exists(result)) {
        String tail = Files.exists(stderr) ? tail(Files.readString(stderr, StandardCharsets.UTF_8)) : "";
        throw new IllegalStateException("the fork of " + target + " " + k.name + " wrote no result (exit " + exit
            + ")" + (tail.isEmpty() ? "" : ": " + tail));
      }
      return MAPPER.readValue(Files.readString(result, StandardCharsets.UTF_8), Child.class);
    } catch (IOException e) {
      throw new IllegalStateException("the fork of " + target + " " + k.name + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for the fork of " + target + " " + k.name, e);
    } finally {
      if (dir != null) deleteQuietly(dir);
    }
  }

  private static List<String> command(String target, Case k, BenchConfig c, Path result) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-XX:StartFlightRecording") && !a.startsWith("-XX:FlightRecorderOptions")
          && !a.startsWith("-agent") && !a.startsWith("-javaagent") && !a.startsWith("-Xlog")
          && !a.startsWith("-Xrunjdwp")) {
        cmd.add(a);
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchCommand.class.getName(),
        "--target", target, "--test", k.name,
        "--nr-threads", Integer.toString(c.nrThreads()),
        "--test-loop-count", Integer.toString(c.testLoopCount()),
        "--test-repeat-count", Integer.toString(c.testRepeatCount()),
        "--sequential-test-order", c.sequentialTestOrder() ? "1" : "0",
        "--nr-pages", Integer.toString(c.nrPages()),
        "--nodes", Integer.toString(c.nodes()),
        "--lazy-max-pages", Long.toString(c.thresholdPages()),
        "--release-batch", Integer.toString(c.releaseBatch()),
        "--window", Integer.toString(c.window()),
        "--seed", Long.toString(c.seed()),
        "--request-ids", c.requestIds().name().toLowerCase(java.util.Locale.ROOT),
        "--finds-per-alloc", Integer.toString(c.findsPerAlloc()),
        "--warmup-loops", Integer.toString(c.warmupLoops()),
        "--no-progress",
        "--fork-child", result.toString()));
    if (c.lockstep()) cmd.add("--lockstep");
    return cmd;
  }

  private static String encode(Histogram h) {
    ByteBuffer b = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(b);
    return Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(b.array(), n));
  }

  private static Histogram decode(String s) {
    try {
      return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(s)), 0);
    } catch (DataFormatException e) {
      throw new IllegalStateException("a fork's histogram does not decode: " + e.getMessage(), e);
    }
  }

  private static String tail(String s) {
    String t = s.strip();
    return t.length() <= 2000 ? t : "..." + t.substring(t.length() - 2000);
  }

  private static void deleteQuietly(Path dir) {
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) Files.deleteIfExists(f);
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // a temporary directory left behind is harmless
    }
  }
}
