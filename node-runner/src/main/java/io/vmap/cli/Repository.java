package io.vmap.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository is, for its cluster-config/ files: the commands that read them find it here. */
public final class Repository {

  private Repository() {}

  /**
   * The repository root: {@code $VMAP_HOME} ({@code ./vmap} sets it), else the working directory
   * or its parent (a module's directory, as Maven runs tests), whichever holds cluster-config/.
   *
   * @throws UsageException when none does
   */
  public static Path root() {
    String home = System.getenv("VMAP_HOME");
    if (home != null && !home.isEmpty()) return Path.of(home);
    Path here = Path.of("").toAbsolutePath();
    if (Files.isDirectory(here.resolve("cluster-config"))) return here;
    if (here.getParent() != null && Files.isDirectory(here.getParent().resolve("cluster-config"))) return here.getParent();
    throw new UsageException("cannot find cluster-config/: run it through ./vmap or from the repository");
  }
}
