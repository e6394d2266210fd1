package io.vmap.replay;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import io.vmap.client.VmapSettings;
import io.vmap.model.ReferenceAllocator;
import io.vmap.model.ReplaySettings;
import io.vmap.space.Geometry;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden replay traces: every {@code replay/NAME.trace} on the test classpath is replayed through
 * the real engine and its output compared line by line with {@code replay/NAME.expected}, whose
 * lines were derived by hand from DESIGN.md. An expected line of exactly {@code EINVAL} matches any
 * {@code EINVAL <reason>}; every other line must match exactly.
 *
 * <p>The first line of a trace may be {@code # options: --nodes N --page P --zone Z --space
 * START:END --lazy-max-pages L} (any subset; the rest are the defaults of DESIGN.md), plus the
 * test-only engine tuning {@code --window-zones W --release-batch B} that must not change output. Each trace
 * is also run through the independent {@link ReferenceAllocator}, which must give the same expected
 * output: a disagreement there means the hand derivation or the model is wrong, not the library.
 *
 * <p>Traces named {@code bug-*.trace} reproduce library bugs found by the differential test; they
 * fail until the bug is fixed.
 */
class ReplayGoldenTest {

  /** Geometry and threshold from a trace's {@code # options:} line. */
  record Options(
      long vstart, long vend, long page, long zone, int nodes, Long lazyMax, Integer windowZones, Integer releaseBatch) {

    static Options parse(String firstLine) {
      long vstart = Geometry.DEFAULT_VSTART;
      long vend = Geometry.DEFAULT_VEND;
      long page = Geometry.DEFAULT_PAGE;
      long zone = Geometry.DEFAULT_ZONE;
      int nodes = Geometry.DEFAULT_NODES;
      Long lazy = null;
      Integer window = null;
      Integer batch = null;
      String t = firstLine.strip();
      if (t.startsWith("# options:")) {
        String[] w = t.substring("# options:".length()).strip().split("\\s+");
        for (int i = 0; i + 1 < w.length; i += 2) {
          String v = w[i + 1];
          switch (w[i]) {
            case "--nodes" -> nodes = Integer.parseInt(v);
            case "--page" -> page = num(v);
            case "--zone" -> zone = num(v);
            case "--space" -> {
              int c = v.indexOf(':');
              vstart = num(v.substring(0, c));
              vend = num(v.substring(c + 1));
            }
            case "--lazy-max-pages" -> lazy = num(v);
            // engine tuning, test-only: must not change any output
            case "--window-zones" -> window = Integer.parseInt(v);
            case "--release-batch" -> batch = Integer.parseInt(v);
            default -> throw new IllegalArgumentException("unknown option " + w[i] + " in: " + firstLine);
          }
        }
      }
      return new Options(vstart, vend, page, zone, nodes, lazy, window, batch);
    }

    private static long num(String s) {
      return s.startsWith("0x") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseUnsignedLong(s);
    }

    VmapSettings settings() {
      return ReplaySettings.of(new Geometry(vstart, vend, page, zone, nodes), lazyMax, windowZones, releaseBatch);
    }

    ReferenceAllocator model() {
      return new ReferenceAllocator(vstart, vend, page, zone, nodes, lazyMax);
    }
  }

  static boolean matches(String expected, String actual) {
    if (actual == null) return false;
    if (expected.equals("EINVAL")) return actual.equals("EINVAL") || actual.startsWith("EINVAL ");
    return expected.equals(actual);
  }

  @TestFactory
  Stream<DynamicTest> goldenTraces() throws IOException, URISyntaxException {
    URL dir = getClass().getClassLoader().getResource("replay");
    if (dir == null) throw new IllegalStateException("no replay/ directory on the test classpath");
    Path root = Path.of(dir.toURI());
    List<Path> traces;
    try (Stream<Path> s = Files.list(root)) {
      traces = s.filter(p -> p.getFileName().toString().endsWith(".trace")).sorted().toList();
    }
    assertFalse(traces.isEmpty(), "no traces in " + root);
    return traces.stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> check(p)));
  }

  private static void check(Path trace) throws IOException {
    String name = trace.getFileName().toString().replaceFirst("\\.trace$", "");
    List<String> lines = Files.readAllLines(trace, StandardCharsets.UTF_8);
    List<String> expected = new ArrayList<>(Files.readAllLines(trace.resolveSibling(name + ".expected"), StandardCharsets.UTF_8));
    while (!expected.isEmpty() && expected.get(expected.size() - 1).isEmpty()) expected.remove(expected.size() - 1);
    Options o = Options.parse(lines.isEmpty() ? "" : lines.get(0));

    List<String> engine = new ArrayList<>();
    List<String> engineLines = new ArrayList<>();
    try (Replay r = new Replay(o.settings())) {
      for (String line : lines) {
        String out = r.apply(line);
        if (out != null) {
          engine.add(out);
          engineLines.add(line);
        }
      }
    }
    List<String> model = new ArrayList<>();
    ReferenceAllocator m = o.model();
    for (String line : lines) {
      String out = m.apply(line);
      if (out != null) model.add(out);
    }

    StringBuilder report = new StringBuilder();
    compare(report, "engine", engineLines, expected, engine);
    compare(report, "model", engineLines, expected, model);
    if (report.length() > 0) fail(name + ":\n" + report);
  }

  private static void compare(StringBuilder report, String who, List<String> ops, List<String> expected, List<String> actual) {
    int n = Math.max(expected.size(), actual.size());
    for (int i = 0; i < n; i++) {
      String e = i < expected.size() ? expected.get(i) : "<no more expected lines>";
      String a = i < actual.size() ? actual.get(i) : "<no output>";
      if (!matches(e, a)) {
        String op = i < ops.size() ? ops.get(i).strip() : "?";
        report.append(String.format("  %s, output %d (%s): expected '%s', got '%s'%n", who, i + 1, op, e, a));
      }
    }
  }
}
