package io.vmap.state;

import java.util.Collection;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * Lazily freed areas by start address: a {@code HashMap} whose keys are the starts multiplied by
 * an odd constant (a bijection on 64-bit values, so no two starts share a key). With the starts
 * themselves as keys, {@code Long.hashCode} of page-aligned addresses in a node's few zones put
 * 6,250 lazy areas of a node in 1,024 of 16,384 buckets, 6 to 8 deep and mostly turned into trees
 * (JFR of {@code vmap bench --purge-latency}: a third of a release batch's time in
 * {@code HashMap$TreeNode} lookups); multiplied, they spread over the whole table.
 *
 * <p>An open-addressing map with primitive keys (Agrona): a free and a release each did a boxed
 * {@code Long} and a {@code HashMap} node per area (HashMap.getNode/putVal/resize and Long.valueOf
 * among the top frames of {@code vmap bench --test fix_size_alloc_test}).
 */
final class AreasByStart {

  /** 2^64 / golden ratio, odd: Fibonacci hashing. */
  private static final long SPREAD = 0x9E3779B97F4A7C15L;

  /** Iterators are made per call (not Agrona's shared one): a caller may iterate two maps at once. */
  private final Long2ObjectHashMap<LazyArea> map;

  AreasByStart() {
    this(0);
  }

  /** A map that holds {@code expected} areas without growing. */
  AreasByStart(int expected) {
    map = new Long2ObjectHashMap<>(Math.max(8, (int) Math.min(1 << 30, expected / 0.65 + 1)), 0.65f, false);
  }

  private static long key(long start) {
    return start * SPREAD;
  }

  /** Adds {@code la} under its start; returns the area that was there, or null. */
  LazyArea put(LazyArea la) {
    return map.put(key(la.area().start()), la);
  }

  LazyArea get(long start) {
    return map.get(key(start));
  }

  LazyArea remove(long start) {
    return map.remove(key(start));
  }

  void putAll(AreasByStart other) {
    map.putAll(other.map);
  }

  int size() {
    return map.size();
  }

  boolean isEmpty() {
    return map.isEmpty();
  }

  Collection<LazyArea> values() {
    return map.values();
  }
}
