package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The answer to {@code POST /v1/areas/batch}: one result per operation, in order. A result is what
 * the single-operation route would have answered: its HTTP status, and the area (201 alloc, 200
 * find) or the error code and reason (an error answer's body).
 */
public record BatchResponse(List<Result> results) {

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Result(int status, AreaJson area, String error, String reason) {

    public static Result ok(int status, AreaJson area) {
      return new Result(status, area, null, null);
    }

    public static Result failed(int status, String error, String reason) {
      return new Result(status, null, error, reason);
    }
  }
}
