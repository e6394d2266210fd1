package io.vmap.state;

/**
 * What one tenant holds, on one node or summed over all: live (busy) areas, and lazily freed areas
 * not released yet. Quotas count both (DESIGN.md "Tenants"): a freed area's space is not reusable
 * until a purge releases it.
 */
public record TenantUsage(String tenant, long liveBytes, long liveAreas, long lazyBytes, long lazyAreas) {

  public static TenantUsage none(String tenant) {
    return new TenantUsage(tenant, 0, 0, 0, 0);
  }

  /** Bytes counted against the quota: live and lazy. */
  public long bytes() {
    return liveBytes + lazyBytes;
  }

  /** Areas counted against the quota: live and lazy. */
  public long areas() {
    return liveAreas + lazyAreas;
  }

  public TenantUsage plus(TenantUsage o) {
    return new TenantUsage(tenant, liveBytes + o.liveBytes, liveAreas + o.liveAreas, lazyBytes + o.lazyBytes,
        lazyAreas + o.lazyAreas);
  }

  public boolean isEmpty() {
    return liveAreas == 0 && lazyAreas == 0;
  }
}
