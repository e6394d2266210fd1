package io.vmap.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRefResolver;
import akka.serialization.SerializationExtension;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.typesafe.config.ConfigFactory;
import io.vmap.space.Area;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Random and mutated frames for every class of {@link WireRegistry}: truncated, bytes flipped, class
 * ids replaced by other registered ids and by unregistered ones, huge varint lengths written over
 * and inserted at every position (where strings, arrays and collections keep their lengths). Each
 * must either read as some value or fail with a {@link WireException}, never another exception or
 * an error, and reading it must allocate memory bounded by the frame's size, never by what it
 * claims: measured per frame with the thread's allocation counter.
 *
 * <p>Bounded for the normal suite; a longer run: {@code -Dvmap.fuzz.wire.rounds=50
 * -Dvmap.fuzz.seed=N} (README "Bad input").
 */
final class WireFuzzTest {

  /** Rounds of random mutations per class: 1 in the normal suite. */
  private static final int ROUNDS = Integer.getInteger("vmap.fuzz.wire.rounds", 1);
  private static final long SEED = Long.getLong("vmap.fuzz.seed", 0x5eed);

  /**
   * Most bytes one frame may allocate while being read: a fixed allowance (the exception, its stack
   * trace and message, Kryo's input) plus a factor of the frame's length (what a valid frame of
   * small elements takes as objects). A claim of 2^31 elements asks for gigabytes.
   */
  static long allocationBound(int frameLength) {
    return (1L << 20) + 256L * frameLength;
  }

  /** 2^31 - 1 as a 5-byte varint, and as a varint with the flag bit (Kryo's readVarIntFlag). */
  private static final byte[][] HUGE = {
    {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07},
    {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f},
    {(byte) 0xbf, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f},
    {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08}, // 2^31: negative as an int
  };

