package io.vmap.http.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import io.vmap.space.Unsigned;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * How the API's values look on the wire, as Jackson (de)serializers for the DTOs' components:
 * addresses are {@code "0x%016x"} strings out and decimal or 0x strings in (never JSON numbers:
 * above 2^53 many clients lose precision); sizes and counts are unsigned 64-bit JSON numbers out,
 * and numbers or decimal/0x strings in. Every rejection is an {@link InvalidValue} naming the
 * field and the value.
 */
public final class Wire {

  private Wire() {}

  /** Writes an address as {@code "0x%016x"}. */
  public static final class HexOut extends JsonSerializer<Long> {
    @Override
    public void serialize(Long v, JsonGenerator g, SerializerProvider p) throws IOException {
      g.writeString(Unsigned.hex(v));
    }
  }

  /** Writes an unsigned 64-bit value as a JSON number (never negative). */
  public static final class UnsignedOut extends JsonSerializer<Long> {
    @Override
    public void serialize(Long v, JsonGenerator g, SerializerProvider p) throws IOException {
      if (v >= 0) g.writeNumber(v);
      else g.writeNumber(new BigInteger(Long.toUnsignedString(v)));
    }
  }

  /** An address: a decimal or 0x string only. */
  public static final class AddressIn extends JsonDeserializer<Long> {
    @Override
    public Long deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String field = field(p);
      JsonToken t = p.currentToken();
      if (t == JsonToken.VALUE_STRING) return parseUnsigned(p, p.getText(), field);
      if (t.isNumeric()) {
        throw new InvalidValue(p, field + ": addresses must be strings (\"0x...\" or decimal), not a JSON number");
      }
      throw new InvalidValue(p, field + ": must be a \"0x...\" or decimal string, not " + kind(t));
    }
  }

  /** A size or an alignment: a non-negative whole JSON number, or a decimal/0x string; unsigned 64-bit. */
  public static final class UnsignedIn extends JsonDeserializer<Long> {
    @Override
    public Long deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String field = field(p);
      JsonToken t = p.currentToken();
      if (t == JsonToken.VALUE_STRING) return parseUnsigned(p, p.getText(), field);
      if (t == JsonToken.VALUE_NUMBER_INT) return fit(p, p.getBigIntegerValue(), field, p.getText());
      if (t == JsonToken.VALUE_NUMBER_FLOAT) return fit(p, wholeNumber(p, field), field, p.getText());
      throw new InvalidValue(p, field + ": must be a number or a decimal/0x string, not " + kind(t));
    }
  }

  /** A node number: an integer JSON number or a decimal string; its range is checked by the caller. */
  public static final class NodeIn extends JsonDeserializer<Long> {
    @Override
    public Long deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String field = field(p);
      JsonToken t = p.currentToken();
      if (t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_STRING) {
        try {
          return Long.parseLong(p.getText().trim());
        } catch (NumberFormatException e) {
          throw new InvalidValue(p, field + ": not a node number: '" + p.getText() + "'");
        }
      }
      throw new InvalidValue(p, field + ": must be an integer, not " + (t.isNumeric() ? p.getText() : kind(t)));
    }
  }

  /** A string and nothing else: no number, boolean or object turned into text. */
  public static final class TextIn extends JsonDeserializer<String> {
    @Override
    public String deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      JsonToken t = p.currentToken();
      if (t == JsonToken.VALUE_STRING) return p.getText();
      throw new InvalidValue(p, field(p) + ": must be a string, not " + kind(t));
    }
  }

  /**
   * Decimal or 0x hex text as an unsigned 64-bit value.
   *
   * @throws InvalidValue naming {@code field} and the text
   */
  public static long parseUnsigned(JsonParser p, String text, String field) throws InvalidValue {
    String t = text.trim();
    if (t.isEmpty()) throw new InvalidValue(p, field + ": empty");
    if (t.startsWith("-")) throw new InvalidValue(p, field + ": must not be negative, got '" + text + "'");
    if (t.startsWith("+")) throw new InvalidValue(p, field + ": not a decimal or 0x hex number: '" + text + "'");
    try {
      return Unsigned.parse(t);
    } catch (NumberFormatException e) {
      boolean hex = t.startsWith("0x") || t.startsWith("0X");
      throw new InvalidValue(p, field + ": " + (hex ? "bad hex number" : "not a decimal or 0x hex number")
          + " (unsigned 64-bit): '" + text + "'");
    }
  }

  /**
   * A JSON number with a fraction or an exponent ({@code 4096.0}, {@code 1e3}) as a whole number,
   * read from its text: a double would turn {@code 1e400} into infinity.
   */
  private static BigInteger wholeNumber(JsonParser p, String field) throws IOException {
    String text = p.getText();
    BigDecimal d;
    try {
      d = new BigDecimal(text);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new InvalidValue(p, field + ": " + text + " is not a number that fits in 64 bits");
    }
    if (d.signum() < 0) throw new InvalidValue(p, field + ": must not be negative, got " + text);
    if (d.signum() == 0) return BigInteger.ZERO;
    d = d.stripTrailingZeros();
    if (d.scale() > 0) throw new InvalidValue(p, field + ": must be a whole number of bytes, got " + text);
    // Digits before the point, without expanding 1e400 into 401 digits: 2^64 has 20.
    if (d.precision() - (long) d.scale() > 20) throw new InvalidValue(p, field + ": " + text + " does not fit in 64 bits");
    return d.toBigIntegerExact();
  }

  private static long fit(JsonParser p, BigInteger v, String field, String text) throws InvalidValue {
    if (v.signum() < 0) throw new InvalidValue(p, field + ": must not be negative, got " + text);
    if (v.bitLength() > 64) throw new InvalidValue(p, field + ": " + text + " does not fit in 64 bits");
    return v.longValue();
  }

  private static String field(JsonParser p) throws IOException {
    String name = p.currentName();
    return name == null ? "value" : name;
  }

  static String kind(JsonToken t) {
    if (t == null) return "nothing";
    return switch (t) {
      case START_ARRAY -> "an array";
      case START_OBJECT -> "an object";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_STRING -> "a string";
      case VALUE_NULL -> "null";
      default -> t.toString();
    };
  }
}
