package io.vmap.bench.jmh;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.vmap.state.AnswerKey;
import io.vmap.state.NodeEvent;
import io.vmap.state.ReleasePiece;
import io.vmap.state.RequestKey;
import io.vmap.space.Area;
import io.vmap.wire.WireRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Our wire format against the obvious alternative: one message serialized and read back by Kryo
 * (registration required, the {@link WireRegistry} table, what {@code KryoSerializer} does) and by
 * Jackson CBOR on the same records. {@code small}: the event of one allocation; {@code release256}:
 * a purge's release batch of 256 pieces. The encoded sizes are printed once at setup.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class WireBench {

  @Param({"small", "release256"})
  String message;

  Object value;
  Class<?> type;
  Kryo kryo;
  Output out = new Output(1 << 16, -1);
  /**
   * The event's key is an {@link AnswerKey} (sealed: a client session's RequestKey here). Kryo writes the concrete
   * class's id; CBOR is told the class instead, which costs it no bytes (slightly in its favour).
   */
  ObjectMapper cbor = new ObjectMapper(new CBORFactory())
      .registerModule(new SimpleModule().addAbstractTypeMapping(AnswerKey.class, RequestKey.class));

  /** The messages benchmarked carry no ActorRef: their serializers are never called. */
  static final class NoRefs extends Serializer<Object> {
    @Override
    public void write(Kryo k, Output o, Object x) {
      throw new IllegalStateException("no actor refs here");
    }

    @Override
    public Object read(Kryo k, Input i, Class<?> t) {
      throw new IllegalStateException("no actor refs here");
    }
  }

  @Setup(Level.Trial)
  public void setup() throws IOException {
    kryo = WireRegistry.standard().newKryo(new NoRefs(), new NoRefs());
    long base = 0xffffc90000000000L;
    if (message.equals("small")) {
      value = new NodeEvent.AreaAllocated(new Area(base + 0x3000, base + 0x5000, "buf"),
          new RequestKey(0x1c2d3e4f5a6b7c8dL, 42));
    } else {
      List<ReleasePiece> pieces = new ArrayList<>();
      for (int i = 0; i < 256; i++) pieces.add(new ReleasePiece(base + i * 0x10000L, base + i * 0x10000L, base + i * 0x10000L + 0x2000));
      value = new NodeEvent.PiecesReleased(7, pieces);
    }
    type = value.getClass();
    System.err.printf("%n%s: kryo %d bytes, cbor %d bytes%n", message, kryoBytes().length, cbor.writeValueAsBytes(value).length);
  }

  byte[] kryoBytes() {
    out.reset();
    kryo.writeClassAndObject(out, value);
    return out.toBytes();
  }

  @Benchmark
  public Object kryoRoundTrip() {
    return kryo.readClassAndObject(new Input(kryoBytes()));
  }

  @Benchmark
  public Object cborRoundTrip() throws IOException {
    return cbor.readValue(cbor.writeValueAsBytes(value), type);
  }
}
