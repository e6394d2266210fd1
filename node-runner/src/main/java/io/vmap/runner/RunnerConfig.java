package io.vmap.runner;

import io.vmap.cli.UsageException;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import io.vmap.client.VmapSettings;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The configuration a subcommand runs with: {@code --config FILE}, or else the embedded default
 * {@code cluster-config/embedded.conf} (under {@code $VMAP_HOME}, which {@code ./vmap} sets, or
 * the current directory), or else reference.conf alone. System properties override the file, the
 * file overrides reference.conf.
 *
 * @param source what was loaded, for the output
 */
record RunnerConfig(Config config, String source) {

  static final String EMBEDDED = "cluster-config/embedded.conf";

  static RunnerConfig load(Path file) {
    Path f = file != null ? file : defaultFile();
    if (f == null) {
      return new RunnerConfig(resolve(() -> ConfigFactory.load()), "reference.conf defaults");
    }
    if (!Files.isRegularFile(f)) {
      throw new UsageException("cannot read config file '" + f + "': "
          + (Files.exists(f) ? "not a regular file" : "no such file"));
    }
    if (!Files.isReadable(f)) {
      throw new UsageException("cannot read config file '" + f + "': permission denied");
    }
    Config parsed =
        resolve(() -> ConfigFactory.parseFile(f.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)));
    return new RunnerConfig(resolve(() -> ConfigFactory.load(parsed)), f.toAbsolutePath().normalize() + " (over reference.conf)");
  }

  /** The settings under {@code vmap}; a bad value is a usage error naming the key. */
  VmapSettings settings() {
    try {
      return VmapSettings.from(config);
    } catch (ConfigException | IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  private static Path defaultFile() {
    // An environment variable, not a system property: those would show up in the config as vmap.home.
    String home = System.getenv("VMAP_HOME");
    Path p = home != null && !home.isEmpty() ? Path.of(home).resolve(EMBEDDED) : Path.of(EMBEDDED);
    return Files.isRegularFile(p) ? p : null;
  }

  private static Config resolve(java.util.function.Supplier<Config> s) {
    try {
      return s.get();
    } catch (ConfigException e) {
      throw new UsageException(e.getMessage());
    }
  }
}
