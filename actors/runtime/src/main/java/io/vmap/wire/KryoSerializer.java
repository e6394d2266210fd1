package io.vmap.wire;

import akka.actor.ExtendedActorSystem;
import akka.serialization.JSerializer;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.Pool;

/**
 * Akka serializer for every {@link io.vmap.protocol.WireMessage}: Kryo with the ids of {@link WireRegistry},
 * registration required, no class names on the wire. Bound in {@code vmap-wire.conf}; Akka creates
 * it through the {@link ExtendedActorSystem} constructor.
 *
 * <p>Format of one message: Kryo's varint class id of the top-level object followed by its fields,
 * nothing else (no manifest, no header). Thread-safe: Kryo instances and output buffers are pooled,
 * each used by one thread at a time.
 */
public final class KryoSerializer extends JSerializer {

  /**
   * Akka's serializer id, written next to every stored event and snapshot and in every remote
   * envelope to pick the serializer on the reading side: part of the stored format, never change
   * it within a format. Akka reserves 0-40; 7316-7317 are not used by any Akka or common
   * third-party serializer. Format 1 (vmap 0.1, string request ids) was 7316; format 2 is 7317, so
   * a journal of format 1 fails to recover with "no serializer 7316" instead of being misread.
   */
  public static final int IDENTIFIER = 7317;

  // Enough for every dispatcher thread to hold one without creating Kryos in steady state;
  // more concurrent users just create (and then drop) extra instances.
  private static final int POOL_CAPACITY = 64;
  private static final int INITIAL_BUFFER = 4096;
  // A message with 100k ranges needs a few MiB; buffers grown beyond this are dropped after use
  // rather than kept in the pool for the life of the process.
  private static final int RETAINED_BUFFER_MAX = 1 << 20;

  /** Config path of the deepest object nesting read or written (Kryo's max depth). */
  public static final String MAX_DEPTH_PATH = "vmap.wire.max-depth";

  private final Pool<Kryo> kryos;
  private final Pool<Output> outputs;

  public KryoSerializer(ExtendedActorSystem system) {
    WireRegistry registry =
        WireRegistry.fromConfig(system.settings().config(), system.dynamicAccess().classLoader());
    TypedActorRefSerializer typedRefs = new TypedActorRefSerializer(system);
    ClassicActorRefSerializer classicRefs = new ClassicActorRefSerializer(system);
    int maxDepth = maxDepth(system.settings().config());
    this.kryos =
        new Pool<>(true, false, POOL_CAPACITY) {
          @Override
          protected Kryo create() {
            Kryo kryo = registry.newKryo(typedRefs, classicRefs);
            // A frame nesting collections thousands deep would otherwise end in a
            // StackOverflowError, which Akka treats as fatal.
            kryo.setMaxDepth(maxDepth);
            return kryo;
          }
        };
    this.outputs =
        new Pool<>(true, false, POOL_CAPACITY) {
          @Override
          protected Output create() {
            return newOutput();
          }

          @Override
          protected void reset(Output output) {
            if (output.getBuffer().length > RETAINED_BUFFER_MAX) {
              output.setBuffer(new byte[INITIAL_BUFFER], -1);
            } else {
              output.reset();
            }
          }
        };
    // Build one Kryo now: a broken table (duplicate id, missing extra class) fails the
    // ActorSystem start instead of the first message.
    kryos.free(kryos.obtain());
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  /** The class is identified by the Kryo id inside the bytes, so Akka stores no manifest. */
  @Override
  public boolean includeManifest() {
    return false;
  }

  @Override
  public byte[] toBinary(Object o) {
    Kryo kryo = kryos.obtain();
    Output output = outputs.obtain();
    try {
      kryo.writeClassAndObject(output, o);
      return output.toBytes();
    } catch (RuntimeException e) {
      throw new WireException(
          "cannot write " + o.getClass().getName() + " in the vmap wire format: " + e.getMessage(),
          e);
    } finally {
      outputs.free(output);
      kryos.free(kryo);
    }
  }

  @Override
  public Object fromBinaryJava(byte[] bytes, Class<?> manifest) {
    Kryo kryo = kryos.obtain();
    try {
      // Declared lengths are checked against the frame before anything is allocated for them.
      Input input = new BoundedInput(bytes);
      Object o = kryo.readClassAndObject(input);
      if (input.position() != bytes.length) {
        throw new WireException(
            "vmap wire format: "
                + (bytes.length - input.position())
                + " bytes left after reading "
                + (o == null ? "null" : o.getClass().getName())
                + " (writer and reader disagree on the format)");
      }
      return o;
    } catch (WireException e) {
      throw e;
    } catch (RuntimeException e) {
      // KryoException (unknown id, class name refused, truncated input) and exceptions from
      // constructors of records that validate their components.
      throw new WireException(
          "cannot read " + bytes.length + " bytes of the vmap wire format: " + e.getMessage(), e);
    } finally {
      kryos.free(kryo);
    }
  }

  static int maxDepth(com.typesafe.config.Config config) {
    int depth = config.hasPath(MAX_DEPTH_PATH) ? config.getInt(MAX_DEPTH_PATH) : 32;
    if (depth < 1) throw new IllegalArgumentException(MAX_DEPTH_PATH + ": " + depth + " < 1");
    return depth;
  }

  private static Output newOutput() {
    // maxBufferSize -1: grows without bound (doubling), so large range lists fit.
    return new Output(INITIAL_BUFFER, -1);
  }
}
