package io.vmap.runner;

import io.vmap.bench.BenchCommand;
import io.vmap.cli.Cli;
import io.vmap.cli.CliCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code vmap} command. Subcommands ({@link CliCommand}s) write their results to stdout and
 * every diagnostic to stderr; bad input of any kind is one line {@code vmap <sub>: <reason>} on
 * stderr and exit status {@link Cli#USAGE}. Run it through {@link #commandLine} (what
 * {@link #main} does), which installs the error handlers.
 */
@Command(
    name = "vmap",
    description = "A distributed address-space allocator: Linux vmalloc's design as Akka actors.",
    synopsisSubcommandLabel = "COMMAND",
    subcommands = {ReplayCommand.class, DemoCommand.class, InfoCommand.class, NodeCommand.class, BenchCommand.class,
        CheckCommand.class, ChaosCommand.class, TopCommand.class, TokenCommand.class, TortureCommand.class,
        CommandLine.HelpCommand.class})
public final class VmapCommand extends CliCommand {

  @Override
  protected int run() {
    err().println("vmap: missing COMMAND");
    spec.commandLine().usage(err());
    return Cli.USAGE;
  }

  /** The command line with results to {@code out} and diagnostics to {@code err}. */
  public static CommandLine commandLine(java.io.PrintStream out, java.io.PrintStream err) {
    return Cli.commandLine(new VmapCommand(), out, err);
  }

  public static void main(String[] args) {
    Cli.main(new VmapCommand(), args);
  }
}
