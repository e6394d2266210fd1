package io.vmap.cli;

/**
 * Bad input to a command: an option value, a file, a configuration. Its message is the reason
 * printed as {@code vmap <sub>: <reason>}; the exit status is {@link Cli#USAGE} and no stack trace
 * is shown.
 */
public final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String reason) {
    super(reason, null, false, false);
  }
}
