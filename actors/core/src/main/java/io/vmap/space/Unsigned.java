package io.vmap.space;

/**
 * Unsigned 64-bit address arithmetic. Addresses of the default space sit above 2^63, so every
 * comparison of two addresses goes through here or {@link Long#compareUnsigned}; a signed
 * {@code <} on addresses is a bug.
 */
public final class Unsigned {

  private Unsigned() {}

  public static boolean lt(long a, long b) {
    return Long.compareUnsigned(a, b) < 0;
  }

  public static boolean le(long a, long b) {
    return Long.compareUnsigned(a, b) <= 0;
  }

  public static long max(long a, long b) {
    return Long.compareUnsigned(a, b) >= 0 ? a : b;
  }

  public static long min(long a, long b) {
    return Long.compareUnsigned(a, b) <= 0 ? a : b;
  }

  /**
   * Rounds {@code x} up to a multiple of {@code align} (a power of two), or returns
   * {@link #OVERFLOW} when the result does not fit below 2^64.
   */
  public static long alignUp(long x, long align) {
    long mask = align - 1;
    long r = (x + mask) & ~mask;
    return Long.compareUnsigned(r, x) < 0 ? OVERFLOW : r;
  }

  /**
   * Marker for "no such address". It is never a valid area start: an area starting at 2^64-1
   * would need an end above 2^64-1, which the space cannot hold.
   */
  public static final long OVERFLOW = -1L;

  /** {@code a + b} or {@link #OVERFLOW} if it wraps past 2^64-1. */
  public static long addOrOverflow(long a, long b) {
    long r = a + b;
    return Long.compareUnsigned(r, a) < 0 ? OVERFLOW : r;
  }

  /** {@code 0x%016x}, the replay format's address form. */
  public static String hex(long v) {
    return String.format("0x%016x", v);
  }

  /**
   * Parses ASCII decimal digits or {@code 0x} followed by ASCII hex digits as an unsigned 64-bit
   * value; nothing else (no sign, no separators, no other scripts' digits: {@link
   * Long#parseUnsignedLong} alone would take {@code +4096} and {@code ４０９６}).
   *
   * @throws NumberFormatException naming the text when it is not one, or does not fit in 64 bits
   */
  public static long parse(String text) {
    String t = text.trim();
    boolean hex = t.length() > 2 && t.charAt(0) == '0' && (t.charAt(1) == 'x' || t.charAt(1) == 'X');
    String digits = hex ? t.substring(2) : t;
    if (digits.isEmpty()) throw new NumberFormatException("not a number: '" + text + "'");
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      boolean ok = (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
      if (!ok) throw new NumberFormatException("not a number: '" + text + "'");
    }
    try {
      return Long.parseUnsignedLong(digits, hex ? 16 : 10);
    } catch (NumberFormatException e) {
      throw new NumberFormatException("number '" + text + "' does not fit in 64 bits");
    }
  }

}
