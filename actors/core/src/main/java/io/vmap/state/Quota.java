package io.vmap.state;

/**
 * A tenant's limits over the whole space: bytes and areas, each counting live and lazily freed
 * areas until they are released. {@link #UNLIMITED} ({@code Long.MAX_VALUE}) means no limit.
 */
public record Quota(long maxBytes, long maxAreas) {

  public static final long UNLIMITED = Long.MAX_VALUE;

  public static final Quota NONE = new Quota(UNLIMITED, UNLIMITED);

  public Quota {
    if (maxBytes < 0) throw new IllegalArgumentException("max-bytes " + maxBytes + " < 0");
    if (maxAreas < 0) throw new IllegalArgumentException("max-areas " + maxAreas + " < 0");
  }

  public boolean limited() {
    return maxBytes != UNLIMITED || maxAreas != UNLIMITED;
  }

  /** Whether {@code used} plus one more area of {@code bytes} stays within this quota. */
  public boolean admits(long usedBytes, long usedAreas, long bytes) {
    return usedAreas < maxAreas && bytes <= maxBytes && usedBytes <= maxBytes - bytes;
  }

  /** "max-bytes 1048576, max-areas unlimited". */
  public String describe() {
    return "max-bytes " + (maxBytes == UNLIMITED ? "unlimited" : Long.toString(maxBytes))
        + ", max-areas " + (maxAreas == UNLIMITED ? "unlimited" : Long.toString(maxAreas));
  }
}
