package io.vmap.wire;

import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.Input;

/**
 * A Kryo {@link Input} over one whole frame that refuses a declared length the frame cannot hold,
 * before anything is allocated for it. Kryo 5.6 allocates a UTF-8 string's {@code char[]} and a
 * primitive array from the length written in front of it, so six bytes claiming 2^31 elements
 * would ask for gigabytes. Every element takes at least one byte on the wire (a char of UTF-8, a
 * varint), or its fixed width, so a length larger than the bytes left in the frame is provably
 * malformed. (Kryo 5.7 adds the same check, {@code Input.validateArrayLength}; this does it on the
 * 5.6 the project uses.) Collections are checked by {@link BoundedSerializers}; depth by {@code
 * Kryo.setMaxDepth}.
 */
final class BoundedInput extends Input {

  BoundedInput(byte[] frame) {
    super(frame);
  }

  /**
   * {@code count} elements of at least {@code bytesEach} bytes fit in what is left of {@code input}
   * (a buffer, not a stream: its limit is the end of the frame).
   *
   * @throws KryoException naming the claim and what is left
   */
  static int admit(Input input, int count, int bytesEach, String what) {
    int left = input.limit() - input.position();
    if (count < 0 || (long) count * bytesEach > left) {
      throw new KryoException(
          what + " claims " + Integer.toUnsignedString(count) + " elements, more than the " + left
              + " bytes left in the frame can hold");
    }
    return count;
  }

  @Override
  public String readString() {
    checkStringLength();
    return super.readString();
  }

  @Override
  public StringBuilder readStringBuilder() {
    checkStringLength();
    return super.readStringBuilder();
  }

  /**
   * Peeks at a UTF-8 string's char count (ASCII strings are read byte by byte up to their end mark,
   * bounded by the frame already). Format: a varint flag set, then count + 1 (0 = null, 1 = "").
   */
  private void checkStringLength() {
    if (!readVarIntFlag()) return;
    int start = position;
    int n = readVarIntFlag(true);
    if (n > 1) admit(this, n - 1, 1, "a string");
    else if (n < 0) admit(this, n, 1, "a string");
    position = start;
  }

  @Override
  public byte[] readBytes(int length) {
    return super.readBytes(admit(this, length, 1, "a byte array"));
  }

  @Override
  public int[] readInts(int length) {
    return super.readInts(admit(this, length, Integer.BYTES, "an int array"));
  }

  @Override
  public int[] readInts(int length, boolean optimizePositive) {
    return super.readInts(admit(this, length, 1, "an int array"), optimizePositive);
  }

  @Override
  public long[] readLongs(int length) {
    return super.readLongs(admit(this, length, Long.BYTES, "a long array"));
  }

  @Override
  public long[] readLongs(int length, boolean optimizePositive) {
    return super.readLongs(admit(this, length, 1, "a long array"), optimizePositive);
  }

  @Override
  public float[] readFloats(int length) {
    return super.readFloats(admit(this, length, Float.BYTES, "a float array"));
  }

  @Override
  public double[] readDoubles(int length) {
    return super.readDoubles(admit(this, length, Double.BYTES, "a double array"));
  }

  @Override
  public short[] readShorts(int length) {
    return super.readShorts(admit(this, length, Short.BYTES, "a short array"));
  }

  @Override
  public char[] readChars(int length) {
    return super.readChars(admit(this, length, Character.BYTES, "a char array"));
  }

  @Override
  public boolean[] readBooleans(int length) {
    return super.readBooleans(admit(this, length, 1, "a boolean array"));
  }
}
