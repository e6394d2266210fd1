package io.vmap.state;

import io.vmap.space.Area;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which tenant each of a node's areas belongs to, and what every tenant holds on the node: part of
 * {@link NodeState}, changed only by its {@code apply} methods, so it is derived from the node's
 * durable events and snapshots like everything else (it survives recovery and moves with the node).
 *
 * <p>An area's owner is kept from its allocation until its release by a purge: a lazily freed area
 * still counts against its tenant's quota (DESIGN.md "Tenants"), and no other area can start at that
 * address meanwhile, so the start identifies the area. Only owners other than the default tenant
 * are stored, so an allocator without tenants keeps nothing here but one usage row.
 *
 * <p>Readers on other threads ({@link NodeState#findOwned}) look owners up without the node's
 * mailbox: the node changes an owner only after bumping {@link #version()}, and records a new
 * owner before the area enters the busy tree, so a reader that sees the same version before and
 * after its lookups saw a consistent pair.
 */
public final class Ownership {

  private static final String DEFAULT = Principal.DEFAULT_TENANT;
  private static final int LIVE_BYTES = 0;
  private static final int LIVE_AREAS = 1;
  private static final int LAZY_BYTES = 2;
  private static final int LAZY_AREAS = 3;

  /** Owners other than the default tenant, by area start: busy and unpurged areas whose start is ours. */
  private final ConcurrentHashMap<Long, String> owners = new ConcurrentHashMap<>();
  /** Bumped before every change of {@link #owners}; one writer (the node). */
  private volatile long version;
  /** Per tenant: live bytes, live areas, lazy bytes, lazy areas. Only the node's thread. */
  private final Map<String, long[]> usage = new HashMap<>();
  /**
   * The row used last and its tenant (tenant names are interned here, so compared by identity):
   * every allocation, free and release of one tenant finds its row without hashing the name.
   */
  private String lastTenant;
  private long[] lastRow;
  /** One String per tenant name, however many events carried it. */
  private final Map<String, String> names = new HashMap<>();

  Ownership() {}

  /** Called before {@code a} enters the busy tree. */
  void allocated(Area a, String tenant) {
    String t = intern(tenant);
    if (!t.equals(DEFAULT)) {
      version++;
      owners.put(a.start(), t);
    }
    long[] u = row(t);
    u[LIVE_BYTES] += a.size();
    u[LIVE_AREAS]++;
  }

  /** {@code a} moved from the busy tree to the lazy list: still counted, as lazy. */
  void freed(Area a) {
    long[] u = row(ownerOf(a.start()));
    u[LIVE_BYTES] -= a.size();
    u[LIVE_AREAS]--;
    u[LAZY_BYTES] += a.size();
    u[LAZY_AREAS]++;
  }

  /** {@code a}'s space went back to the free shard: no longer counted, and its owner is forgotten. */
  void released(Area a) {
    String t = ownerOf(a.start());
    long[] u = row(t);
    u[LAZY_BYTES] -= a.size();
    u[LAZY_AREAS]--;
    if (u[LIVE_AREAS] == 0 && u[LAZY_AREAS] == 0) {
      usage.remove(t);
      lastRow = null;
    }
    if (!t.equals(DEFAULT)) {
      version++;
      owners.remove(a.start());
    }
  }

  /** {@code t}'s usage row, made if it has none. */
  private long[] row(String t) {
    if (t == lastTenant && lastRow != null) return lastRow;
    long[] u = usage.computeIfAbsent(t, k -> new long[4]);
    lastTenant = t;
    lastRow = u;
    return u;
  }

  private String intern(String tenant) {
    if (tenant == null || tenant.isEmpty() || tenant.equals(DEFAULT)) return DEFAULT;
    return names.computeIfAbsent(tenant, k -> k);
  }

  /** The tenant of the busy or unpurged area starting at {@code start} (the default tenant if none is stored). */
  public String ownerOf(long start) {
    // Without tenants nothing is stored: no boxed start per free and release.
    if (owners.isEmpty()) return DEFAULT;
    String t = owners.get(start);
    return t == null ? DEFAULT : t;
  }

  /** Changes whenever an owner is recorded or forgotten (see the class comment). */
  public long version() {
    return version;
  }

  /** What {@code tenant} holds on this node (busy and unpurged areas whose start is ours). */
  public TenantUsage usage(String tenant) {
    long[] u = usage.get(tenant);
    return u == null ? TenantUsage.none(tenant) : new TenantUsage(tenant, u[0], u[1], u[2], u[3]);
  }

  /** Every tenant holding something on this node, by name. */
  public List<TenantUsage> usages() {
    List<TenantUsage> out = new ArrayList<>(usage.size());
    for (String t : new TreeMap<>(usage).keySet()) out.add(usage(t));
    return out;
  }

  /** The owners other than the default tenant, by area start (a copy). */
  public Map<Long, String> owners() {
    return new HashMap<>(owners);
  }

  /** Rebuilds everything from the node's areas and the stored owners (recovery, a copy). */
  void restore(Map<Long, String> stored, Collection<Area> busy, Collection<LazyArea> unpurged) {
    version++;
    owners.clear();
    usage.clear();
    lastRow = null;
    for (Map.Entry<Long, String> e : stored.entrySet()) {
      String t = intern(e.getValue());
      if (!t.equals(DEFAULT)) owners.put(e.getKey(), t);
    }
    for (Area a : busy) {
      long[] u = usage.computeIfAbsent(ownerOf(a.start()), k -> new long[4]);
      u[LIVE_BYTES] += a.size();
      u[LIVE_AREAS]++;
    }
    for (LazyArea la : unpurged) {
      long[] u = usage.computeIfAbsent(ownerOf(la.area().start()), k -> new long[4]);
      u[LAZY_BYTES] += la.area().size();
      u[LAZY_AREAS]++;
    }
  }

  /**
   * Checks that every stored owner belongs to a busy or unpurged area and that the usage rows are
   * exactly what those areas add up to. Throws IllegalStateException naming the difference.
   */
  void check(int node, Collection<Area> busy, Collection<LazyArea> unpurged) {
    Ownership fresh = new Ownership();
    fresh.restore(owners, busy, unpurged);
    java.util.Set<Long> starts = new java.util.HashSet<>();
    for (Area a : busy) starts.add(a.start());
    for (LazyArea la : unpurged) starts.add(la.area().start());
    for (Long s : owners.keySet()) {
      if (!starts.contains(s)) {
        throw new IllegalStateException("node " + node + ": owner " + owners.get(s) + " recorded for "
            + io.vmap.space.Unsigned.hex(s) + ", where no area starts");
      }
    }
    if (!fresh.usages().equals(usages())) {
      throw new IllegalStateException("node " + node + ": tenant usage " + usages() + " but the areas add up to "
          + fresh.usages());
    }
  }
}
