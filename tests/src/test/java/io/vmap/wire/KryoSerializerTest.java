package io.vmap.wire;

import io.vmap.protocol.WireMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.dungeon.SerializationCheckFailedException;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.LoggingTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Output;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.space.Area;
import java.time.Duration;
import java.time.Instant;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kryo wire format through Akka's own serialization machinery: round trips, actor refs that
 * still deliver after the trip, {@code serialize-messages}, and refusal of anything not named by a
 * registered id.
 */
final class KryoSerializerTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  /** Only to assert that something does NOT arrive. */
  private static final Duration SHORT = Duration.ofMillis(200);

  // Test-local classes, registered the way tests and embedders do it (ids >= 9000).
  private static final String CONFIG =
      """
      akka.actor.serialize-messages = on
      vmap.wire.extra-registrations = [
        { id = 9000, class = "io.vmap.wire.KryoSerializerTest$Color" }
        { id = 9001, class = "io.vmap.wire.KryoSerializerTest$Sample" }
        { id = 9002, class = "io.vmap.wire.KryoSerializerTest$Inner" }
        { id = 9003, class = "io.vmap.wire.KryoSerializerTest$Ping" }
        { id = 9004, class = "io.vmap.wire.KryoSerializerTest$Stop" }
        { id = 9005, class = "io.vmap.wire.KryoSerializerTest$Holder" }
        { id = 9006, class = "io.vmap.wire.KryoSerializerTest$RefRequest" }
        { id = 9007, class = "io.vmap.wire.KryoSerializerTest$RefReply" }
        { id = 9008, class = "io.vmap.wire.KryoSerializerTest$Ranges" }
      ]
      """;

  public enum Color {
    RED,
    GREEN,
    BLUE
  }

  public record Inner(Optional<String> label, UUID id, Instant at) {}

  public record Sample(
      List<Area> areas, ActorRef<String> replyTo, Color color, String note, long big, Inner inner)
      implements WireMessage {}

  public record Ping(String text, List<Long> numbers) implements WireMessage {}

  public enum Stop implements WireMessage {
    INSTANCE
  }

  public record Holder(Object payload) implements WireMessage {}

  public record RefRequest(ActorRef<RefReply> replyTo) implements WireMessage {}

  public record RefReply(ActorRef<String> adapter, ActorRef<Object> self) implements WireMessage {}

  public record Ranges(List<Area> ranges) implements WireMessage {}

  /** Implements WireMessage but has no id: must be refused. */
  public record Unregistered(String text) implements WireMessage {}

  private static ActorTestKit kit;
  private static Serialization serialization;

  @BeforeAll
  static void start() {
    Config config =
        ConfigFactory.parseString(CONFIG)
            .withFallback(ConfigFactory.parseResources("vmap-wire.conf"))
            .withFallback(ConfigFactory.load())
            .resolve();
    kit = ActorTestKit.create("KryoSerializerTest", config);
    serialization = SerializationExtension.get(kit.system());
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void areaRoundTrips() {
    Area area = new Area(0xffffc90000000000L, 0xffffc90000003000L, "vmalloc_test");
    byte[] bytes = kryo().toBinary(area);
    Object back = serialization.deserialize(bytes, KryoSerializer.IDENTIFIER, "").get();
    assertEquals(area, back);
    assertNotSame(area, back);
  }

  @Test
  void recordWithListRefEnumStringAndUnsignedLongRoundTrips() {
    TestProbe<String> probe = kit.createTestProbe();
    Sample sample =
        new Sample(
            List.of(new Area(0x1000, 0x3000, "a"), new Area(-0x2000L, -0x1000L, "top")),
            probe.ref(),
            Color.BLUE,
            "héllo wire",
            0xffff_ffff_ffff_fffeL, // 2^64 - 2 as an unsigned 64-bit address
            new Inner(Optional.of("label"), UUID.randomUUID(), Instant.ofEpochSecond(1, 42)));

    Serializer serializer = serialization.findSerializerFor(sample);
    assertInstanceOf(KryoSerializer.class, serializer);
    byte[] bytes = serialization.serialize(sample).get();
    Object back =
        serialization
            .deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, sample))
            .get();

    assertEquals(sample, back);
    assertNotSame(sample, back);
    Sample copy = (Sample) back;
    assertEquals(0xffff_ffff_ffff_fffeL, copy.big());
    assertSame(Color.BLUE, copy.color());
    copy.replyTo().tell("through the resolved ref");
    probe.expectMessage(WAIT, "through the resolved ref");
  }

  @Test
  void hundredThousandRangesRoundTrip() {
    List<Area> ranges =
        LongStream.range(0, 100_000)
            .mapToObj(i -> new Area(i * 0x2000, i * 0x2000 + 0x1000, ""))
            .toList(); // ImmutableCollections.ListN
    Ranges big = new Ranges(ranges);
    byte[] bytes = serialization.serialize(big).get();
    assertEquals(big, serialization.deserialize(bytes, Ranges.class).get());

    Ranges mutable = new Ranges(new ArrayList<>(ranges));
    byte[] again = serialization.serialize(mutable).get();
    assertEquals(mutable, serialization.deserialize(again, Ranges.class).get());
  }

  @Test
  void serializeMessagesSendsWireMessagesThroughKryo() {
    TestProbe<Object> probe = kit.createTestProbe();
    ActorRef<Object> relay =
        kit.spawn(
            Behaviors.receiveMessage(
                m -> {
                  probe.ref().tell(m);
                  return Behaviors.same();
                }));
    Ping ping = new Ping("ping", List.of(1L, 2L, -1L));
    assertInstanceOf(KryoSerializer.class, serialization.findSerializerFor(ping));

    relay.tell(ping);
    Object got = probe.receiveMessage(WAIT);
    assertEquals(ping, got);
    assertNotSame(ping, got, "serialize-messages = on must hand the actor a Kryo copy");

    // An enum message is also java.io.Serializable; the WireMessage binding must still win.
    assertInstanceOf(KryoSerializer.class, serialization.findSerializerFor(Stop.INSTANCE));
    relay.tell(Stop.INSTANCE);
    assertSame(Stop.INSTANCE, probe.receiveMessage(WAIT));

    // The same send with a class that has no id fails in Kryo, naming the class, and Akka drops
    // it (logging the ERROR this expects, which therefore shows in the test output).
    LoggingTestKit.error(SerializationCheckFailedException.class)
        .withCustom(
            event ->
                event
                    .getThrowable()
                    .map(t -> t.getCause() instanceof WireException w
                        && w.getMessage().contains(Unregistered.class.getName()))
                    .orElse(false))
        .expect(
            kit.system(),
            () -> {
              relay.tell(new Unregistered("never delivered"));
              return null;
            });
    probe.expectNoMessage(SHORT);
  }

  @Test
  void askTempRefsAndMessageAdapterRefsSurviveTheWire() throws Exception {
    TestProbe<Object> probe = kit.createTestProbe();
    ActorRef<Object> actor = kit.spawn(refServer(probe.ref()));

    // RefRequest goes through Kryo (serialize-messages) holding the ask's temporary ref, so the
    // reply arriving proves the temp ref resolved after the trip.
    CompletionStage<RefReply> asked =
        AskPattern.ask(actor, RefRequest::new, WAIT, kit.scheduler());
    RefReply reply = asked.toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

    byte[] bytes = serialization.serialize(reply).get();
    RefReply back = serialization.deserialize(bytes, RefReply.class).get();
    assertEquals(reply, back);
    back.adapter().tell("via adapter");
    assertEquals(new Ping("via adapter", List.of()), probe.receiveMessage(WAIT));
    back.self().tell(new Ping("via self", List.of(7L)));
    assertEquals(new Ping("via self", List.of(7L)), probe.receiveMessage(WAIT));

    // The typed ActorSystem (a ref to the user guardian) and dead letters are refs too.
    Holder systemRefs = new Holder(List.of(kit.system(), kit.system().deadLetters()));
    byte[] sys = serialization.serialize(systemRefs).get();
    assertEquals(
        List.of(kit.system().path(), kit.system().deadLetters().path()),
        ((List<?>) serialization.deserialize(sys, Holder.class).get().payload())
            .stream().map(r -> ((ActorRef<?>) r).path()).toList());
  }

  @Test
  void classicActorRefsRoundTrip() {
    TestProbe<String> probe = kit.createTestProbe();
    Holder holder = new Holder(Adapter.toClassic(probe.ref()));
    Holder back =
        serialization.deserialize(serialization.serialize(holder).get(), Holder.class).get();
    assertEquals(holder, back);
    ((akka.actor.ActorRef) back.payload()).tell("classic", akka.actor.ActorRef.noSender());
    probe.expectMessage(WAIT, "classic");
  }

  /**
   * Pooled Kryos and buffers under concurrent use, including messages that grow a buffer past the
   * size the pool keeps (so it is replaced while other threads work).
   */
  @Test
  void concurrentUseIsSafe() throws Exception {
    KryoSerializer ours = kryo();
    Ranges large =
        new Ranges(
            LongStream.range(0, 70_000)
                .mapToObj(i -> new Area(i * 0x2000, i * 0x2000 + 0x1000, "x"))
                .toList());
    int threads = 4;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        done.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 1000; i++) {
                    Object m =
                        i == 500 ? large : new Ping("t" + seed + "-" + i, List.of((long) i, -1L));
                    assertEquals(m, ours.fromBinary(ours.toBinary(m)));
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(WAIT.toSeconds() * 3, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void unregisteredClassIsRefusedWithItsName() {
    Unregistered top = new Unregistered("x");
    Throwable e = serialization.serialize(top).failed().get();
    assertInstanceOf(WireException.class, e);
    assertTrue(e.getMessage().contains(Unregistered.class.getName()), e.getMessage());
    assertTrue(e.getMessage().contains("WireRegistry"), e.getMessage());

    // Nested at any depth, the unregistered class is the one named.
    Throwable nested = serialization.serialize(new Holder(List.of(top))).failed().get();
    assertTrue(nested.getMessage().contains(Unregistered.class.getName()), nested.getMessage());
  }

  @Test
  void classNamesInTheStreamAreNeverResolved() {
    KryoSerializer ours = kryo();

    // A stock Kryo without required registration names ArrayList by string. ArrayList IS
    // registered with us (id 20), and stock Kryo would resolve the name: we refuse it anyway.
    byte[] named = unregisteredKryoBytes(new ArrayList<>(List.of("a")));
    // (Kryo marks the end of an ASCII string in the high bit of its last byte.)
    assertTrue(new String(named, StandardCharsets.ISO_8859_1).contains("java.util.ArrayLis"));
    WireException byName = assertThrows(WireException.class, () -> ours.fromBinary(named));
    assertTrue(byName.getMessage().contains("class named by string"), byName.getMessage());

    // A class we do not know at all, named by string: same.
    byte[] foreign = unregisteredKryoBytes(new java.util.BitSet());
    assertThrows(WireException.class, () -> ours.fromBinary(foreign));

    // An id nobody registered.
    Output unknownId = new Output(16);
    unknownId.writeVarInt(8999 + 2, true); // Kryo writes id + 2 (0 = null, 1 = class name)
    WireException byId =
        assertThrows(WireException.class, () -> ours.fromBinary(unknownId.toBytes()));
    assertTrue(byId.getMessage().contains("8999"), byId.getMessage());

    // Trailing bytes after a complete object mean writer and reader disagree.
    byte[] area = ours.toBinary(new Area(0x1000, 0x2000, "t"));
    byte[] longer = Arrays.copyOf(area, area.length + 1);
    assertThrows(WireException.class, () -> ours.fromBinary(longer));
  }

  /**
   * Pins the bytes of one Area: a Kryo upgrade or a change of the table that alters stored bytes
   * fails here before it meets an old journal.
   */
  @Test
  void areaBytesAreStable() {
    byte[] bytes = kryo().toBinary(new Area(0xffffc90000000000L, 0xffffc90000001000L, "vm"));
    // 66: id 100 + 2. Then the components in name order, end, start, tag: each long a zigzag
    // varint (Kryo's LongSerializer), so addresses near 2^64 (small negatives) stay short; the
    // String with the end of its ASCII marked by the high bit of the last byte.
    assertEquals(
        "66" + "ffbfffffffbf1b" + "ffffffffffbf1b" + "76ed", HexFormat.of().formatHex(bytes));
  }

  private static Behavior<Object> refServer(ActorRef<Object> probe) {
    return Behaviors.setup(
        ctx -> {
          ActorRef<String> adapter = ctx.messageAdapter(String.class, s -> new Ping(s, List.of()));
          return Behaviors.receiveMessage(
              m -> {
                if (m instanceof RefRequest r) {
                  r.replyTo().tell(new RefReply(adapter, ctx.getSelf()));
                } else {
                  probe.tell(m);
                }
                return Behaviors.same();
              });
        });
  }

  private static KryoSerializer kryo() {
    return (KryoSerializer) serialization.serializerByIdentity().apply(KryoSerializer.IDENTIFIER);
  }

  /** What a peer with a stock, permissive Kryo would send: the class written as its name. */
  private static byte[] unregisteredKryoBytes(Object o) {
    Kryo permissive = new Kryo();
    permissive.setRegistrationRequired(false);
    Output out = new Output(256, -1);
    permissive.writeClassAndObject(out, o);
    return out.toBytes();
  }
}
