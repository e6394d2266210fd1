package io.vmap.runner;

import io.vmap.http.api.NodesJson;
import io.vmap.http.api.PurgeStatusJson;
import io.vmap.http.api.SpaceJson;
import io.vmap.http.api.TenantsJson;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One frame of {@code vmap top}: a pure function of a member's JSON ({@code /v1/nodes},
 * {@code /v1/space}, {@code /v1/purge/status}) to text, so a test can render it and read it.
 *
 * <p>The space map has one character per cell, shaded by how much of the cell is used (busy, lazy
 * or reserved): {@code ·} none, {@code ░} under a quarter, {@code ▒} under half, {@code ▓} under three
 * quarters, {@code █} more. Without colour a cell whose used bytes are mostly lazy is {@code z} and
 * mostly reserved {@code r}; with colour those are yellow and magenta, busy red.
 */
public final class TopFrame {

  private TopFrame() {}

  static final String RESET = "\033[0m";
  static final String RED = "\033[31m";
  static final String YELLOW = "\033[33m";
  static final String MAGENTA = "\033[35m";
  static final String BOLD_RED = "\033[1;31m";

  /**
   * The frame for {@code source} (a URL or "embedded"), {@code width} columns wide; {@code tenants}
   * null when the member has none (its {@code /v1/tenants} answers 404), as the operator page hides them.
   */
  public static String render(String source, NodesJson nodes, SpaceJson space, PurgeStatusJson purge,
      TenantsJson tenants, int width, boolean color) {
    StringBuilder b = new StringBuilder();
    var g = space.geometry();
    line(b, width, String.format(Locale.ROOT, "vmap top  %s  %s  %d nodes  %s:%s (%s)  zone %s", time(nodes.takenAt()), source,
        g.nodes(), hex(g.vstart()), hex(g.vend()), Numbers.bytes(g.spaceBytes()), Numbers.bytes(g.zone())));
    b.append('\n');
    nodeTable(b, nodes, width);
    b.append('\n');
    map(b, space, width, color);
    b.append('\n');
    purge(b, purge, width, color);
    if (tenants != null && !tenants.tenants().isEmpty()) {
      b.append('\n');
      tenants(b, tenants, width, color);
    }
    return b.toString();
  }

  /** At this share of a quota's limit or more a tenant is marked, as on the operator page. */
  static final double NEAR_LIMIT = 0.9;

  private static void tenants(StringBuilder b, TenantsJson tenants, int width, boolean color) {
    line(b, width, String.format(Locale.ROOT, "%-16s %22s %24s %8s %8s", "tenant", "areas (live, lazy)",
        "bytes (live, lazy)", "of max", "of max"));
    for (var t : tenants.tenants()) {
      double areaShare = t.maxAreas() == null || t.maxAreas() <= 0 ? 0 : t.areas() / (double) t.maxAreas();
      double byteShare = t.maxBytes() == null || t.maxBytes() <= 0 ? 0 : unsigned(t.bytes()) / unsigned(t.maxBytes());
      boolean near = areaShare >= NEAR_LIMIT || byteShare >= NEAR_LIMIT;
      String text = String.format(Locale.ROOT, "%-16s %22s %24s %8s %8s%s", t.tenant(),
          t.areas() + " (" + t.liveAreas() + ", " + t.lazyAreas() + ")",
          Numbers.bytes(t.bytes()) + " (" + Numbers.bytes(t.liveBytes()) + ", " + Numbers.bytes(t.lazyBytes()) + ")",
          t.maxAreas() == null ? "-" : percent(areaShare) + "%", t.maxBytes() == null ? "-" : percent(byteShare) + "%",
          near ? "  NEAR LIMIT" : "");
      b.append(color && near ? YELLOW + clip(text, width) + RESET : clip(text, width)).append('\n');
    }
  }

  private static void nodeTable(StringBuilder b, NodesJson nodes, int width) {
    line(b, width, String.format(Locale.ROOT, "%4s %12s %12s %10s %17s %8s %7s %6s %7s %7s",
        "node", "busy", "lazy", "reserved", "free (blocks)", "largest", "lg/free", "req/s", "p50", "p99"));
    for (NodesJson.Node n : nodes.nodes()) {
      // Largest free block against all free bytes: low means the free bytes are in small pieces.
      double ratio = n.freeBytes() == 0 ? 0 : unsigned(n.largestFreeBlock()) / unsigned(n.freeBytes());
      line(b, width, String.format(Locale.ROOT, "%4d %12s %12s %10s %17s %8s %6s%% %6.1f %7s %7s",
          n.node(), n.busy() + " " + Numbers.bytes(n.busyBytes()), n.lazy() + " " + Numbers.bytes(n.lazyBytes()),
          n.reservations() + " " + Numbers.bytes(n.reservedBytes()),
          Numbers.bytes(n.freeBytes()) + " (" + n.freeBlocks() + ")", Numbers.bytes(n.largestFreeBlock()),
          percent(ratio), n.traffic().perSecond(), ms(n.traffic().p50Ms()), ms(n.traffic().p99Ms())));
    }
    List<String> ops = new ArrayList<>();
    for (NodesJson.OpTraffic o : nodes.ops()) {
      ops.add(String.format(Locale.ROOT, "%s %.1f/s p50 %s p99 %s", o.op(), o.traffic().perSecond(),
          ms(o.traffic().p50Ms()), ms(o.traffic().p99Ms())));
    }
    line(b, width, "last " + nodes.windowSeconds() + " s: " + String.join("  ", ops));
  }

