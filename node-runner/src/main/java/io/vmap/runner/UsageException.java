package io.vmap.runner;

/**
 * Bad input to a subcommand: an option value, a file, a configuration. Its message is the reason
 * printed as {@code vmap <sub>: <reason>}; the exit status is 2 and no stack trace is shown.
 */
final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  UsageException(String reason) {
    super(reason, null, false, false);
  }
}
