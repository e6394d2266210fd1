package io.vmap.wire;

import akka.actor.typed.ActorRef;
import com.esotericsoftware.kryo.io.Output;
import io.vmap.space.Area;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * A valid frame of every class in {@link WireRegistry}'s table, for the wire fuzzer: records are
 * built by reflection over their components (random values of each component's type, lists of
 * random length, a random registered implementation for an interface), JDK classes from a sample
 * per class, actor refs as the frame of a live ref's path under the class's id (the classes behind
 * refs cannot all be built on demand; their serializer is the same path string for all).
 */
final class WireSamples {

  /** Lists nest no deeper than this in generated records (NodeEvent.Batch holds NodeEvents). */
  private static final int MAX_NESTING = 3;

  private final SplittableRandom rnd;
  private final KryoSerializer kryo;
  private final ActorRef<?> ref;
  private final String refPath;
  private final List<WireRegistry.Entry> entries;

  WireSamples(long seed, KryoSerializer kryo, ActorRef<?> ref, String refPath) {
    this.rnd = new SplittableRandom(seed);
    this.kryo = kryo;
    this.ref = ref;
    this.refPath = refPath;
    this.entries = WireRegistry.standard().entries();
  }

  /** Every entry, with a valid frame of it; void (no instance) is left out. */
  List<Sample> all() {
    List<Sample> out = new ArrayList<>();
    for (WireRegistry.Entry e : entries) {
      if (e.type() == void.class) continue;
      out.add(new Sample(e, frame(e)));
    }
    return out;
  }

  record Sample(WireRegistry.Entry entry, byte[] frame) {
    String name() {
      return entry.id() + " " + entry.type().getName();
    }
  }

  /** A valid frame of {@code e}'s class: an instance through the serializer, or a ref's path. */
  byte[] frame(WireRegistry.Entry e) {
    Class<?> type = e.type();
    if (akka.actor.ActorRef.class.isAssignableFrom(type)
        || (ActorRef.class.isAssignableFrom(type) && type != ref.getClass())) {
      Output out = new Output(64, -1);
      out.writeVarInt(e.id() + 2, true); // Kryo writes id + 2 (0 = null, 1 = a class name)
      out.writeString(refPath);
      return out.toBytes();
    }
    Object value = instance(type);
    byte[] bytes = kryo.toBinary(value);
    return bytes;
  }

  /** A valid instance of exactly {@code type}. */
  Object instance(Class<?> type) {
    Object jdk = jdk(type);
    if (jdk != null) {
      if (jdk.getClass() != type && !(type.isPrimitive())) {
        throw new AssertionError("sample of " + type.getName() + " is a " + jdk.getClass().getName());
      }
      return jdk;
    }
    return value(type, 0);
  }

  // ------------------------------------------------------------------ values by type

  Object value(Type t, int depth) {
    Class<?> raw = raw(t);
    if (raw == long.class || raw == Long.class) return someLong();
    if (raw == int.class || raw == Integer.class) return rnd.nextInt(4) == 0 ? rnd.nextInt() : rnd.nextInt(16);
    if (raw == boolean.class || raw == Boolean.class) return rnd.nextBoolean();
    if (raw == double.class || raw == Double.class) return rnd.nextDouble();
    if (raw == String.class) return someString();
    if (raw.isEnum()) {
      Object[] constants = raw.getEnumConstants();
      return constants[rnd.nextInt(constants.length)];
    }
    if (raw == Area.class) return area();
    if (raw == Instant.class) return Instant.ofEpochSecond(rnd.nextLong(0, 1L << 33), rnd.nextInt(1_000_000_000));
    if (raw == Duration.class) return Duration.ofMillis(rnd.nextLong(0, 1L << 40));
    if (raw == UUID.class) return new UUID(rnd.nextLong(), rnd.nextLong());
    if (raw == long[].class) return rnd.longs(depth >= MAX_NESTING ? 0 : rnd.nextInt(5)).toArray();
    if (ActorRef.class.isAssignableFrom(raw)) return ref;
    if (raw == List.class) {
      Type element = ((ParameterizedType) t).getActualTypeArguments()[0];
      int n = depth >= MAX_NESTING ? 0 : rnd.nextInt(4);
      List<Object> list = new ArrayList<>(n);
      for (int i = 0; i < n; i++) list.add(value(element, depth + 1));
      // Both runtime classes a message's list has in practice.
      return rnd.nextBoolean() ? list : List.copyOf(list);
    }
    if (raw == Map.class) {
      // NodeInfo's owners (area start -> tenant): a HashMap, as Ownership.owners() gives, or an immutable one.
      Type[] kv = ((ParameterizedType) t).getActualTypeArguments();
      int n = depth >= MAX_NESTING ? 0 : rnd.nextInt(4);
      Map<Object, Object> map = new HashMap<>();
      for (int i = 0; i < n; i++) map.put(value(kv[0], depth + 1), value(kv[1], depth + 1));
      return rnd.nextBoolean() ? map : Map.copyOf(map);
    }
    if (raw == Optional.class) {
      Type element = ((ParameterizedType) t).getActualTypeArguments()[0];
      return rnd.nextBoolean() ? Optional.empty() : Optional.of(value(element, depth + 1));
    }
    if (raw.isRecord()) return record(raw, depth);
    if (raw.isInterface() || raw == Object.class) {
      List<Class<?>> impls = new ArrayList<>();
      for (WireRegistry.Entry e : entries) {
        Class<?> c = e.type();
        if (raw.isAssignableFrom(c) && (c.isRecord() || c.isEnum()) && c != raw) impls.add(c);
      }
      if (impls.isEmpty()) throw new AssertionError("no registered implementation of " + raw.getName());
      return value(impls.get(rnd.nextInt(impls.size())), depth + 1);
    }
    throw new AssertionError("no generator for " + t + ": teach WireSamples.value this type");
  }

