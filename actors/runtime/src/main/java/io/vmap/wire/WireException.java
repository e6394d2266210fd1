package io.vmap.wire;

/**
 * An object could not be written to or read from the vmap wire format: an unregistered class, a
 * class named by string, truncated or trailing bytes, an actor ref that does not resolve. Akka
 * reports it as a failed serialization; with {@code serialize-messages = on} the send fails.
 */
public final class WireException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public WireException(String message, Throwable cause) {
    super(message, cause);
  }

  public WireException(String message) {
    super(message);
  }
}
