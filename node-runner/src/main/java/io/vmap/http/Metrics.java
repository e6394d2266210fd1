package io.vmap.http;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.vmap.client.VmapInfo;
import io.vmap.protocol.PurgeProtocol;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * The metrics of the HTTP API, through the Prometheus Java client, in its text format 0.0.4.
 *
 * <ul>
 *   <li>{@code vmap_ops_total{op,result}}: one per operation, {@code result} is {@code ok} or the
 *       {@link io.vmap.state.ErrorCode} name. Every (op, known result) pair is exported from
 *       the start with 0 so that rates and alerts work before the first error.
 *   <li>{@code vmap_op_latency_seconds{op}}: a histogram (fixed buckets from 100 us to 10 s) of the
 *       time from the parsed request to the allocator's answer.
 *   <li>{@code vmap_http_responses_total{code}}: every HTTP response by status code.
 *   <li>{@code vmap_info_scrape_errors_total}: scrape-time info calls that failed.
 *   <li>{@code vmap_node_requests_total{node,op}}, {@code vmap_node_request_errors_total{node,op}}
 *       (answers of status 400 and up) and {@code vmap_node_request_latency_seconds{node}}: the
 *       allocator requests ({@code /v1/areas...}, each operation of a {@code POST /v1/areas/batch}
 *       counted as one, timed to its own result) this member served, per vmap node, as the operator
 *       page's Nodes panel counts them (an allocation for the node its area starts on, a free or find
 *       for {@code nodeOf(addr)}, {@code node="unattributed"} when there is no address). A node gets
 *       its series when first served.
 *   <li>Per tenant, from info at scrape time: {@code vmap_tenant_bytes{tenant,state}} and {@code
 *       vmap_tenant_areas{tenant,state}} ({@code state} live or lazy: lazily freed, not purged yet,
 *       still counted against the quota), {@code vmap_tenant_quota_bytes{tenant}} and {@code
 *       vmap_tenant_quota_areas{tenant}} (only for limits that are set).
 * </ul>
 *
 * <p>The allocator's state (lazy pages, purge epochs, free bytes per node ...) is not counted
 * here but read from {@code client.info()} at scrape time and passed to {@link #render}, which
 * adds it as callback metrics of that one scrape. Thread-safe.
 */
public final class Metrics {

  /** The operations, in export order. */
  public static final List<String> OPS = List.of("alloc", "free", "find", "info", "purge");

  /** The results exported from the start (others, e.g. "EIO", appear when first seen). */
  public static final List<String> RESULTS =
      List.of("ok", "ENOSPC", "EAGAIN", "EINVAL", "ENOENT", "ETIMEDOUT", "EDQUOT", "EPERM");

  /** Upper bounds of the latency buckets, in seconds; +Inf is implicit. */
  static final double[] BUCKETS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };

  /** {@code text/plain; version=0.0.4; charset=utf-8}. */
  public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

  private static final PrometheusTextFormatWriter TEXT = PrometheusTextFormatWriter.create();

  private final PrometheusRegistry registry = new PrometheusRegistry();

  private final Counter ops = Counter.builder()
      .name("vmap_ops_total")
      .help("Allocator operations served over HTTP, by operation and result.")
      .labelNames("op", "result")
      .register(registry);

  private final Histogram latency = Histogram.builder()
      .name("vmap_op_latency_seconds")
      .help("Time from a parsed HTTP request to the allocator's answer, by operation.")
      .labelNames("op")
      .classicUpperBounds(BUCKETS)
      .classicOnly()
      .register(registry);

  private final Counter responses = Counter.builder()
      .name("vmap_http_responses_total")
      .help("HTTP responses by status code.")
      .labelNames("code")
      .register(registry);

  private final Counter scrapeErrors = Counter.builder()
      .name("vmap_info_scrape_errors_total")
      .help("Scrape-time info calls that failed or timed out.")
      .register(registry);

  private final Counter nodeRequests = Counter.builder()
      .name("vmap_node_requests_total")
      .help("Allocator requests over HTTP by the vmap node they are for (the area's node) and operation.")
      .labelNames("node", "op")
      .register(registry);

  private final Counter nodeErrors = Counter.builder()
      .name("vmap_node_request_errors_total")
      .help("Allocator requests over HTTP answered with a status of 400 or more, by vmap node and operation.")
      .labelNames("node", "op")
      .register(registry);

  private final Histogram nodeLatency = Histogram.builder()
      .name("vmap_node_request_latency_seconds")
      .help("Time to answer an allocator request over HTTP, by the vmap node it is for.")
      .labelNames("node")
      .classicUpperBounds(BUCKETS)
      .classicOnly()
      .register(registry);

  public Metrics() {
    for (String op : OPS) {
      latency.initLabelValues(op);
      for (String r : RESULTS) ops.initLabelValues(op, r);
    }
  }

  /** Records one operation: {@code result} is "ok" or an error code name. */
  public void record(String op, String result, long nanos) {
    ops.labelValues(op, result).inc();
    latency.labelValues(op).observe(Math.max(0, nanos) / 1e9);
  }

  /**
   * Records one allocator request for vmap node {@code node} (a number, or "unattributed"): the
   * per-node figures of the Nodes panel, for Prometheus.
   */
  public void nodeRequest(String node, String op, long nanos, boolean error) {
    nodeRequests.labelValues(node, op).inc();
    if (error) nodeErrors.labelValues(node, op).inc();
    nodeLatency.labelValues(node).observe(Math.max(0, nanos) / 1e9);
  }

  /** Records one HTTP response status. */
  public void response(int status) {
    responses.labelValues(Integer.toString(status)).inc();
  }

  /** The count of {@code op} with {@code result} so far. */
  public long count(String op, String result) {
    for (CounterSnapshot.CounterDataPointSnapshot d : ops.collect().getDataPoints()) {
      if (op.equals(d.getLabels().get("op")) && result.equals(d.getLabels().get("result"))) return (long) d.getValue();
    }
    return 0;
  }

  void scrapeFailed() {
    scrapeErrors.inc();
  }

  /**
   * The exposition text: this object's metrics, then the allocator's state from {@code info}
   * (omitted when null: the scrape-time info call failed or timed out, {@code vmap_info_up 0}).
   */
  public String render(VmapInfo info, boolean ready) {
    MetricSnapshots.Builder all = MetricSnapshots.builder();
    for (MetricSnapshot s : registry.scrape()) all.metricSnapshot(s);
    all.metricSnapshot(gauge("vmap_ready", "Whether this process accepts allocator traffic (1) or not (0).", ready ? 1 : 0));
    all.metricSnapshot(gauge("vmap_info_up", "Whether the scrape-time info call answered (1) or failed (0).", info != null ? 1 : 0));
    if (info != null) scrapeTime(all, info);
    ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
    try {
      TEXT.write(out, all.build());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The allocator's state at this scrape, as callback metrics of this scrape only. */
  private static void scrapeTime(MetricSnapshots.Builder all, VmapInfo info) {
    PurgeProtocol.Status p = info.purge();
    if (p != null) {
      all.metricSnapshot(gauge("vmap_lazy_pages", "Pages freed lazily and not yet purged (the kernel's vmap_lazy_nr).", p.lazyPages()));
      all.metricSnapshot(gauge("vmap_lazy_max_pages", "Purge threshold in pages (lazy_max_pages()).", p.thresholdPages()));
      all.metricSnapshot(counter("vmap_purge_epochs_total", "Purge epochs run since the coordinator started.", p.epochsRun()));
      all.metricSnapshot(counter("vmap_purge_released_areas_total", "Areas returned to the free space by purges.", p.areasReleased()));
      all.metricSnapshot(gauge("vmap_purge_running", "Whether a purge epoch is running (1) or the coordinator is idle (0).",
          "idle".equalsIgnoreCase(p.phase()) ? 0 : 1));
      all.metricSnapshot(gauge("vmap_flush_subscribers", "Flush subscribers registered with the purge coordinator.", p.subscribers()));
      all.metricSnapshot(gauge("vmap_purge_holders", "Subscribers the running epoch still waits for (its space is quarantined).",
          p.holders().size()));
    }
    all.metricSnapshot(gauge("vmap_space_bytes", "Size of the address space.", info.geometry().spaceBytes()));
    List<VmapInfo.NodeStats> nodes = info.nodes();
    all.metricSnapshot(perNode("vmap_free_bytes", "Free bytes in each node's free shard.", nodes, VmapInfo.NodeStats::freeBytes));
    all.metricSnapshot(perNode("vmap_largest_free_block_bytes", "Largest free block of each node's shard.", nodes,
        VmapInfo.NodeStats::largestFreeBlock));
    all.metricSnapshot(perNode("vmap_free_blocks", "Free blocks in each node's shard (fragmentation).", nodes,
        VmapInfo.NodeStats::freeBlocks));
    all.metricSnapshot(perNode("vmap_busy_areas", "Busy areas held by each node.", nodes, VmapInfo.NodeStats::busy));
    all.metricSnapshot(perNode("vmap_lazy_areas", "Lazily freed areas not yet purged, per node.", nodes, VmapInfo.NodeStats::lazy));
    all.metricSnapshot(perNode("vmap_reserved_bytes", "Bytes held by spanning reservations, per node.", nodes,
        VmapInfo.NodeStats::reservedBytes));
    tenants(all, info.tenants());
  }

  /** What each tenant holds, live and lazily freed (both count against its quota), and its quota. */
  private static void tenants(MetricSnapshots.Builder all, List<VmapInfo.TenantInfo> tenants) {
    all.metricSnapshot(GaugeWithCallback.builder().name("vmap_tenant_bytes")
        .help("Bytes a tenant holds over the whole space: live areas, and lazily freed ones not purged yet (both count"
            + " against its quota).")
        .labelNames("tenant", "state")
        .callback(cb -> {
          for (VmapInfo.TenantInfo t : tenants) {
            cb.call(unsigned(t.usage().liveBytes()), t.tenant(), "live");
            cb.call(unsigned(t.usage().lazyBytes()), t.tenant(), "lazy");
          }
        }).build().collect());
    all.metricSnapshot(GaugeWithCallback.builder().name("vmap_tenant_areas")
        .help("Areas a tenant holds over the whole space: live, and lazily freed ones not purged yet.")
        .labelNames("tenant", "state")
        .callback(cb -> {
          for (VmapInfo.TenantInfo t : tenants) {
            cb.call(t.usage().liveAreas(), t.tenant(), "live");
            cb.call(t.usage().lazyAreas(), t.tenant(), "lazy");
          }
        }).build().collect());
    all.metricSnapshot(GaugeWithCallback.builder().name("vmap_tenant_quota_bytes")
        .help("A tenant's quota in bytes (tenants with a byte limit only).")
        .labelNames("tenant")
        .callback(cb -> {
          for (VmapInfo.TenantInfo t : tenants) {
            if (t.quota().maxBytes() != io.vmap.state.Quota.UNLIMITED) cb.call(t.quota().maxBytes(), t.tenant());
          }
        }).build().collect());
    all.metricSnapshot(GaugeWithCallback.builder().name("vmap_tenant_quota_areas")
        .help("A tenant's quota in areas (tenants with an area limit only).")
        .labelNames("tenant")
        .callback(cb -> {
          for (VmapInfo.TenantInfo t : tenants) {
            if (t.quota().maxAreas() != io.vmap.state.Quota.UNLIMITED) cb.call(t.quota().maxAreas(), t.tenant());
          }
        }).build().collect());
  }

  private static MetricSnapshot gauge(String name, String help, long value) {
    return GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(unsigned(value))).build().collect();
  }

  private static MetricSnapshot counter(String name, String help, long value) {
    return CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(unsigned(value))).build().collect();
  }

  private static MetricSnapshot perNode(String name, String help, List<VmapInfo.NodeStats> nodes,
      ToLongFunction<VmapInfo.NodeStats> value) {
    return GaugeWithCallback.builder().name(name).help(help).labelNames("node")
        .callback(cb -> {
          for (VmapInfo.NodeStats n : nodes) cb.call(unsigned(value.applyAsLong(n)), Integer.toString(n.node()));
        })
        .build().collect();
  }

  /** An unsigned 64-bit count as a double (byte counts of a 2^64 space can have the top bit set). */
  private static double unsigned(long v) {
    return v >= 0 ? v : (v >>> 1) * 2.0 + (v & 1);
  }
}
