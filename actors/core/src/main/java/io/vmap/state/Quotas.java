package io.vmap.state;

import java.util.Map;
import java.util.TreeMap;

/**
 * Every tenant's quota ({@code vmap.tenants} in reference.conf): one per listed tenant, and {@link
 * #everyOther} for the rest (default: none).
 */
public record Quotas(Quota everyOther, Map<String, Quota> byTenant) {

  public static final Quotas NONE = new Quotas(Quota.NONE, Map.of());

  public Quotas {
    if (everyOther == null) throw new IllegalArgumentException("no quota for every other tenant");
    TreeMap<String, Quota> copy = new TreeMap<>();
    for (Map.Entry<String, Quota> e : byTenant.entrySet()) copy.put(Principal.checkTenant(e.getKey()), e.getValue());
    byTenant = java.util.Collections.unmodifiableMap(copy);
  }

  public Quota of(String tenant) {
    Quota q = byTenant.get(tenant);
    return q != null ? q : everyOther;
  }

  /** Whether allocations of {@code tenant} are checked against a quota at all. */
  public boolean limits(String tenant) {
    return of(tenant).limited();
  }

  public boolean any() {
    if (everyOther.limited()) return true;
    for (Quota q : byTenant.values()) if (q.limited()) return true;
    return false;
  }
}
