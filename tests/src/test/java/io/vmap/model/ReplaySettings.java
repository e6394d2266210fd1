package io.vmap.model;

import com.typesafe.config.ConfigFactory;
import io.vmap.client.VmapSettings;
import io.vmap.space.Geometry;

/** Engine settings for the replay tests: reference.conf plus a geometry, threshold and tuning. */
public final class ReplaySettings {

  private ReplaySettings() {}

  /**
   * @param lazyMax purge threshold in pages, null for the default
   * @param windowZones {@code vmap.spanning.window-zones}, null for reference.conf
   * @param releaseBatch {@code vmap.purge.release-batch}, null for reference.conf
   */
  public static VmapSettings of(Geometry g, Long lazyMax, Integer windowZones, Integer releaseBatch) {
    StringBuilder conf = new StringBuilder();
    if (windowZones != null) conf.append("vmap.spanning.window-zones = ").append(windowZones).append('\n');
    if (releaseBatch != null) conf.append("vmap.purge.release-batch = ").append(releaseBatch).append('\n');
    VmapSettings base = conf.length() == 0
        ? VmapSettings.defaults()
        : VmapSettings.from(ConfigFactory.parseString(conf.toString()).withFallback(ConfigFactory.load()));
    return base.withGeometry(g, lazyMax);
  }
}
