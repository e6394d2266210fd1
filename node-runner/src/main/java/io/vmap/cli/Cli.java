package io.vmap.cli;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * How every {@code vmap} command talks to its caller: results on the command line's out (stdout),
 * diagnostics on its err (stderr); bad input of any kind is one line {@code vmap <sub>: <reason>}
 * and exit status {@link #USAGE}; a failed run or an unexpected error is {@link #FAILED}.
 */
public final class Cli {

  private Cli() {}

  public static final int OK = 0;
  /** A failed run (a check found violations, a request failed) or an unexpected error. */
  public static final int FAILED = 1;
  /** Bad input: options, files, configuration. */
  public static final int USAGE = 2;

  /**
   * {@code command} with results to {@code out}, diagnostics to {@code err}, and the error
   * handlers; a bare {@code new CommandLine(command)} prints picocli's usage text for unparsable
   * options instead of the one-line reason.
   */
  public static CommandLine commandLine(Object command, PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
    cl.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
    cl.setParameterExceptionHandler(Cli::badParameter);
    cl.setExecutionExceptionHandler((ex, failed, parsed) -> {
      if (ex instanceof UsageException) return usageError(failed.getCommandSpec(), ex.getMessage());
      PrintWriter e = failed.getErr();
      e.println(failed.getCommandSpec().qualifiedName() + ": internal error: " + ex);
      ex.printStackTrace(e);
      e.flush();
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

  /** Prints {@code <command>: <reason>} to the command's err and returns {@link #USAGE}. */
  public static int usageError(CommandSpec spec, String reason) {
    return oneLine(spec, reason, USAGE);
  }

  /** Prints {@code <command>: <reason>} to the command's err and returns {@code status}. */
  static int oneLine(CommandSpec spec, String reason, int status) {
    PrintWriter err = spec.commandLine().getErr();
    err.println(spec.qualifiedName() + ": " + reason);
    err.flush();
    return status;
  }

  /**
   * A process entry: runs {@code command} and exits with its status. Only results reach the real
   * stdout: {@code System.out} is pointed at stderr first, so anything a library prints there
   * (Akka's startup logger, logback's status messages) cannot mix into the results.
   *
   * <p>Before anything touches the common ForkJoinPool, its parallelism is raised to at least
   * {@value #COMMON_POOL_PARALLELISM} unless the command line set it: on 2 CPUs the JVM gives it 1
   * worker, and {@code CompletableFuture} then starts a new thread for every asynchronous stage
   * (Akka's javadsl completions, the HTTP client's). The {@code vmap} launcher sets the same value;
   * this covers {@code java -cp ... VmapCommand} and {@code BenchCommand} run by hand. An HTTP bench
   * run without it measured 924 ops/s against 4,629 with it, same member, same minute.
   */
  public static void main(Object command, String[] args) {
    raiseCommonPoolParallelism();
    PrintStream stdout = System.out;
    System.setOut(System.err);
    int rc = commandLine(command, stdout, System.err).execute(args);
    stdout.flush();
    System.err.flush();
    System.exit(rc);
  }

  static final int COMMON_POOL_PARALLELISM = 4;

  private static void raiseCommonPoolParallelism() {
    String key = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(key) == null) System.setProperty(key, Integer.toString(COMMON_POOL_PARALLELISM));
  }
}
