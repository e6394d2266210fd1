package io.vmap.client;

import io.vmap.state.ErrorCode;

/** A failed request: an {@link ErrorCode} and a reason naming what was wrong. */
public final class VmapException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final String reason;

  public VmapException(ErrorCode code, String reason) {
    super(code + " " + reason);
    this.code = code;
    this.reason = reason;
  }

  public ErrorCode code() {
    return code;
  }

  public String reason() {
    return reason;
  }
}
