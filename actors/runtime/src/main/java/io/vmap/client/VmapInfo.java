package io.vmap.client;

import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.ClientProtocol;
import io.vmap.node.VmapNode;
import io.vmap.state.LazyArea;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.state.Principal;
import io.vmap.state.Quota;
import io.vmap.state.Quotas;
import io.vmap.state.TenantUsage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The whole space at one moment, the {@code /proc/vmallocinfo} idea: every busy area in address
 * order, then the lazily freed ones not purged yet, then per-node and overall totals.
 *
 * <p>Nodes answer one by one, so under concurrent traffic the totals are a sum of per-node
 * snapshots, not one atomic snapshot; when idle, {@code free + busy + lazy + reserved == space}.
 *
 * <p>Tenants: every area names its tenant, and {@link #tenants} has each tenant's usage (live and
 * lazily freed areas, summed over the nodes) and quota. An admin's info shows everything; a
 * tenant's ({@link #forTenant}, {@code scope} = that tenant) only its own areas and its own row,
 * without the nodes' counters or the purge coordinator's status.
 *
 * @param scope null for the whole space, else the one tenant this view shows
 */
public record VmapInfo(
    Geometry geometry,
    List<AreaInfo> busy,
    List<AreaInfo> lazy,
    List<NodeStats> nodes,
    PurgeProtocol.Status purge,
    List<TenantInfo> tenants,
    String scope) {

  public VmapInfo {
    if (tenants == null) tenants = List.of();
  }

  /** The whole space, without tenant rows. */
  public VmapInfo(Geometry geometry, List<AreaInfo> busy, List<AreaInfo> lazy, List<NodeStats> nodes,
      PurgeProtocol.Status purge) {
    this(geometry, busy, lazy, nodes, purge, List.of(), null);
  }

  /** @param tenant the tenant the area belongs to */
  public record AreaInfo(Area area, int node, String tenant) {
    public AreaInfo {
      if (tenant == null) tenant = Principal.DEFAULT_TENANT;
    }

    /** An area of the default tenant. */
    public AreaInfo(Area area, int node) {
      this(area, node, Principal.DEFAULT_TENANT);
    }
  }

  /** What a tenant holds over the whole space (live and lazily freed areas) and its quota. */
  public record TenantInfo(String tenant, TenantUsage usage, Quota quota) {}

  public record NodeStats(
      int node,
      int busy,
      int lazy,
      long freeBytes,
      int freeBlocks,
      long largestFreeBlock,
      int reservations,
      long reservedBytes,
      int heldParts) {}

  static VmapInfo of(Geometry g, List<ClientProtocol.NodeInfo> infos, PurgeProtocol.Status purge, Quotas quotas) {
    List<AreaInfo> busy = new ArrayList<>();
    List<AreaInfo> lazy = new ArrayList<>();
    List<NodeStats> stats = new ArrayList<>();
    List<TenantUsage> perNode = new ArrayList<>();
    for (ClientProtocol.NodeInfo n : infos) {
      for (Area a : n.busy()) busy.add(new AreaInfo(a, n.node(), n.ownerOf(a.start())));
      for (LazyArea la : n.lazy()) lazy.add(new AreaInfo(la.area(), n.node(), n.ownerOf(la.area().start())));
      perNode.addAll(n.tenants());
      stats.add(
          new NodeStats(
              n.node(), n.busy().size(), n.lazy().size(), n.freeBytes(), n.freeBlocks(),
              n.largestFreeBlock(), n.reservations(), n.reservedBytes(), n.heldParts()));
    }
    Comparator<AreaInfo> byStart = (x, y) -> Long.compareUnsigned(x.area().start(), y.area().start());
    busy.sort(byStart);
    lazy.sort(byStart);
    stats.sort(Comparator.comparingInt(NodeStats::node));
    return new VmapInfo(g, List.copyOf(busy), List.copyOf(lazy), List.copyOf(stats), purge, tenantRows(perNode, quotas),
        null);
  }

  /**
   * One row per tenant, by name: its usage summed over the nodes' {@code perNode} rows, and its
   * quota; every tenant with a quota of its own has a row, holding something or not.
   */
  static List<TenantInfo> tenantRows(List<TenantUsage> perNode, Quotas quotas) {
    Map<String, TenantUsage> usage = new TreeMap<>();
    for (String t : quotas.byTenant().keySet()) usage.put(t, TenantUsage.none(t));
    for (TenantUsage u : perNode) usage.merge(u.tenant(), u, TenantUsage::plus);
    List<TenantInfo> tenants = new ArrayList<>();
    for (TenantUsage u : usage.values()) tenants.add(new TenantInfo(u.tenant(), u, quotas.of(u.tenant())));
    return List.copyOf(tenants);
  }

  /**
   * What {@code tenant} may see of this info: its own areas and its own usage and quota; no other
   * tenant's areas or rows, no per-node counters, no purge status.
   */
  public VmapInfo forTenant(String tenant) {
    List<TenantInfo> mine = tenants.stream().filter(t -> t.tenant().equals(tenant)).toList();
    return new VmapInfo(geometry,
        busy.stream().filter(a -> a.tenant().equals(tenant)).toList(),
        lazy.stream().filter(a -> a.tenant().equals(tenant)).toList(),
        List.of(), null, mine, tenant);
  }

  /** {@code tenant}'s row: its usage over the whole space and its quota (empty usage if it holds nothing). */
  public TenantInfo tenant(String tenant) {
    for (TenantInfo t : tenants) if (t.tenant().equals(tenant)) return t;
    return new TenantInfo(tenant, TenantUsage.none(tenant), Quota.NONE);
  }

  public long busyBytes() {
    return sum(busy);
  }

  public long lazyBytes() {
    return sum(lazy);
  }

  public long freeBytes() {
    long b = 0;
    for (NodeStats n : nodes) b += n.freeBytes();
    return b;
  }

  public long reservedBytes() {
    long b = 0;
    for (NodeStats n : nodes) b += n.reservedBytes();
    return b;
  }

  /** Whether free, busy, lazy and reserved bytes add up to the space exactly. */
  public boolean accountsForSpace() {
    return freeBytes() + busyBytes() + lazyBytes() + reservedBytes() == geometry.spaceBytes();
  }

  private static long sum(List<AreaInfo> l) {
    long b = 0;
    for (AreaInfo a : l) b += a.area().size();
    return b;
  }

  /** The vmallocinfo text: one line per area, then totals. */
  public String render() {
    StringBuilder sb = new StringBuilder();
    for (AreaInfo a : busy) line(sb, a, "");
    for (AreaInfo a : lazy) line(sb, a, " unpurged");
    if (scope != null) {
      sb.append(String.format("# tenant %s: busy=%d (%d bytes) lazy=%d (%d bytes)%n", scope, busy.size(), busyBytes(),
          lazy.size(), lazyBytes()));
      for (TenantInfo t : tenants) tenantLine(sb, t);
      return sb.toString();
    }
    sb.append(String.format("# busy=%d (%d bytes) lazy=%d (%d bytes) free=%d reserved=%d space=%d%n",
        busy.size(), busyBytes(), lazy.size(), lazyBytes(), freeBytes(), reservedBytes(),
        geometry.spaceBytes()));
    for (NodeStats n : nodes) {
      sb.append(String.format("# node %d: busy=%d lazy=%d free=%d blocks=%d largest=%d reservations=%d held=%d%n",
          n.node(), n.busy(), n.lazy(), n.freeBytes(), n.freeBlocks(), n.largestFreeBlock(),
          n.reservations(), n.heldParts()));
    }
    // Tenant rows only once there is more than the default tenant or a quota (the text is unchanged without tenants).
    boolean showTenants = tenants.stream().anyMatch(t -> !t.tenant().equals(Principal.DEFAULT_TENANT) || t.quota().limited());
    if (showTenants) for (TenantInfo t : tenants) tenantLine(sb, t);
    if (purge != null) {
      sb.append(String.format("# purge: epoch=%d phase=%s lazy_pages=%d threshold=%d subscribers=%d epochs=%d released=%d%n",
          purge.epoch(), purge.phase(), purge.lazyPages(), purge.thresholdPages(), purge.subscribers(),
          purge.epochsRun(), purge.areasReleased()));
      for (PurgeProtocol.Holder h : purge.holders()) {
        sb.append(String.format("# purge: epoch %d waits for %s since %s%n", h.epoch(), h.subscriber(), h.flushSentAt()));
      }
    }
    return sb.toString();
  }

  private static void line(StringBuilder sb, AreaInfo a, String suffix) {
    sb.append(Unsigned.hex(a.area().start())).append('-').append(Unsigned.hex(a.area().end()))
        .append(String.format(" %12d node=%d", a.area().size(), a.node()));
    if (!a.tenant().equals(Principal.DEFAULT_TENANT)) sb.append(" tenant=").append(a.tenant());
    if (!a.area().tag().isEmpty()) sb.append(' ').append(a.area().tag());
    sb.append(suffix).append('\n');
  }

  private static void tenantLine(StringBuilder sb, TenantInfo t) {
    TenantUsage u = t.usage();
    sb.append(String.format("# tenant %s: areas=%d bytes=%d (lazy: areas=%d bytes=%d) quota: %s%n", t.tenant(),
        u.areas(), u.bytes(), u.lazyAreas(), u.lazyBytes(), t.quota().describe()));
  }
}