  private static ActorTestKit kit;
  private static KryoSerializer kryo;
  private static List<WireSamples.Sample> samples;
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create("WireFuzzTest", ConfigFactory.load());
    kryo = (KryoSerializer) SerializationExtension.get(kit.system()).serializerByIdentity().apply(KryoSerializer.IDENTIFIER);
    TestProbe<Object> probe = kit.createTestProbe();
    String path = ActorRefResolver.get(kit.system()).toSerializationFormat(probe.ref());
    samples = new WireSamples(SEED, kryo, probe.ref(), path).all();
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void everyRegisteredClassHasAValidFrameThatReadsBack() {
    assertEquals(WireRegistry.standard().entries().size() - 1, samples.size(), "every entry but void");
    for (WireSamples.Sample s : samples) {
      Object back;
      try {
        back = kryo.fromBinary(s.frame());
      } catch (RuntimeException e) {
        throw new AssertionError(s.name() + ": its own valid frame does not read", e);
      }
      if (!(back instanceof akka.actor.ActorRef) && !(back instanceof akka.actor.typed.ActorRef)) {
        // Written again, the value gives the same bytes (arrays in records have no equals). After
        // the class id: a List.of(...).subList(...) reads back as a List.of(...).
        byte[] again = kryo.toBinary(back);
        assertArrayEquals(
            Arrays.copyOfRange(s.frame(), varIntLength(s.frame()), s.frame().length),
            Arrays.copyOfRange(again, varIntLength(again), again.length), s.name());
      }
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES) // no hang; a normal run takes seconds
  void mutatedFramesOfEveryClassFailCleanlyInBoundedMemory() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    int[] ids = WireRegistry.standard().entries().stream().mapToInt(WireRegistry.Entry::id).toArray();
    int[] unregistered = {8999, 9500, 189, 1 << 20, Integer.MAX_VALUE - 2, -3};
    Stats stats = new Stats();
    // Warm up: the first read of each class loads and links code, allocating once what no frame
    // allocates again.
    for (WireSamples.Sample s : samples) {
      for (int id : ids) {
        try {
          kryo.fromBinary(withId(s.frame(), varIntLength(s.frame()), id));
        } catch (WireException expected) {
          // most are malformed
        }
      }
    }
    for (WireSamples.Sample s : samples) {
      byte[] f = s.frame();
      int idLength = varIntLength(f);
      // Every truncation.
      for (int n = 0; n < f.length; n++) stats.read(s, "truncated to " + n, Arrays.copyOf(f, n));
      // The top-level id replaced by every registered id (the rest then read as that class) and
      // by ids nobody registered.
      for (int id : ids) stats.read(s, "id " + id, withId(f, idLength, id));
      for (int id : unregistered) stats.read(s, "unregistered id " + id, withId(f, idLength, id));
      for (int round = 0; round < ROUNDS; round++) {
        // Huge lengths written over and inserted at positions after the id; every position of a
        // short frame, a sample of a long one.
        for (int pos : positions(rnd, idLength, f.length, 48)) {
          for (byte[] huge : HUGE) {
            stats.read(s, "huge length over byte " + pos, overwrite(f, pos, huge));
            stats.read(s, "huge length inserted at " + pos, insert(f, pos, huge));
          }
          // A registered id spliced in where an object's class may be read.
          stats.read(s, "id spliced at " + pos, insert(f, pos, varInt(ids[rnd.nextInt(ids.length)] + 2)));
        }
        // Random bytes flipped, one to four at a time.
        for (int i = 0; i < 64; i++) {
          byte[] m = f.clone();
          int flips = 1 + rnd.nextInt(4);
          for (int k = 0; k < flips && m.length > 0; k++) m[rnd.nextInt(m.length)] = (byte) rnd.nextInt(256);
          stats.read(s, "flipped " + flips, m);
        }
        // Random frames of random length after a registered id.
        for (int i = 0; i < 16; i++) {
          byte[] junk = new byte[rnd.nextInt(64)];
          for (int k = 0; k < junk.length; k++) junk[k] = (byte) rnd.nextInt(256);
          stats.read(s, "random bytes", concat(Arrays.copyOf(f, idLength), junk));
        }
      }
    }
    System.out.printf("wire fuzz: seed %#x, %d classes, %d frames: %d refused, %d read as a value; "
            + "most allocated by one frame %d bytes (%d-byte frame, %s)%n",
        SEED, samples.size(), stats.frames, stats.refused, stats.frames - stats.refused,
        stats.maxAllocated, stats.maxFrameLength, stats.maxWhat);
    assertTrue(stats.refused > stats.frames / 2, "most mutations are malformed: " + stats.refused + " of " + stats.frames);
  }