  private Object record(Class<?> type, int depth) {
    RecordComponent[] components = type.getRecordComponents();
    Class<?>[] types = Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new);
    Constructor<?> canonical;
    try {
      canonical = type.getDeclaredConstructor(types);
      canonical.setAccessible(true);
    } catch (NoSuchMethodException e) {
      throw new AssertionError(type.getName() + " has no canonical constructor", e);
    }
    RuntimeException last = null;
    // Some records validate their components (start below end, ...): random values get a few tries.
    for (int attempt = 0; attempt < 200; attempt++) {
      Object[] args = new Object[components.length];
      for (int i = 0; i < components.length; i++) args[i] = value(components[i].getGenericType(), depth + 1);
      try {
        return canonical.newInstance(args);
      } catch (InvocationTargetException e) {
        if (e.getCause() instanceof RuntimeException r) last = r;
        else throw new AssertionError(e.getCause());
      } catch (ReflectiveOperationException e) {
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("no valid " + type.getName() + " in 200 random tries", last);
  }

  private long someLong() {
    return switch (rnd.nextInt(5)) {
      case 0 -> 0;
      case 1 -> -1L;
      case 2 -> rnd.nextLong(1, 1 << 20) << 12;
      case 3 -> 0xffffc90000000000L + (rnd.nextLong(0, 1L << 32) << 12);
      default -> rnd.nextLong();
    };
  }

  private String someString() {
    String[] pool = {"", "t", "vmalloc_test", "héllo wire", "\u2603 snow", "a/b/c"};
    String s = pool[rnd.nextInt(pool.length)];
    return rnd.nextInt(8) == 0 ? s.repeat(1 + rnd.nextInt(20)) : s;
  }

  private Area area() {
    long start = 0xffffc90000000000L + (rnd.nextLong(0, 1L << 28) << 12);
    return new Area(start, start + (rnd.nextLong(1, 1 << 16) << 12), someString());
  }

  /** A sample of each JDK class of the table, of exactly that class (null: not a JDK class). */
  private Object jdk(Class<?> type) {
    Area a = area();
    Area b = area();
    if (type == int.class) return 7;
    if (type == String.class) return someString();
    if (type == float.class) return 1.5f;
    if (type == boolean.class) return true;
    if (type == byte.class) return (byte) -3;
    if (type == char.class) return 'é';
    if (type == short.class) return (short) 300;
    if (type == long.class) return someLong();
    if (type == double.class) return 2.25d;
    if (type == byte[].class) return "bytes".getBytes(StandardCharsets.UTF_8);
    if (type == int[].class) return new int[] {1, -1, Integer.MAX_VALUE};
    if (type == long[].class) return new long[] {1, -1, Long.MIN_VALUE};
    if (type == boolean[].class) return new boolean[] {true, false};
    if (type == double[].class) return new double[] {0.5, -1e300};
    if (type == String[].class) return new String[] {"a", null, "ü"};
    if (type == ArrayList.class) return new ArrayList<>(List.of(a, b, "x", 5L));
    if (type == HashMap.class) return new HashMap<>(Map.of("a", a, "b", b));
    if (type == LinkedHashMap.class) return new LinkedHashMap<>(Map.of(1L, a));
    if (type == TreeMap.class) return new TreeMap<>(Map.of("k", 1L, "l", 2L));
    if (type == HashSet.class) return new HashSet<>(Set.of(1L, 2L, 3L));
    if (type == LinkedHashSet.class) return new LinkedHashSet<>(List.of("p", "q"));
    if (type == TreeSet.class) return new TreeSet<>(Set.of("x", "y"));
    if (type == Arrays.asList().getClass()) return Arrays.asList(a, b);
    if (type == List.of(1).getClass()) return List.of(a);
    if (type == List.of().getClass()) return List.of(a, b, a);
    if (type == List.of(1, 2, 3, 4).subList(0, 1).getClass()) return List.of(a, b, a, b).subList(1, 3);
    if (type == Set.of(1).getClass()) return Set.of(a);
    if (type == Set.of().getClass()) return Set.of(1L, 2L, 3L);
    if (type == Map.of(1, 1).getClass()) return Map.of("k", a);
    if (type == Map.of().getClass()) return Map.of("k", a, "l", b);
    if (type == Collections.emptyList().getClass()) return Collections.emptyList();
    if (type == Collections.emptySet().getClass()) return Collections.emptySet();
    if (type == Collections.emptyMap().getClass()) return Collections.emptyMap();
    if (type == Collections.singletonList(1).getClass()) return Collections.singletonList(a);
    if (type == Collections.singleton(1).getClass()) return Collections.singleton(a);
    if (type == Collections.singletonMap(1, 1).getClass()) return Collections.singletonMap("k", a);
    if (type == Optional.class) return Optional.of(a);
    if (type == OptionalInt.class) return OptionalInt.of(3);
    if (type == OptionalLong.class) return OptionalLong.of(-3);
    if (type == OptionalDouble.class) return OptionalDouble.of(0.25);
    if (type == UUID.class) return new UUID(rnd.nextLong(), rnd.nextLong());
    if (type == Duration.class) return Duration.ofSeconds(5, 7);
    if (type == Instant.class) return Instant.ofEpochSecond(1_700_000_000L, 42);
    if (ActorRef.class.isAssignableFrom(type)) return ref;
    return null;
  }

  private static Class<?> raw(Type t) {
    if (t instanceof Class<?> c) return c;
    if (t instanceof ParameterizedType p) return (Class<?>) p.getRawType();
    throw new AssertionError("unsupported type " + t);
  }
}
