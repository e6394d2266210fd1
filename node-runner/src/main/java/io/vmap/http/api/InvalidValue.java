package io.vmap.http.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonMappingException;

/**
 * A JSON value the API does not accept; {@link #getOriginalMessage()} is the reason, naming the
 * field and the value ({@code "size: must not be negative, got -4096"}). A JsonMappingException so
 * that Jackson passes it up unchanged (adding only its path).
 */
public final class InvalidValue extends JsonMappingException {
  private static final long serialVersionUID = 1L;

  public InvalidValue(JsonParser p, String reason) {
    super(p, reason);
  }

  public InvalidValue(String reason) {
    super(null, reason);
  }
}
