package io.vmap.http.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The JSON of the HTTP API ({@code io.vmap.http}) and of {@code vmap bench --json}: one Jackson
 * mapper over record DTOs, shared by the server, its clients ({@code vmap check --url}, the bench's
 * HTTP target) and the tests. See {@link Wire} for how addresses and sizes look.
 */
public final class Api {

  private Api() {}

  /** Duplicate keys are an error (which one would win?); so are unknown fields of a request. */
  static final ObjectMapper MAPPER = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  /** JSON that cannot be read as the expected DTO; the message names the field and the value. */
  public static final class BadJson extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public BadJson(String reason) {
      super(reason, null);
    }
  }

  // ---------------------------------------------------------------- the small answers

  /** Every error answer: {@code {"error":"EINVAL","reason":"..."}}. */
  public record Error(String error, String reason) {}

  /** {@code POST /v1/purge}. */
  public record Purged(int released) {}

  /** {@code GET /health/alive}. */
  public record Alive(boolean alive) {}

  /** {@code GET /health/ready}. */
  public record Ready(boolean ready, String detail) {}

  // ---------------------------------------------------------------- request ids and paths

  /**
   * A request id from {@code field} (body, query or header): non-empty, no control characters. Its
   * length is the client's to check (vmap.limits.request-id-length), the same at every door.
   */
  public static String requestId(String text, String field) {
    if (text.isEmpty()) throw new BadJson(field + ": must not be empty");
    if (AllocRequest.hasControl(text)) throw new BadJson(field + ": must not contain control characters");
    return text;
  }

  /** The request id of a request that may carry it in two places; both present and different is bad. */
  public static String reconcileIds(String primary, Optional<String> headerKey, String primaryName) {
    String header = headerKey.map(h -> requestId(h, "Idempotency-Key")).orElse(null);
    if (primary != null && header != null && !primary.equals(header)) {
      throw new BadJson(primaryName + ": '" + primary + "' differs from the Idempotency-Key header '" + header + "'");
    }
    return primary != null ? primary : header;
  }

  /** An address from a URL path segment ({@code /v1/areas/{addr}}). */
  public static long pathAddress(String segment) {
    try {
      return Wire.parseUnsigned(null, segment, "addr");
    } catch (InvalidValue e) {
      throw new BadJson(e.getOriginalMessage());
    }
  }

  // ---------------------------------------------------------------- reading and writing

  /** {@code value} as compact JSON. */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a DTO always serializes: " + e.getOriginalMessage(), e);
    }
  }

  /** {@code value} as indented JSON (what {@code vmap bench --json} prints). */
  public static String writePretty(Object value) {
    try {
      return MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a DTO always serializes: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * One JSON object as {@code type}; nothing may follow it.
   *
   * @throws BadJson naming the bad field and value, or what is wrong with the body as a whole
   */
  public static <T> T read(String body, Class<T> type) {
    if (body == null || body.isBlank()) {
      throw new BadJson("body: expected a JSON object such as {\"size\":8192}, got an empty body");
    }
    try (JsonParser p = MAPPER.createParser(body)) {
      JsonToken first = p.nextToken();
      if (first != JsonToken.START_OBJECT) throw new BadJson("body: expected a JSON object, got " + Wire.kind(first));
      T value = MAPPER.readValue(p, type);
      if (p.nextToken() != null) throw new BadJson("body: malformed JSON: more than one JSON value");
      return value;
    } catch (InvalidValue e) {
      throw new BadJson(e.getOriginalMessage());
    } catch (UnrecognizedPropertyException e) {
      List<String> known = e.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
      throw new BadJson("unknown field '" + e.getPropertyName() + "' (expected " + String.join(", ", known) + ")");
    } catch (JsonMappingException e) {
      // Anything the DTOs' own deserializers did not catch: name the field Jackson was at.
      List<JsonMappingException.Reference> path = e.getPath();
      String field = path.isEmpty() || path.get(path.size() - 1).getFieldName() == null
          ? "body" : path.get(path.size() - 1).getFieldName();
      throw new BadJson(field + ": " + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      throw new BadJson("body: malformed JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new BadJson("body: unreadable: " + e.getMessage());
    }
  }
}
