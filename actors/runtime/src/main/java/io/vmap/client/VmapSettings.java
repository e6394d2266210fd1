package io.vmap.client;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.node.NodeSettings;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import io.vmap.state.Principal;
import io.vmap.state.Quota;
import io.vmap.state.Quotas;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything under {@code vmap} in the configuration (documented key by key in reference.conf).
 *
 * @param lazyMaxPages purge threshold in pages; {@code fls(nodes) * 32 MiB / page} when "auto"
 * @param persistencePrefix null for volatile nodes; else node k's persistence id is this + k
 */
public record VmapSettings(
    Geometry geometry,
    long lazyMaxPages,
    int releaseBatch,
    NodeSettings node,
    Duration clientTimeout,
    String persistencePrefix) {

  /** Reads {@code vmap.*}; a bad value is an IllegalArgumentException naming the key. */
  public static VmapSettings from(Config root) {
    Config c = root.getConfig("vmap");
    Geometry g;
    try {
      g =
          new Geometry(
              Unsigned.parse(c.getString("space.start")),
              Unsigned.parse(c.getString("space.end")),
              c.getBytes("space.page"),
              c.getBytes("space.zone"),
              c.getInt("space.nodes"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("vmap.space: " + e.getMessage(), e);
    }
    String lazy = c.getString("purge.lazy-max-pages");
    long lazyMax;
    if (lazy.equals("auto")) {
      lazyMax = g.defaultLazyMaxPages();
    } else {
      try {
        lazyMax = Long.parseLong(lazy);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("vmap.purge.lazy-max-pages: '" + lazy + "' is not a number or auto");
      }
      if (lazyMax < 0) throw new IllegalArgumentException("vmap.purge.lazy-max-pages: " + lazy + " < 0");
    }
    int batch = c.getInt("purge.release-batch");
    if (batch < 1) throw new IllegalArgumentException("vmap.purge.release-batch: " + batch + " < 1");
    NodeSettings ns =
        new NodeSettings(
            c.getInt("node.dedup-window"),
            c.getInt("node.dedup-sessions"),
            c.getInt("node.dedup-capacity"),
            c.getInt("node.decision-capacity"),
            c.getDuration("spanning.lease"),
            c.getInt("spanning.window-zones"),
            c.getInt("spanning.max-attempts"),
            c.getDuration("node.ask-timeout"),
            c.getInt("node.stash-capacity"),
            c.getInt("node.snapshot-every"),
            c.getInt("node.max-batch-events"),
            quotas(root));
    String mode = c.getString("mode");
    String prefix =
        switch (mode) {
          case "volatile" -> null;
          case "durable" -> c.getString("persistence-id-prefix");
          default -> throw new IllegalArgumentException("vmap.mode: '" + mode + "' is not volatile or durable");
        };
    return new VmapSettings(g, lazyMax, batch, ns, c.getDuration("client.ask-timeout"), prefix);
  }

  /**
   * Every tenant's quota from {@code vmap.tenants}: {@code max-bytes} / {@code max-areas} for every
   * tenant not listed, and {@code quotas.<tenant>} for the listed ones; {@code off} means no limit.
   * A bad value is an IllegalArgumentException naming the key.
   */
  public static Quotas quotas(Config root) {
    if (!root.hasPath("vmap.tenants")) return Quotas.NONE;
    Config t = root.getConfig("vmap.tenants");
    Quota every = quota(t, "vmap.tenants");
    Map<String, Quota> byTenant = new TreeMap<>();
    if (t.hasPath("quotas")) {
      for (String name : t.getObject("quotas").keySet()) {
        String key = "vmap.tenants.quotas." + name;
        try {
          Principal.checkTenant(name);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(key + ": " + e.getMessage());
        }
        Config q = t.getConfig("quotas").getConfig(com.typesafe.config.ConfigUtil.quoteString(name));
        byTenant.put(name, quota(q.withFallback(com.typesafe.config.ConfigFactory.parseString(
            "max-bytes = off\nmax-areas = off")), key));
      }
    }
    return new Quotas(every, byTenant);
  }

  private static Quota quota(Config q, String where) {
    long bytes = limit(q, "max-bytes", where, true);
    long areas = limit(q, "max-areas", where, false);
    return new Quota(bytes, areas);
  }

  private static long limit(Config q, String key, String where, boolean bytes) {
    if (!q.hasPath(key)) return Quota.UNLIMITED;
    if (q.getValue(key).valueType() == com.typesafe.config.ConfigValueType.STRING
        && q.getString(key).trim().equalsIgnoreCase("off")) {
      return Quota.UNLIMITED;
    }
    long v;
    try {
      v = bytes ? q.getBytes(key) : q.getLong(key);
    } catch (com.typesafe.config.ConfigException e) {
      throw new IllegalArgumentException(where + "." + key + ": '" + q.getValue(key).unwrapped()
          + "' is not off or " + (bytes ? "a size (1 GiB, 1048576)" : "a number of areas"));
    }
    if (v < 0) throw new IllegalArgumentException(where + "." + key + ": " + v + " < 0");
    return v;
  }

  /** reference.conf alone. */
  public static VmapSettings defaults() {
    return from(ConfigFactory.load());
  }

  public VmapSettings withGeometry(Geometry g, Long lazyMaxPagesOrNull) {
    return new VmapSettings(
        g, lazyMaxPagesOrNull == null ? g.defaultLazyMaxPages() : lazyMaxPagesOrNull,
        releaseBatch, node, clientTimeout, persistencePrefix);
  }

  public VmapSettings withNode(NodeSettings n) {
    return new VmapSettings(geometry, lazyMaxPages, releaseBatch, n, clientTimeout, persistencePrefix);
  }

  public VmapSettings withReleaseBatch(int batch) {
    return new VmapSettings(geometry, lazyMaxPages, batch, node, clientTimeout, persistencePrefix);
  }

  /** Durable nodes (event sourced through the configured Akka Persistence journal), ids prefix + k. */
  public VmapSettings durable(String prefix) {
    return new VmapSettings(geometry, lazyMaxPages, releaseBatch, node, clientTimeout, prefix);
  }

  public boolean isDurable() {
    return persistencePrefix != null;
  }

  /** Node k's persistence id, or null when volatile. */
  public String persistenceId(int k) {
    return persistencePrefix == null ? null : persistencePrefix + k;
  }
}
