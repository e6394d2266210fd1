package io.vmap.runner;

import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;

import io.vmap.client.VmapSettings;
import io.vmap.replay.Replay;
import io.vmap.space.Geometry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vmap replay}: the deterministic replay of DESIGN.md "Replay format", one output line per
 * op on stdout and nothing else.
 */
@Command(
    name = "replay",
    header = "Replays ops against the real actors, deterministically (DESIGN.md \"Replay format\").",
    description = {
      "Applies one op per line of FILE, waiting after each until the purge coordinator",
      "is idle, and prints one line per op on stdout:",
      "  alloc SIZE [align=A] [vstart=X] [vend=Y] [node=K] [tag=T]",
      "        [policy=normal|fail-fast]   -> 0x%%016x | ENOSPC | EAGAIN | EINVAL reason",
      "  free ADDR                         -> ok | ENOENT | EINVAL reason",
      "  find ADDR                         -> 0x%%016x 0x%%016x (start end) | none",
      "  purge                             -> purged N",
      "  info                              -> busy=N lazy=N free=BYTES",
      "Numbers are decimal or 0x hex; # starts a comment; node=K defaults to 0.",
      "Bad options: one line 'vmap replay: reason' on stderr, exit status 2."
    })
final class ReplayCommand extends CliCommand {

  @Option(names = "--nodes", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "vmap nodes (default 16).")
  Long nodes;

  @Option(names = "--page", paramLabel = "P", converter = Numbers.UnsignedConverter.class,
      description = "Page size in bytes, a power of two (default 4096).")
  Long page;

  @Option(names = "--zone", paramLabel = "Z", converter = Numbers.UnsignedConverter.class,
      description = "Zone size in bytes, a power of two, a multiple of page (default 32 MiB).")
  Long zone;

  @Option(names = "--space", paramLabel = "START:END", converter = Numbers.SpaceConverter.class,
      description = "The space [START, END) (default 0xffffc90000000000:0xffffe90000000000).")
  Numbers.Space space;

  @Option(names = "--lazy-max-pages", paramLabel = "L", converter = Numbers.UnsignedConverter.class,
      description = "Purge when more than L pages are lazily freed (default fls(nodes) * 32 MiB / page, at most half the space's pages).")
  Long lazyMaxPages;

  @Parameters(index = "0", paramLabel = "FILE|-", description = "The ops to replay; - reads stdin.")
  String file;

  @Override
  protected int run() throws IOException {
    VmapSettings defaults;
    try {
      defaults = VmapSettings.defaults();
    } catch (RuntimeException e) {
      throw new UsageException("bad configuration: " + e.getMessage());
    }
    Geometry d = defaults.geometry();
    Geometry g;
    try {
      g = new Geometry(
          space != null ? space.start() : d.vstart(),
          space != null ? space.end() : d.vend(),
          page != null ? page : d.page(),
          zone != null ? zone : d.zone(),
          nodes != null ? Numbers.intIn("nodes", nodes, 1, Geometry.MAX_NODES) : d.nodes());
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    if (lazyMaxPages != null && lazyMaxPages < 0) {
      throw new UsageException("lazy-max-pages " + Long.toUnsignedString(lazyMaxPages) + " is too large");
    }
    VmapSettings settings = defaults.withGeometry(g, lazyMaxPages);

    // Open the input before starting any actor: an unreadable file is a usage error.
    try (BufferedReader in = open(file);
        Replay replay = new Replay(settings)) {
      try {
        replay.run(in, out());
      } catch (IOException e) {
        throw new UsageException("reading " + describe(file) + ": " + e.getMessage());
      }
    }
    return 0;
  }

  private static BufferedReader open(String file) {
    if (file.equals("-")) {
      return new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    }
    Path p = Path.of(file);
    if (Files.isDirectory(p)) throw new UsageException("cannot read '" + file + "': is a directory");
    try {
      return Files.newBufferedReader(p, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new UsageException("cannot read '" + file + "': no such file");
    } catch (AccessDeniedException e) {
      throw new UsageException("cannot read '" + file + "': permission denied");
    } catch (IOException e) {
      throw new UsageException("cannot read '" + file + "': " + e.getMessage());
    }
  }

  private static String describe(String file) {
    return file.equals("-") ? "stdin" : "'" + file + "'";
  }
}
