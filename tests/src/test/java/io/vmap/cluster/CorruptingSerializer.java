package io.vmap.cluster;

import akka.actor.ExtendedActorSystem;
import akka.serialization.JSerializer;
import com.esotericsoftware.kryo.io.Output;
import io.vmap.protocol.WireMessage;
import io.vmap.wire.KryoSerializer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A broken peer's serializer, for tests: it has the vmap serializer's id, so the receiving member
 * reads its frames with Kryo, and writes every message as Kryo does except {@link Poison}, which
 * it writes as a malformed frame of the kind the poison asks for.
 */
public final class CorruptingSerializer extends JSerializer {

  /** A message whose frame comes out malformed. */
  public record Poison(Kind kind, long seed) implements WireMessage {}

  /** The ways a frame is broken. */
  public enum Kind {
    /** A valid frame of an Area, cut short. */
    TRUNCATED,
    /** A class id nobody registered. */
    UNKNOWN_ID,
    /** An ArrayList claiming 2^31 - 1 elements. */
    HUGE_COLLECTION,
    /** A String claiming 2^31 - 1 chars. */
    HUGE_STRING,
    /** Lists nested 100,000 deep. */
    DEEP,
    /** An ArrayList id, then random bytes. */
    RANDOM
  }

  private final KryoSerializer kryo;

  public CorruptingSerializer(ExtendedActorSystem system) {
    this.kryo = new KryoSerializer(system);
  }

  @Override
  public int identifier() {
    return KryoSerializer.IDENTIFIER;
  }

  @Override
  public boolean includeManifest() {
    return false;
  }

  @Override
  public byte[] toBinary(Object o) {
    if (!(o instanceof Poison p)) return kryo.toBinary(o);
    Output out = new Output(64, -1);
    switch (p.kind()) {
      case TRUNCATED -> {
        byte[] area = kryo.toBinary(new io.vmap.space.Area(0x1000, 0x2000, "truncated"));
        return Arrays.copyOf(area, area.length / 2);
      }
      case UNKNOWN_ID -> out.writeVarInt(8999 + 2, true);
      case HUGE_COLLECTION -> {
        out.writeVarInt(20 + 2, true);
        out.writeVarIntFlag(false, Integer.MAX_VALUE, true);
      }
      case HUGE_STRING -> {
        out.writeVarInt(1 + 2, true);
        out.writeVarIntFlag(true, Integer.MAX_VALUE, true);
      }
      case DEEP -> {
        out.writeVarInt(20 + 2, true);
        for (int i = 0; i < 100_000; i++) {
          out.writeVarIntFlag(false, 2, true);
          out.writeVarInt(20 + 2, true);
        }
      }
      case RANDOM -> {
        out.writeVarInt(20 + 2, true);
        SplittableRandom rnd = new SplittableRandom(p.seed());
        for (int i = 0; i < 32; i++) out.writeByte(rnd.nextInt(256));
      }
    }
    return out.toBytes();
  }

  @Override
  public Object fromBinaryJava(byte[] bytes, Class<?> manifest) {
    return kryo.fromBinaryJava(bytes, manifest);
  }
}
