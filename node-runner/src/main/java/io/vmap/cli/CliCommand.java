package io.vmap.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What every {@code vmap} subcommand shares: {@link #out()} for results, {@link #err()} for
 * diagnostics, {@code -h/--help}, and {@link UsageException} turned into one line and
 * {@link Cli#USAGE}. Run it under {@link Cli#commandLine}.
 */
public abstract class CliCommand implements Callable<Integer> {

  @Spec protected CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  /** Where results go (stdout). */
  protected final PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** Where progress and diagnostics go (stderr). */
  protected final PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Prints {@code <command>: <reason>} to stderr and returns {@link Cli#FAILED}. */
  protected final int failed(String reason) {
    return Cli.oneLine(spec, reason, Cli.FAILED);
  }

  @Override
  public final Integer call() throws Exception {
    try {
      return run();
    } catch (UsageException e) {
      return Cli.usageError(spec, e.getMessage());
    } finally {
      out().flush();
      err().flush();
    }
  }

  /** The command's work; its exit status. Throw {@link UsageException} for bad input. */
  protected abstract int run() throws Exception;
}
