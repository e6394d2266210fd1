package io.vmap.http;

import io.vmap.protocol.PurgeProtocol;
import io.vmap.client.VmapInfo;
import io.vmap.purge.PurgeCoordinator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters and latency histograms of the allocator operations served over HTTP, rendered in the
 * Prometheus text exposition format 0.0.4 (written by hand: no metrics library).
 *
 * <ul>
 *   <li>{@code vmap_ops_total{op,result}}: one per operation, {@code result} is {@code ok} or the
 *       {@link io.vmap.state.ErrorCode} name. Every (op, known result) pair is exported from
 *       the start with 0 so that rates and alerts work before the first error.
 *   <li>{@code vmap_op_latency_seconds{op}}: a cumulative histogram (fixed buckets from 100 us
 *       to 10 s) of the time from the parsed request to the allocator's answer.
 *   <li>{@code vmap_http_responses_total{code}}: every HTTP response by status code.
 * </ul>
 *
 * <p>The allocator's state (lazy pages, purge epochs, free bytes per node ...) is not counted
 * here but read from {@code client.info()} at scrape time and passed to {@link #render}.
 *
 * <p>Thread-safe and lock-free on the recording path ({@link LongAdder}s).
 */
public final class Metrics {

  /** The operations, in export order. */
  public static final List<String> OPS = List.of("alloc", "free", "find", "info", "purge");

  /** The results exported from the start (others, e.g. "EIO", appear when first seen). */
  public static final List<String> RESULTS = List.of("ok", "ENOSPC", "EAGAIN", "EINVAL", "ENOENT", "ETIMEDOUT");

  /** Upper bounds of the latency buckets, in seconds; +Inf is implicit. */
  static final double[] BUCKETS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };

  private static final long[] BUCKET_NANOS = new long[BUCKETS.length];

  static {
    for (int i = 0; i < BUCKETS.length; i++) BUCKET_NANOS[i] = Math.round(BUCKETS[i] * 1e9);
  }

  private record Key(String op, String result) {}

  private static final class Histogram {
    /** Non-cumulative: counts[i] = observations in (bucket i-1, bucket i]; the last is +Inf. */
    final LongAdder[] counts = new LongAdder[BUCKETS.length + 1];
    final LongAdder sumNanos = new LongAdder();

    Histogram() {
      for (int i = 0; i < counts.length; i++) counts[i] = new LongAdder();
    }

    void observe(long nanos) {
      int i = 0;
      while (i < BUCKET_NANOS.length && nanos > BUCKET_NANOS[i]) i++;
      counts[i].increment();
      sumNanos.add(nanos);
    }
  }

  private final ConcurrentHashMap<Key, LongAdder> ops = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Histogram> latency = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Integer, LongAdder> responses = new ConcurrentHashMap<>();
  private final LongAdder scrapeErrors = new LongAdder();

  public Metrics() {
    for (String op : OPS) {
      latency.put(op, new Histogram());
      for (String r : RESULTS) ops.put(new Key(op, r), new LongAdder());
    }
  }

  /** Records one operation: {@code result} is "ok" or an error code name. */
  public void record(String op, String result, long nanos) {
    ops.computeIfAbsent(new Key(op, result), k -> new LongAdder()).increment();
    latency.computeIfAbsent(op, k -> new Histogram()).observe(Math.max(0, nanos));
  }

  /** Records one HTTP response status. */
  public void response(int status) {
    responses.computeIfAbsent(status, k -> new LongAdder()).increment();
  }

  /** The count of {@code op} with {@code result} so far. */
  public long count(String op, String result) {
    LongAdder a = ops.get(new Key(op, result));
    return a == null ? 0 : a.sum();
  }

  void scrapeFailed() {
    scrapeErrors.increment();
  }

  /**
   * The exposition text: this object's counters, then the allocator's state from {@code info}
   * (omitted when null: the scrape-time info call failed or timed out, {@code vmap_info_up 0}).
   */
  public String render(VmapInfo info, boolean ready) {
    StringBuilder sb = new StringBuilder(8192);

    family(sb, "vmap_ops_total", "counter", "Allocator operations served over HTTP, by operation and result.");
    Map<Key, LongAdder> sorted = new TreeMap<>(
        (a, b) -> {
          int c = Integer.compare(opIndex(a.op()), opIndex(b.op()));
          if (c == 0) c = a.op().compareTo(b.op());
          if (c == 0) c = Integer.compare(resultIndex(a.result()), resultIndex(b.result()));
          if (c == 0) c = a.result().compareTo(b.result());
          return c;
        });
    sorted.putAll(ops);
    for (Map.Entry<Key, LongAdder> e : sorted.entrySet()) {
      sb.append("vmap_ops_total{op=\"").append(esc(e.getKey().op())).append("\",result=\"")
          .append(esc(e.getKey().result())).append("\"} ").append(e.getValue().sum()).append('\n');
    }

    family(sb, "vmap_op_latency_seconds", "histogram",
        "Time from a parsed HTTP request to the allocator's answer, by operation.");
    Map<String, Histogram> hs = new TreeMap<>((a, b) -> {
      int c = Integer.compare(opIndex(a), opIndex(b));
      return c != 0 ? c : a.compareTo(b);
    });
    hs.putAll(latency);
    for (Map.Entry<String, Histogram> e : hs.entrySet()) {
      String op = esc(e.getKey());
      Histogram h = e.getValue();
      long cumulative = 0;
      for (int i = 0; i < h.counts.length; i++) {
        cumulative += h.counts[i].sum();
        String le = i < BUCKETS.length ? fmt(BUCKETS[i]) : "+Inf";
        sb.append("vmap_op_latency_seconds_bucket{op=\"").append(op).append("\",le=\"").append(le)
            .append("\"} ").append(cumulative).append('\n');
      }
      sb.append("vmap_op_latency_seconds_sum{op=\"").append(op).append("\"} ")
          .append(fmt(h.sumNanos.sum() / 1e9)).append('\n');
      sb.append("vmap_op_latency_seconds_count{op=\"").append(op).append("\"} ").append(cumulative).append('\n');
    }

    family(sb, "vmap_http_responses_total", "counter", "HTTP responses by status code.");
    new TreeMap<>(responses).forEach((code, n) ->
        sb.append("vmap_http_responses_total{code=\"").append(code).append("\"} ").append(n.sum()).append('\n'));

    gauge(sb, "vmap_ready", "Whether this process accepts allocator traffic (1) or not (0).", ready ? 1 : 0);
    gauge(sb, "vmap_info_up", "Whether the scrape-time info call answered (1) or failed (0).", info != null ? 1 : 0);
    family(sb, "vmap_info_scrape_errors_total", "counter", "Scrape-time info calls that failed or timed out.");
    sb.append("vmap_info_scrape_errors_total ").append(scrapeErrors.sum()).append('\n');

    if (info != null) renderInfo(sb, info);
    return sb.toString();
  }

  private static void renderInfo(StringBuilder sb, VmapInfo info) {
    PurgeProtocol.Status p = info.purge();
    if (p != null) {
      gauge(sb, "vmap_lazy_pages", "Pages freed lazily and not yet purged (the kernel's vmap_lazy_nr).", p.lazyPages());
      gauge(sb, "vmap_lazy_max_pages", "Purge threshold in pages (lazy_max_pages()).", p.thresholdPages());
      family(sb, "vmap_purge_epochs_total", "counter", "Purge epochs run since the coordinator started.");
      sb.append("vmap_purge_epochs_total ").append(p.epochsRun()).append('\n');
      family(sb, "vmap_purge_released_areas_total", "counter", "Areas returned to the free space by purges.");
      sb.append("vmap_purge_released_areas_total ").append(p.areasReleased()).append('\n');
      gauge(sb, "vmap_purge_running", "Whether a purge epoch is running (1) or the coordinator is idle (0).",
          "idle".equalsIgnoreCase(p.phase()) ? 0 : 1);
      gauge(sb, "vmap_flush_subscribers", "Flush subscribers registered with the purge coordinator.", p.subscribers());
      gauge(sb, "vmap_purge_holders", "Subscribers the running epoch still waits for (its space is quarantined).",
          p.holders().size());
    }
    gauge(sb, "vmap_space_bytes", "Size of the address space.", info.geometry().spaceBytes());

    family(sb, "vmap_free_bytes", "gauge", "Free bytes in each node's free shard.");
    for (VmapInfo.NodeStats n : info.nodes()) nodeLine(sb, "vmap_free_bytes", n.node(), n.freeBytes());
    family(sb, "vmap_largest_free_block_bytes", "gauge", "Largest free block of each node's shard.");
    for (VmapInfo.NodeStats n : info.nodes()) nodeLine(sb, "vmap_largest_free_block_bytes", n.node(), n.largestFreeBlock());
    family(sb, "vmap_free_blocks", "gauge", "Free blocks in each node's shard (fragmentation).");
    for (VmapInfo.NodeStats n : info.nodes()) nodeLine(sb, "vmap_free_blocks", n.node(), n.freeBlocks());
    family(sb, "vmap_busy_areas", "gauge", "Busy areas held by each node.");
    for (VmapInfo.NodeStats n : info.nodes()) nodeLine(sb, "vmap_busy_areas", n.node(), n.busy());
    family(sb, "vmap_lazy_areas", "gauge", "Lazily freed areas not yet purged, per node.");
    for (VmapInfo.NodeStats n : info.nodes()) nodeLine(sb, "vmap_lazy_areas", n.node(), n.lazy());
    family(sb, "vmap_reserved_bytes", "gauge", "Bytes held by spanning reservations, per node.");
    for (VmapInfo.NodeStats n : info.nodes()) nodeLine(sb, "vmap_reserved_bytes", n.node(), n.reservedBytes());
  }

  private static void family(StringBuilder sb, String name, String type, String help) {
    sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
    sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void gauge(StringBuilder sb, String name, String help, long value) {
    family(sb, name, "gauge", help);
    sb.append(name).append(' ').append(Long.toUnsignedString(value)).append('\n');
  }

  private static void nodeLine(StringBuilder sb, String name, int node, long value) {
    sb.append(name).append("{node=\"").append(node).append("\"} ").append(Long.toUnsignedString(value)).append('\n');
  }

  private static int opIndex(String op) {
    int i = OPS.indexOf(op);
    return i < 0 ? OPS.size() : i;
  }

  private static int resultIndex(String r) {
    int i = RESULTS.indexOf(r);
    return i < 0 ? RESULTS.size() : i;
  }

  private static String fmt(double d) {
    String s = String.format(Locale.ROOT, "%.9f", d);
    // Trim trailing zeros but keep one digit after the point: 0.000250000 -> 0.00025, 1.000 -> 1.0
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s + "0" : s;
  }

  private static String esc(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
