package io.vmap.runner;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code vmap} command. Subcommands write their results to {@link #out()} (stdout); every
 * diagnostic goes to stderr. Bad input of any kind is one line {@code vmap <sub>: <reason>} on
 * stderr and exit status 2.
 *
 * <p>Run it through {@link #commandLine()} (what {@link #main} does), which installs the error
 * handlers; a bare {@code new CommandLine(new VmapCommand())} prints picocli's own usage text for
 * unparsable options instead of the one-line reason.
 */
@Command(
    name = "vmap",
    description = "A distributed address-space allocator: Linux vmalloc's design as Akka actors.",
    synopsisSubcommandLabel = "COMMAND",
    subcommands = {ReplayCommand.class, DemoCommand.class, InfoCommand.class, NodeCommand.class, io.vmap.bench.BenchCommand.class,
        CheckCommand.class, ChaosCommand.class, CommandLine.HelpCommand.class})
public final class VmapCommand implements Callable<Integer> {

  /** Exit status for bad input (options, files, configuration). */
  public static final int USAGE = 2;
  /** Exit status for a failed run or an unexpected error. */
  public static final int FAILED = 1;

  @Spec CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  private final PrintStream out;

  /** Results go to {@code System.out} as it is now. */
  public VmapCommand() {
    this(System.out);
  }

  /** Results go to {@code out}. */
  public VmapCommand(PrintStream out) {
    this.out = out;
  }

  PrintStream out() {
    return out;
  }

  @Override
  public Integer call() {
    CommandLine cl = spec.commandLine();
    cl.getErr().println("vmap: missing COMMAND");
    cl.usage(cl.getErr());
    return USAGE;
  }

  /** The command line with results to {@code System.out} and diagnostics to {@code System.err}. */
  public static CommandLine commandLine() {
    return commandLine(new VmapCommand(System.out), System.out, System.err);
  }

  /** {@code command} with its help text to {@code out}, diagnostics to {@code err}, and the error handlers. */
  public static CommandLine commandLine(VmapCommand command, PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
    cl.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
    cl.setParameterExceptionHandler(VmapCommand::badParameter);
    cl.setExecutionExceptionHandler(
        (ex, failed, parsed) -> {
          if (ex instanceof UsageException) return usageError(failed.getCommandSpec(), ex.getMessage());
          failed.getErr().println(failed.getCommandSpec().qualifiedName() + ": internal error: " + ex);
          ex.printStackTrace(failed.getErr());
          failed.getErr().flush();
          return FAILED;
        });
    return cl;
  }

  private static int badParameter(ParameterException ex, String[] args) {
    CommandLine cl = ex.getCommandLine();
    String name = cl.getCommandSpec().qualifiedName();
    cl.getErr().println(name + ": " + ex.getMessage() + " (see '" + name + " --help')");
    cl.getErr().flush();
    return USAGE;
  }

  /** Prints {@code vmap <sub>: <reason>} to stderr and returns {@link #USAGE}. */
  static int usageError(CommandSpec spec, String reason) {
    PrintWriter err = spec.commandLine().getErr();
    err.println(spec.qualifiedName() + ": " + reason);
    err.flush();
    return USAGE;
  }

  /**
   * The process entry. Only the subcommands' results reach the real stdout: {@code System.out} is
   * pointed at stderr first, so anything a library prints there (Akka's startup logger, logback's
   * status messages) cannot mix into {@code vmap replay}'s output.
   */
  public static void main(String[] args) {
    PrintStream stdout = System.out;
    System.setOut(System.err);
    int rc = commandLine(new VmapCommand(stdout), stdout, System.err).execute(args);
    stdout.flush();
    System.err.flush();
    System.exit(rc);
  }
}