  /**
   * Frames built by hand that claim 2^31 - 1 elements of each shape Kryo sizes from the wire.
   * Without the checks each asks for gigabytes (an OutOfMemoryError, or "Requested array size
   * exceeds VM limit"); with them each is a WireException within the allocation bound.
   */
  @Test
  void hugeClaimsOfEveryShapeFailWithoutAllocatingThem() {
    int max = Integer.MAX_VALUE;
    Map<String, byte[]> frames = new LinkedHashMap<>();
    frames.put("UTF-8 string", frame(1, o -> { o.writeVarIntFlag(true, max, true); o.writeByte('x'); }));
    frames.put("byte[]", frame(10, o -> o.writeVarInt(max, true)));
    frames.put("int[]", frame(11, o -> o.writeVarInt(max, true)));
    frames.put("long[]", frame(12, o -> o.writeVarInt(max, true)));
    frames.put("boolean[]", frame(13, o -> o.writeVarInt(max, true)));
    frames.put("double[]", frame(14, o -> o.writeVarInt(max, true)));
    frames.put("String[]", frame(15, o -> o.writeVarInt(max, true)));
    // Collections: a flag (elements of one type?) and the size + 1 in one varint.
    for (int id : new int[] {20, 24, 25, 27, 30, 31, 32, 33, 34}) {
      frames.put("collection id " + id + ", mixed types", frame(id, o -> o.writeVarIntFlag(false, max, true)));
      // Same type, and that type is "null": Kryo adds 2^31 - 1 nulls without reading a byte more.
      frames.put("collection id " + id + ", all null", frame(id, o -> { o.writeVarIntFlag(true, max, true); o.writeByte(0); }));
      // Same type, a record without components: every element costs zero bytes.
      frames.put("collection id " + id + ", empty records", frame(id, o -> {
        o.writeVarIntFlag(true, max, true);
        o.writeVarInt(330 + 2, true); // NodeMessage.Wake
        o.writeBoolean(false); // no nulls
      }));
    }
    frames.put("TreeSet", frame(26, o -> { o.writeVarIntFlag(false, max, true); o.writeByte(0); }));
    for (int id : new int[] {21, 22, 35, 36}) frames.put("map id " + id, frame(id, o -> o.writeVarInt(max, true)));
    frames.put("TreeMap", frame(23, o -> { o.writeVarInt(max, true); o.writeByte(0); }));
    // An Area whose tag claims 2^31 - 1 chars: the same string check inside a record.
    frames.put("Area tag", frame(100, o -> { o.writeVarLong(2, false); o.writeVarLong(1, false); o.writeVarIntFlag(true, max, true); }));
    // Lists nested a million deep: refused at the max depth, not by a StackOverflowError.
    frames.put("deep nesting", frame(20, o -> {
      for (int i = 0; i < 1_000_000; i++) {
        o.writeVarIntFlag(false, 2, true); // one element of its own class
        o.writeVarInt(20 + 2, true);
      }
    }));

    for (Map.Entry<String, byte[]> e : frames.entrySet()) {
      long before = THREADS.getCurrentThreadAllocatedBytes();
      WireException refused = assertThrows(WireException.class, () -> kryo.fromBinary(e.getValue()), e.getKey());
      long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
      assertTrue(allocated < allocationBound(e.getValue().length),
          e.getKey() + ": allocated " + allocated + " bytes for a " + e.getValue().length + "-byte frame");
      String why = String.valueOf(refused.getMessage());
      assertTrue(why.contains("claims") || why.contains("depth") || why.contains("Buffer underflow"), e.getKey() + ": " + why);
    }
  }

  /**
   * The bounded serializers write exactly what Kryo's own write (stored journals and other members
   * must read the same bytes), and read what those wrote.
   */
  @Test
  void boundedSerializersKeepKryosFormat() {
    Kryo stock = new Kryo();
    stock.setRegistrationRequired(true);
    stock.setReferences(false);
    Kryo ours = WireRegistry.standard().newKryo(new com.esotericsoftware.kryo.serializers.DefaultSerializers.StringSerializer(),
        new com.esotericsoftware.kryo.serializers.DefaultSerializers.StringSerializer());
    stock.register(Area.class, 100);
    Area a = new Area(0x1000, 0x2000, "a");
    Area b = new Area(0x3000, 0x5000, "b\u00e9");
    List<Object> values = List.of(
        new ArrayList<>(List.of(a, b, "s", 4L)), new HashMap<>(Map.of("k", a)), new LinkedHashMap<>(Map.of(2L, b)),
        new TreeMap<>(Map.of("x", 1L)), new HashSet<>(Set.of(a)), new LinkedHashSet<>(List.of(b, a)),
        new TreeSet<>(Set.of("p", "q")), Arrays.asList(a, null, b), List.of(a), List.of(a, b, a), List.of(a, b, a).subList(0, 2),
        Set.of(b), Set.of(1L, 2L, 3L), Map.of("k", a), Map.of("k", a, "l", b),
        new String[] {"a", null}, new boolean[] {true, false, true}, Collections.emptyList());
    for (WireRegistry.Entry e : WireRegistry.standard().entries()) {
      if (e.id() >= 10 && e.id() < 50 && e.type() != Area.class) stock.register(e.type(), e.id());
    }
    for (Object v : values) {
      Output o1 = new Output(256, -1);
      Output o2 = new Output(256, -1);
      stock.writeClassAndObject(o1, v);
      ours.writeClassAndObject(o2, v);
      assertArrayEquals(o1.toBytes(), o2.toBytes(), v.getClass().getName());
      Object back = ours.readClassAndObject(new BoundedInput(o1.toBytes()));
      if (v instanceof Object[] arr) assertArrayEquals(arr, (Object[]) back);
      else if (v instanceof boolean[] arr) assertArrayEquals(arr, (boolean[]) back);
      else assertEquals(v, back, v.getClass().getName());
      // And stock Kryo reads ours.
      Object stockBack = stock.readClassAndObject(new Input(o2.toBytes()));
      if (!(v instanceof Object[]) && !(v instanceof boolean[])) assertEquals(v, stockBack);
    }
  }

