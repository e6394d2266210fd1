package io.vmap.wire;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.serializers.CollectionSerializer;
import com.esotericsoftware.kryo.serializers.DefaultArraySerializers;
import com.esotericsoftware.kryo.serializers.DefaultSerializers;
import com.esotericsoftware.kryo.serializers.MapSerializer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The serializers of {@link WireRegistry}'s arrays, collections and maps: Kryo's own, writing the
 * same bytes, but reading a declared size only if the rest of the frame can hold that many
 * elements, and growing a collection as its elements arrive instead of sizing it from the claim.
 *
 * <p>Why: Kryo 5.6 sizes {@code new ArrayList<>(n)}, {@code new HashMap(n)}, {@code new String[n]}
 * from the n on the wire, and adds n nulls for a collection it was told is all nulls: a frame of a
 * few bytes could ask for gigabytes. Every element of a collection costs at least one byte on the
 * wire (a null marker, a class id, a varint, a record component), so a claim above the bytes left
 * is malformed. The exception: elements of the same registered type with no fields (a record
 * without components) cost nothing after the first; no vmap message holds a collection of those.
 * With {@link BoundedInput} (strings, primitive arrays) and Kryo's max depth, reading one frame
 * allocates memory proportional to the frame, never to what it claims.
 */
final class BoundedSerializers {

  private BoundedSerializers() {}

  /** Initial capacity given to a collection or map at most: larger ones grow as elements are read. */
  static final int MAX_PRESIZE = 1024;

  private static int presize(int size) {
    return Math.min(size, MAX_PRESIZE);
  }

  // ------------------------------------------------------------------ arrays that allocate themselves

  /** {@code String[]}: Kryo allocates the array from the claimed length. */
  static final class StringArray extends DefaultArraySerializers.StringArraySerializer {
    @Override
    public String[] read(Kryo kryo, Input input, Class type) {
      checkArrayLength(input, "a String array");
      return super.read(kryo, input, type);
    }
  }

  /** {@code boolean[]}: Kryo allocates the array from the claimed length. */
  static final class BooleanArray extends DefaultArraySerializers.BooleanArraySerializer {
    @Override
    public boolean[] read(Kryo kryo, Input input, Class type) {
      checkArrayLength(input, "a boolean array");
      return super.read(kryo, input, type);
    }
  }

  /** Peeks at an array's varint length + 1 (0 = null): every element takes at least one byte. */
  private static void checkArrayLength(Input input, String what) {
    int start = input.position();
    int n = input.readVarInt(true);
    if (n != 0) BoundedInput.admit(input, n - 1, 1, what);
    input.setPosition(start);
  }

  // ------------------------------------------------------------------ collections

  /** ArrayList, HashSet, LinkedHashSet: Kryo's {@link CollectionSerializer} with a checked size. */
  @SuppressWarnings({"rawtypes", "unchecked"})
  static final class Collection extends CollectionSerializer<java.util.Collection> {
    @Override
    protected java.util.Collection create(Kryo kryo, Input input, Class<? extends java.util.Collection> type, int size) {
      BoundedInput.admit(input, size, 1, "a " + type.getSimpleName());
      if (type == ArrayList.class) return new ArrayList<>(presize(size));
      if (type == HashSet.class) return new HashSet<>(presize(size));
      if (type == LinkedHashSet.class) return new LinkedHashSet<>(presize(size));
      return kryo.newInstance(type);
    }
  }

  /** {@code Arrays.asList}: read into a list and wrapped again, as Kryo does. */
  @SuppressWarnings("rawtypes")
  static final class ArraysAsList extends DefaultSerializers.ArraysAsListSerializer {
    @Override
    protected List create(Kryo kryo, Input input, Class type, int size) {
      BoundedInput.admit(input, size, 1, "an Arrays.asList list");
      return new ArrayList<>(presize(size));
    }
  }

  /** TreeSet: the comparator follows the size on the wire. */
  @SuppressWarnings("rawtypes")
  static final class SortedSet extends DefaultSerializers.TreeSetSerializer {
    @Override
    protected TreeSet create(Kryo kryo, Input input, Class<? extends TreeSet> type, int size) {
      BoundedInput.admit(input, size, 1, "a TreeSet");
      return super.create(kryo, input, type, size);
    }
  }

  /**
   * {@code List.of}, {@code List.copyOf}, {@code Stream.toList}: the format of Kryo's
   * {@code JdkImmutableListSerializer} (no null markers), which is final.
   */
  static final class ImmutableList extends CollectionSerializer<List<Object>> {
    ImmutableList() {
      setElementsCanBeNull(false);
    }

    @Override
    protected List<Object> create(Kryo kryo, Input input, Class<? extends List<Object>> type, int size) {
      BoundedInput.admit(input, size, 1, "an immutable list");
      return new ArrayList<>(presize(size));
    }

    @Override
    public List<Object> read(Kryo kryo, Input input, Class<? extends List<Object>> type) {
      List<Object> list = super.read(kryo, input, type);
      return list == null ? null : List.of(list.toArray());
    }
  }

  /** {@code Set.of}: the format of Kryo's {@code JdkImmutableSetSerializer}. */
  static final class ImmutableSet extends CollectionSerializer<Set<Object>> {
    ImmutableSet() {
      setElementsCanBeNull(false);
    }

    @Override
    protected Set<Object> create(Kryo kryo, Input input, Class<? extends Set<Object>> type, int size) {
      BoundedInput.admit(input, size, 1, "an immutable set");
      return new HashSet<>(presize(size));
    }

    @Override
    public Set<Object> read(Kryo kryo, Input input, Class<? extends Set<Object>> type) {
      Set<Object> set = super.read(kryo, input, type);
      return set == null ? null : Set.of(set.toArray());
    }
  }

  // ------------------------------------------------------------------ maps (a key and a value per entry)

  /** HashMap, LinkedHashMap: Kryo's {@link MapSerializer} with a checked size. */
  @SuppressWarnings({"rawtypes", "unchecked"})
  static final class Dictionary extends MapSerializer<Map> {
    @Override
    protected Map create(Kryo kryo, Input input, Class<? extends Map> type, int size) {
      BoundedInput.admit(input, size, 1, "a " + type.getSimpleName());
      if (type == HashMap.class) return new HashMap<>(presize(size));
      if (type == LinkedHashMap.class) return new LinkedHashMap<>(presize(size));
      return kryo.newInstance(type);
    }
  }

  /** TreeMap: the comparator follows the size on the wire. */
  @SuppressWarnings("rawtypes")
  static final class SortedMap extends DefaultSerializers.TreeMapSerializer {
    @Override
    protected TreeMap create(Kryo kryo, Input input, Class<? extends TreeMap> type, int size) {
      BoundedInput.admit(input, size, 1, "a TreeMap");
      return super.create(kryo, input, type, size);
    }
  }

  /** {@code Map.of}: the format of Kryo's {@code JdkImmutableMapSerializer}. */
  static final class ImmutableMap extends MapSerializer<Map<Object, Object>> {
    ImmutableMap() {
      setKeysCanBeNull(false);
      setValuesCanBeNull(false);
    }

    @Override
    protected Map<Object, Object> create(Kryo kryo, Input input, Class<? extends Map<Object, Object>> type, int size) {
      BoundedInput.admit(input, size, 1, "an immutable map");
      return new HashMap<>(presize(size));
    }

    @Override
    public Map<Object, Object> read(Kryo kryo, Input input, Class<? extends Map<Object, Object>> type) {
      Map<Object, Object> map = super.read(kryo, input, type);
      return map == null ? null : Map.copyOf(map);
    }
  }
}
