package io.vmap.runner;

import io.vmap.cli.CliCommand;
import java.io.PrintWriter;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.vmap.client.VmapSettings;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.nio.file.Path;
import java.util.TreeSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vmap info}: the effective configuration, checked, without starting anything. */
@Command(
    name = "info",
    header = "Prints the effective configuration, checked, without starting anything.",
    description = {
      "Geometry (space, page, zone, nodes, zones in the space and per node), the purge",
      "threshold, then every other vmap.* setting. Bad values: exit status 2."
    })
final class InfoCommand extends CliCommand {

  @Option(names = "--config", paramLabel = "FILE",
      description = "HOCON file over reference.conf (default: cluster-config/embedded.conf).")
  Path config;

  @Override
  protected int run() {
    RunnerConfig rc = RunnerConfig.load(config);
    VmapSettings s = rc.settings();
    Geometry g = s.geometry();
    PrintWriter o = out();
    String fmt = "%-22s %s%n";

    o.printf(fmt, "config:", rc.source());
    o.printf(fmt, "space:", Unsigned.hex(g.vstart()) + ":" + Unsigned.hex(g.vend())
        + " (" + Long.toUnsignedString(g.spaceBytes()) + " bytes, " + Numbers.bytes(g.spaceBytes()) + ")");
    o.printf(fmt, "page:", g.page() + " (" + Numbers.bytes(g.page()) + ")");
    o.printf(fmt, "zone:", g.zone() + " (" + Numbers.bytes(g.zone()) + ", "
        + g.zone() / g.page() + " pages)");
    o.printf(fmt, "nodes:", g.nodes() + (g.nodes() == 1 ? " (one shard: a single global allocator)" : ""));

    long zones = g.zoneCount();
    StringBuilder z = new StringBuilder(Long.toUnsignedString(zones));
    z.append(" (zone numbers ").append(Long.toUnsignedString(g.firstZone())).append("..")
        .append(Long.toUnsignedString(g.lastZone()));
    if ((g.vstart() & (g.zone() - 1)) != 0) z.append("; first zone cut short");
    if ((g.vend() & (g.zone() - 1)) != 0) z.append("; last zone cut short");
    if (g.nodes() > 1) z.append("; at most ").append(Geometry.MAX_ZONES);
    z.append(')');
    o.printf(fmt, "zones in space:", z);

    if (g.nodes() == 1) {
      o.printf(fmt, "zones per node:", Long.toUnsignedString(zones) + " (merged into one free range)");
    } else {
      long min = Long.divideUnsigned(zones, g.nodes());
      long extra = Long.remainderUnsigned(zones, g.nodes());
      String per = extra == 0
          ? Long.toUnsignedString(min) + " (every node " + Numbers.bytes(min * g.zone()) + ")"
          : min + ".." + (min + 1) + " (" + extra + (extra == 1 ? " node owns " : " nodes own ") + (min + 1) + ")";
      o.printf(fmt, "zones per node:", per);
      if (Long.compareUnsigned(zones, g.nodes()) < 0) {
        o.printf(fmt, "warning:", (g.nodes() - zones) + " of " + g.nodes()
            + " nodes own no zone (their free shards are empty)");
      }
    }

    String lazyRaw = rc.config().getString("vmap.purge.lazy-max-pages");
    long lazy = s.lazyMaxPages();
    String how = !lazyRaw.equals("auto") ? "set"
        : g.kernelLazyMaxPages() <= g.halfSpacePages()
            ? "auto: fls(" + g.nodes() + ")=" + (32 - Integer.numberOfLeadingZeros(g.nodes())) + " x 32 MiB / " + g.page()
            : "auto: half the space's " + Long.toUnsignedString(g.pagesOf(g.spaceBytes())) + " pages, below fls("
                + g.nodes() + ") x 32 MiB / " + g.page() + " = " + g.kernelLazyMaxPages();
    o.printf(fmt, "purge threshold:", "lazy-max-pages " + lazy + " (" + how + ") = "
        + Numbers.bytes(lazy * g.page()) + " lazily freed; purge when exceeded");
    o.printf(fmt, "release batch:", s.releaseBatch() + " pieces per release message");

    // The remaining sections key by key, so new settings show up without changes here.
    Config v = rc.config().getConfig("vmap");
    for (String section : new TreeSet<>(v.root().keySet())) {
      if (section.equals("space") || section.equals("purge")) continue;
      ConfigValue value = v.root().get(section);
      if (value.valueType() != ConfigValueType.OBJECT) {
        o.printf(fmt, section + ":", value.unwrapped());
        continue;
      }
      Config sec = v.getConfig(section);
      StringBuilder line = new StringBuilder();
      for (String key : new TreeSet<>(sec.root().keySet())) {
        if (line.length() > 0) line.append(", ");
        line.append(key).append(' ').append(sec.root().get(key).unwrapped());
      }
      o.printf(fmt, section + ":", line);
    }
    return 0;
  }
}