  // ------------------------------------------------------------------ reading one frame

  private static final class Stats {
    long frames;
    long refused;
    long maxAllocated;
    int maxFrameLength;
    String maxWhat = "";

    void read(WireSamples.Sample s, String what, byte[] frame) {
      frames++;
      long before = THREADS.getCurrentThreadAllocatedBytes();
      try {
        kryo.fromBinary(frame);
      } catch (WireException e) {
        refused++;
      } catch (Throwable t) {
        fail(s.name() + ", " + what + ": " + t + " instead of a WireException; frame " + hex(frame), t);
      }
      long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
      if (allocated > maxAllocated) {
        maxAllocated = allocated;
        maxFrameLength = frame.length;
        maxWhat = s.name() + ", " + what;
      }
      if (allocated > allocationBound(frame.length)) {
        fail(s.name() + ", " + what + ": reading a " + frame.length + "-byte frame allocated " + allocated
            + " bytes; frame " + hex(frame));
      }
    }
  }

  // ------------------------------------------------------------------ frame surgery

  private interface Body {
    void write(Output o);
  }

  /** A frame of class {@code id}: its id, then what {@code body} writes. */
  private static byte[] frame(int id, Body body) {
    Output o = new Output(64, -1);
    o.writeVarInt(id + 2, true);
    body.write(o);
    return o.toBytes();
  }

  private static byte[] varInt(int v) {
    Output o = new Output(8);
    o.writeVarInt(v, true);
    return o.toBytes();
  }

  private static int varIntLength(byte[] f) {
    int n = 0;
    while (n < f.length && n < 5 && (f[n] & 0x80) != 0) n++;
    return Math.min(n + 1, f.length);
  }

  private static byte[] withId(byte[] f, int idLength, int id) {
    return concat(varInt(id + 2), Arrays.copyOfRange(f, idLength, f.length));
  }

  private static byte[] overwrite(byte[] f, int pos, byte[] with) {
    byte[] m = Arrays.copyOf(f, Math.max(f.length, pos + with.length));
    System.arraycopy(with, 0, m, pos, with.length);
    return m;
  }

  private static byte[] insert(byte[] f, int pos, byte[] with) {
    return concat(concat(Arrays.copyOf(f, pos), with), Arrays.copyOfRange(f, pos, f.length));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] m = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, m, a.length, b.length);
    return m;
  }

  /** Every position in [from, to] if there are at most {@code most}, else that many at random. */
  private static int[] positions(SplittableRandom rnd, int from, int to, int most) {
    if (to - from + 1 <= most) return java.util.stream.IntStream.rangeClosed(from, to).toArray();
    return rnd.ints(most, from, to + 1).toArray();
  }

  private static String hex(byte[] f) {
    String h = java.util.HexFormat.of().formatHex(f, 0, Math.min(f.length, 96));
    return f.length > 96 ? h + "... (" + f.length + " bytes)" : h;
  }
}
