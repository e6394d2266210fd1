package io.vmap.space;

/**
 * A busy range of the address space, the kernel's {@code struct vmap_area}: {@code [start, end)},
 * unsigned 64-bit, end exclusive, {@code start < end} (unsigned).
 *
 * @param tag the caller's label (the kernel's caller symbol in /proc/vmallocinfo); never null
 */
public record Area(long start, long end, String tag) {

  public Area {
    if (Long.compareUnsigned(start, end) >= 0) {
      throw new IllegalArgumentException(
          "area start " + Unsigned.hex(start) + " is not below its end " + Unsigned.hex(end));
    }
    tag = tag == null ? "" : tag;
  }

  public long size() {
    return end - start;
  }

  /** Whether {@code start <= addr < end}, unsigned. */
  public boolean contains(long addr) {
    return Long.compareUnsigned(start, addr) <= 0 && Long.compareUnsigned(addr, end) < 0;
  }

  @Override
  public String toString() {
    return Unsigned.hex(start) + "-" + Unsigned.hex(end) + (tag.isEmpty() ? "" : " " + tag);
  }
}
