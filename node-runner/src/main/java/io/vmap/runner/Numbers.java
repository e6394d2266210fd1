package io.vmap.runner;

import io.vmap.cli.UsageException;

import io.vmap.space.Unsigned;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Option values: decimal or {@code 0x} hex, unsigned 64-bit, as in the replay format. */
final class Numbers {

  private Numbers() {}

  /** {@code START:END} of the space. */
  record Space(long start, long end) {}

  /** A decimal or 0x hex unsigned 64-bit number. */
  static final class UnsignedConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String text) {
      return parse(text);
    }
  }

  static final class SpaceConverter implements ITypeConverter<Space> {
    @Override
    public Space convert(String text) {
      int colon = text.indexOf(':');
      if (colon < 0 || text.indexOf(':', colon + 1) >= 0) {
        throw new TypeConversionException("'" + text + "' is not START:END");
      }
      return new Space(parse(text.substring(0, colon)), parse(text.substring(colon + 1)));
    }
  }

  static long parse(String text) {
    try {
      return Unsigned.parse(text);
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + text + "' is not a decimal or 0x hex number");
    }
  }

  /** {@code value} as an int in {@code [min, max]}, or a usage error naming {@code what}. */
  static int intIn(String what, long value, int min, int max) {
    if (Long.compareUnsigned(value, min) < 0 || Long.compareUnsigned(value, max) > 0) {
      throw new UsageException(what + " " + Long.toUnsignedString(value) + " is not in " + min + ".." + max);
    }
    return (int) value;
  }

  /** Bytes as a short human figure: {@code 32 MiB}, {@code 1.5 GiB}, {@code 512 B} (unsigned). */
  static String bytes(long b) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = b >= 0 ? b : (b >>> 1) * 2.0 + (b & 1);
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    if (v == Math.rint(v)) return String.format("%d %s", (long) v, units[u]);
    return String.format("%.2f %s", v, units[u]);
  }
}
