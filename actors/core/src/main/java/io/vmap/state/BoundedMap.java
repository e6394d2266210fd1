package io.vmap.state;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A map that forgets its oldest entries (by insertion) beyond {@code capacity}: what a node
 * remembers of past answers and decisions. A retry older than the capacity is treated as new.
 * Not thread safe.
 */
public final class BoundedMap<K, V> {

  private final int capacity;
  private final LinkedHashMap<K, V> map = new LinkedHashMap<>();

  public BoundedMap(int capacity) {
    if (capacity < 1) throw new IllegalArgumentException("capacity " + capacity + " < 1");
    this.capacity = capacity;
  }

  public V get(K key) {
    return map.get(key);
  }

  public boolean containsKey(K key) {
    return map.containsKey(key);
  }

  /** Adds or replaces; a new key beyond the capacity evicts the oldest. */
  public void put(K key, V value) {
    map.put(key, value);
    if (map.size() > capacity) {
      var it = map.entrySet().iterator();
      it.next();
      it.remove();
    }
  }

  public void putIfAbsent(K key, V value) {
    if (!map.containsKey(key)) put(key, value);
  }

  public int size() {
    return map.size();
  }

  public int capacity() {
    return capacity;
  }

  /** Keys oldest first; a read-only view. */
  public Set<K> keys() {
    return java.util.Collections.unmodifiableSet(map.keySet());
  }

  /** Entries oldest first; a read-only view. */
  public Collection<Map.Entry<K, V>> entries() {
    return java.util.Collections.unmodifiableCollection(map.entrySet());
  }
}
