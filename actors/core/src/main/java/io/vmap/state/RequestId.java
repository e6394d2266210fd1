package io.vmap.state;

/**
 * A client's request id: a retry under the same id gets the first answer, never a second effect.
 *
 * @param value the caller's text, or the client's generated id; never null or empty
 */
public record RequestId(String value) implements AnswerKey {
  public RequestId {
    if (value == null || value.isEmpty()) throw new IllegalArgumentException("request id is empty");
  }

  @Override
  public String toString() {
    return value;
  }
}
