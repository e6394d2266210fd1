package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.vmap.client.VmapInfo;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Geometry;
import io.vmap.state.Quota;
import io.vmap.state.TenantUsage;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * {@code GET /v1/info?format=json}: the {@link VmapInfo} of a member (every area, per-node
 * statistics, totals, the purge coordinator's status, every tenant's usage and quota), and back
 * ({@code vmap check --url}). For a tenant without the admin role, {@code scope} is that tenant and
 * only its areas and its row are there.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record InfoJson(
    GeometryJson geometry, List<AreaJson> busy, List<AreaJson> lazy, List<NodeJson> nodes, Totals totals, Purge purge,
    List<TenantJson> tenants, @JsonInclude(JsonInclude.Include.NON_NULL) String scope) {

  /**
   * A tenant's usage over the whole space, live and lazily freed (both count against its quota),
   * and its quota; a null limit is none.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record TenantJson(
      String tenant,
      long areas,
      long bytes,
      long liveAreas,
      long liveBytes,
      long lazyAreas,
      long lazyBytes,
      Long maxAreas,
      Long maxBytes) {

    public static TenantJson of(VmapInfo.TenantInfo t) {
      TenantUsage u = t.usage();
      Quota q = t.quota();
      return new TenantJson(t.tenant(), u.areas(), u.bytes(), u.liveAreas(), u.liveBytes(), u.lazyAreas(), u.lazyBytes(),
          q.maxAreas() == Quota.UNLIMITED ? null : q.maxAreas(), q.maxBytes() == Quota.UNLIMITED ? null : q.maxBytes());
    }

    VmapInfo.TenantInfo toInfo() {
      return new VmapInfo.TenantInfo(need(tenant, "tenants.tenant"),
          new TenantUsage(tenant, liveBytes, liveAreas, lazyBytes, lazyAreas),
          new Quota(maxBytes == null ? Quota.UNLIMITED : maxBytes, maxAreas == null ? Quota.UNLIMITED : maxAreas));
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record GeometryJson(
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long vstart,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long vend,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long page,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long zone,
      Integer nodes,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long spaceBytes) {

    static GeometryJson of(Geometry g) {
      return new GeometryJson(g.vstart(), g.vend(), g.page(), g.zone(), g.nodes(), g.spaceBytes());
    }

    Geometry toGeometry() {
      return new Geometry(need(vstart, "geometry.vstart"), need(vend, "geometry.vend"), need(page, "geometry.page"),
          need(zone, "geometry.zone"), need(nodes, "geometry.nodes"));
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record NodeJson(
      int node,
      int busy,
      int lazy,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long freeBytes,
      int freeBlocks,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long largestFreeBlock,
      int reservations,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long reservedBytes,
      int heldParts) {

    static NodeJson of(VmapInfo.NodeStats n) {
      return new NodeJson(n.node(), n.busy(), n.lazy(), n.freeBytes(), n.freeBlocks(), n.largestFreeBlock(),
          n.reservations(), n.reservedBytes(), n.heldParts());
    }

    VmapInfo.NodeStats toStats() {
      return new VmapInfo.NodeStats(node, busy, lazy, freeBytes, freeBlocks, largestFreeBlock, reservations,
          reservedBytes, heldParts);
    }
  }

  /** Sums over the nodes and areas (derived: ignored when read back). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Totals(
      int busy,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long busyBytes,
      int lazy,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long lazyBytes,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long freeBytes,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long reservedBytes,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long spaceBytes,
      boolean accountsForSpace) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Purge(
      long epoch,
      String phase,
      long lazyPages,
      long thresholdPages,
      int subscribers,
      long epochsRun,
      long areasReleased,
      List<Holder> holders) {}

  /** A subscriber the running purge epoch waits for; {@code flushSentAt} is ISO-8601 or null. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Holder(String subscriber, long epoch, String flushSentAt) {}

  public static InfoJson of(VmapInfo info) {
    Geometry g = info.geometry();
    Totals totals = new Totals(info.busy().size(), info.busyBytes(), info.lazy().size(), info.lazyBytes(),
        info.freeBytes(), info.reservedBytes(), g.spaceBytes(), info.accountsForSpace());
    PurgeProtocol.Status p = info.purge();
    Purge purge = p == null ? null : new Purge(p.epoch(), p.phase(), p.lazyPages(), p.thresholdPages(), p.subscribers(),
        p.epochsRun(), p.areasReleased(), p.holders().stream()
            .map(h -> new Holder(h.subscriber(), h.epoch(), h.flushSentAt() == null ? null : h.flushSentAt().toString()))
            .toList());
    return new InfoJson(GeometryJson.of(g),
        info.busy().stream().map(AreaJson::of).toList(),
        info.lazy().stream().map(AreaJson::of).toList(),
        info.nodes().stream().map(NodeJson::of).toList(), totals, purge,
        info.tenants().stream().map(TenantJson::of).toList(), info.scope());
  }

  /**
   * The info again (the totals are derived from the rest).
   *
   * @throws Api.BadJson naming what is missing or malformed
   */
  public VmapInfo toVmapInfo() {
    Geometry g;
    try {
      g = need(geometry, "geometry").toGeometry();
    } catch (IllegalArgumentException e) {
      if (e instanceof Api.BadJson) throw e;
      throw new Api.BadJson("geometry: " + e.getMessage());
    }
    PurgeProtocol.Status status = null;
    if (purge != null) {
      List<PurgeProtocol.Holder> hs = purge.holders() == null ? List.of() : purge.holders().stream()
          .map(h -> new PurgeProtocol.Holder(h.subscriber(), h.epoch(), instant(h.flushSentAt()))).toList();
      status = new PurgeProtocol.Status(purge.epoch(), purge.phase(), purge.lazyPages(), purge.thresholdPages(),
          purge.subscribers(), hs, purge.epochsRun(), purge.areasReleased());
    }
    return new VmapInfo(g, areas(need(busy, "busy")), areas(need(lazy, "lazy")),
        need(nodes, "nodes").stream().map(NodeJson::toStats).toList(), status,
        tenants == null ? List.of() : tenants.stream().map(TenantJson::toInfo).toList(), scope);
  }

  private static List<VmapInfo.AreaInfo> areas(List<AreaJson> l) {
    return l.stream().map(a -> new VmapInfo.AreaInfo(a.toArea(), a.node(), a.tenant())).toList();
  }

  private static Instant instant(String s) {
    if (s == null) return null;
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new Api.BadJson("purge.holders.flushSentAt: not an ISO-8601 instant: '" + s + "'");
    }
  }

  private static <T> T need(T v, String field) {
    if (v == null) throw new Api.BadJson("not vmap info JSON: no '" + field + "'");
    return v;
  }
}
