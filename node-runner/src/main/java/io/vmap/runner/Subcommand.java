package io.vmap.runner;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** What every subcommand shares: stdout for results, one-line usage errors with exit 2. */
abstract class Subcommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @ParentCommand VmapCommand parent;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  /** Where results go (stdout). */
  PrintStream out() {
    return parent != null ? parent.out() : System.out;
  }

  @Override
  public final Integer call() throws Exception {
    try {
      return run();
    } catch (UsageException e) {
      return VmapCommand.usageError(spec, e.getMessage());
    }
  }

  /** The subcommand's work; its exit status. Throw {@link UsageException} for bad input. */
  abstract int run() throws Exception;
}
