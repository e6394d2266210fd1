package io.vmap.client;

import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.ClientProtocol;
import io.vmap.node.VmapNode;
import io.vmap.state.LazyArea;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The whole space at one moment, the {@code /proc/vmallocinfo} idea: every busy area in address
 * order, then the lazily freed ones not purged yet, then per-node and overall totals.
 *
 * <p>Nodes answer one by one, so under concurrent traffic the totals are a sum of per-node
 * snapshots, not one atomic snapshot; when idle, {@code free + busy + lazy + reserved == space}.
 */
public record VmapInfo(
    Geometry geometry,
    List<AreaInfo> busy,
    List<AreaInfo> lazy,
    List<NodeStats> nodes,
    PurgeProtocol.Status purge) {

  public record AreaInfo(Area area, int node) {}

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

  static VmapInfo of(Geometry g, List<ClientProtocol.NodeInfo> infos, PurgeProtocol.Status purge) {
    List<AreaInfo> busy = new ArrayList<>();
    List<AreaInfo> lazy = new ArrayList<>();
    List<NodeStats> stats = new ArrayList<>();
    for (ClientProtocol.NodeInfo n : infos) {
      for (Area a : n.busy()) busy.add(new AreaInfo(a, n.node()));
      for (LazyArea la : n.lazy()) lazy.add(new AreaInfo(la.area(), n.node()));
      stats.add(
          new NodeStats(
              n.node(), n.busy().size(), n.lazy().size(), n.freeBytes(), n.freeBlocks(),
              n.largestFreeBlock(), n.reservations(), n.reservedBytes(), n.heldParts()));
    }
    Comparator<AreaInfo> byStart = (x, y) -> Long.compareUnsigned(x.area().start(), y.area().start());
    busy.sort(byStart);
    lazy.sort(byStart);
    stats.sort(Comparator.comparingInt(NodeStats::node));
    return new VmapInfo(g, List.copyOf(busy), List.copyOf(lazy), List.copyOf(stats), purge);
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
    sb.append(String.format("# busy=%d (%d bytes) lazy=%d (%d bytes) free=%d reserved=%d space=%d%n",
        busy.size(), busyBytes(), lazy.size(), lazyBytes(), freeBytes(), reservedBytes(),
        geometry.spaceBytes()));
    for (NodeStats n : nodes) {
      sb.append(String.format("# node %d: busy=%d lazy=%d free=%d blocks=%d largest=%d reservations=%d held=%d%n",
          n.node(), n.busy(), n.lazy(), n.freeBytes(), n.freeBlocks(), n.largestFreeBlock(),
          n.reservations(), n.heldParts()));
    }
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
    if (!a.area().tag().isEmpty()) sb.append(' ').append(a.area().tag());
    sb.append(suffix).append('\n');
  }
}