  private static void map(StringBuilder b, SpaceJson s, int width, boolean color) {
    line(b, width, String.format(Locale.ROOT, "space map %s:%s  %d zones, %d per cell  (· free ░ ▒ ▓ █ used%s)",
        hex(s.from()), hex(s.to()), s.zones(), s.zonesPerCell(), color ? "; red busy, yellow lazy, magenta reserved"
            : "; z mostly lazy, r mostly reserved"));
    SpaceJson.Cells c = s.columns();
    int cols = Math.max(1, width);
    StringBuilder row = new StringBuilder();
    int inRow = 0;
    for (int i = 0; i < s.cells(); i++) {
      row.append(cell(c, i, color));
      if (++inRow == cols) {
        b.append(row).append('\n');
        row.setLength(0);
        inRow = 0;
      }
    }
    if (inRow > 0) b.append(row).append('\n');
    SpaceJson.Totals t = s.totals();
    line(b, width, String.format(Locale.ROOT, "busy %s  lazy %s  reserved %s  free %s  (%d spanning areas%s)",
        Numbers.bytes(t.busy()), Numbers.bytes(t.lazy()), Numbers.bytes(t.reserved()), Numbers.bytes(t.free()),
        s.spanning().size(), s.spanningTruncated() ? "+" : ""));
  }

  /** The character of cell {@code i}. */
  static String cell(SpaceJson.Cells c, int i, boolean color) {
    double busy = c.busy()[i], lazy = c.lazy()[i], reserved = c.reserved()[i], free = c.free()[i];
    double total = busy + lazy + reserved + free;
    double used = busy + lazy + reserved;
    if (total == 0 || used == 0) return "·";
    double u = used / total;
    String glyph = u < 0.25 ? "░" : u < 0.5 ? "▒" : u < 0.75 ? "▓" : "█";
    String state = lazy > busy && lazy >= reserved ? "lazy" : reserved > busy && reserved > lazy ? "reserved" : "busy";
    if (!color) {
      return switch (state) {
        case "lazy" -> "z";
        case "reserved" -> "r";
        default -> glyph;
      };
    }
    String col = switch (state) {
      case "lazy" -> YELLOW;
      case "reserved" -> MAGENTA;
      default -> RED;
    };
    return col + glyph + RESET;
  }

  private static void purge(StringBuilder b, PurgeStatusJson p, int width, boolean color) {
    double frac = p.thresholdPages() <= 0 ? 0 : p.lazyPages() / (double) p.thresholdPages();
    int barWidth = 20;
    int filled = (int) Math.min(barWidth, Math.round(frac * barWidth));
    line(b, width, String.format(Locale.ROOT,
        "purge: phase %s  epoch %d  lazy %d/%d pages [%s%s] %.0f%%  epochs run %d  released %d  subscribers %d",
        p.phase(), p.epoch(), p.lazyPages(), p.thresholdPages(), "#".repeat(filled), ".".repeat(barWidth - filled),
        100 * frac, p.epochsRun(), p.areasReleased(), p.subscribers()));
    if (p.history().size() >= 2) {
      PurgeStatusJson.Sample first = p.history().get(0);
      PurgeStatusJson.Sample last = p.history().get(p.history().size() - 1);
      line(b, width, String.format(Locale.ROOT, "  epochs over the last %d samples: %d -> %d", p.history().size(),
          first.epochsRun(), last.epochsRun()));
    }
    for (PurgeStatusJson.Holder h : p.holders()) {
      String waiting = h.waitingSeconds() == null ? "?" : String.format(Locale.ROOT, "%.1f s", h.waitingSeconds());
      String text = String.format(Locale.ROOT, "  %s epoch %d: %s  no ack for %s", h.stuck() ? "STUCK" : "holds",
          h.epoch(), h.subscriber(), waiting);
      b.append(color && h.stuck() ? BOLD_RED + clip(text, width) + RESET : clip(text, width)).append('\n');
    }
    if (p.advice() != null) {
      for (String l : wrap("  " + p.advice(), width)) b.append(l).append('\n');
    }
  }

  // ------------------------------------------------------------------ text helpers

  private static void line(StringBuilder b, int width, String text) {
    b.append(clip(text, width)).append('\n');
  }

  static String clip(String s, int width) {
    return s.length() <= width ? s : s.substring(0, Math.max(0, width - 1)) + "…";
  }

  static List<String> wrap(String text, int width) {
    List<String> out = new ArrayList<>();
    StringBuilder l = new StringBuilder();
    for (String w : text.split(" ")) {
      if (l.length() > 0 && l.length() + 1 + w.length() > width) {
        out.add(l.toString());
        l.setLength(0);
        l.append("  ");
      }
      if (l.length() > 0 && !l.toString().isBlank()) l.append(' ');
      l.append(w);
    }
    if (!l.toString().isBlank()) out.add(l.toString());
    return out;
  }

  private static String hex(Long v) {
    return io.vmap.space.Unsigned.hex(v);
  }

  private static String ms(Double v) {
    if (v == null) return "-";
    return v < 10 ? String.format(Locale.ROOT, "%.2fms", v) : String.format(Locale.ROOT, "%.0fms", v);
  }

  private static String time(String iso) {
    int t = iso.indexOf('T');
    return t < 0 ? iso : iso.substring(t + 1, Math.min(iso.length(), t + 9));
  }

  /** A share in percent with as many decimals as a small share needs to show. */
  static String percent(double share) {
    double p = 100 * share;
    if (p == 0 || p >= 10) return String.format(Locale.ROOT, "%.0f", p);
    if (p >= 0.1) return String.format(Locale.ROOT, "%.1f", p);
    return String.format(Locale.ROOT, "%.3f", p);
  }

  private static double unsigned(long v) {
    return v >= 0 ? v : (v >>> 1) * 2.0 + (v & 1);
  }
}
