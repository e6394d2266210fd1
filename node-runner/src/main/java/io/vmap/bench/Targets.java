package io.vmap.bench;

import io.vmap.cli.UsageException;

import io.vmap.space.Geometry;
import java.util.List;
import java.util.regex.Pattern;

/** The names {@code --target} accepts, and the targets they open. */
public final class Targets {

  private Targets() {}

  /** The targets {@code --compare} runs, in this order. */
  public static final List<String> COMPARED = List.of("embedded", "global-lock", "first-fit");

  private static final Pattern HTTP = Pattern.compile("http://[^/:\\s]+:\\d{1,5}(/v1/areas/batch)?/?");

  /** Throws {@link UsageException} (a target that cannot be opened) unless {@code name} can be opened now. */
  public static void check(String name) {
    switch (name) {
      case "embedded", "embedded-durable", "embedded-postgres", "global-lock", "first-fit" -> {}
      default -> {
        if (HTTP.matcher(name).matches()) return;
        throw new UsageException("unknown target '" + name
            + "' (expected embedded, global-lock, first-fit, embedded-durable, embedded-postgres, http://host:port or http://host:port/v1/areas/batch)");
      }
    }
  }

  /** Opens a fresh target; the caller closes it. */
  public static BenchTarget open(String name, BenchConfig cfg) {
    check(name);
    Geometry g = cfg.geometry();
    return switch (name) {
      case "embedded" -> new EmbeddedTarget(cfg.vmapSettings(), cfg.requestIds());
      case "embedded-durable" -> EmbeddedTarget.durable(cfg.vmapSettings(), cfg.requestIds());
      case "embedded-postgres" -> EmbeddedTarget.postgres(cfg.vmapSettings(), cfg.requestIds());
      case "global-lock" -> new GlobalLockTarget(g.vstart(), g.vend(), g.page(), cfg.thresholdPages());
      case "first-fit" -> new FirstFitTarget(g.vstart(), g.vend(), g.page(), cfg.thresholdPages());
      default -> new HttpTarget(name.endsWith("/") ? name.substring(0, name.length() - 1) : name, cfg.nrThreads());
    };
  }
}
