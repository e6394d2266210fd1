package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.event.Logging;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.WireMessage;
import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Two cluster members over Artery in one JVM, sharing the vmap nodes; "peer" has a serializer
 * that writes some messages as malformed frames (truncated, an
 * unknown id, 2^31-element claims, 100,000-deep nesting, random bytes). The server drops each,
 * logs the first with the peer's address and then nothing more within the interval, delivers the
 * valid messages sent between them in order, and keeps answering allocations from both members.
 */
@Tag("integration")
class MalformedFrameTest {

  /** A valid message between the poisons (the same id on both members). */
  public record Ping(int n) implements WireMessage {}

  private static final Duration WAIT = Duration.ofSeconds(60);

  private static ActorSystem<Void> server;
  private static ActorSystem<Void> peer;
  private static VmapClient serverClient;
  private static VmapClient peerClient;
  private static ActorTestKit serverKit;
  private static ListAppender<ILoggingEvent> deserializerLog;

  static Config config(int port, int seedPort, boolean corrupting) {
    String overrides =
        "akka.remote.artery.canonical.port = " + port + "\n"
            + "akka.cluster.seed-nodes = [\"akka://vmap@127.0.0.1:" + seedPort + "\"]\n"
            + "akka.cluster.split-brain-resolver.active-strategy = keep-oldest\n"

            + "akka.coordinated-shutdown.exit-jvm = off\n"
            + "vmap.mode = volatile\n"

            + "vmap.space { start = \"0x100000\", end = \"0x500000\", page = 4096, zone = 65536, nodes = 4 }\n"
            + "vmap.wire.extra-registrations = [{ id = 9000, class = \"" + Ping.class.getName() + "\" }]\n"
            + (corrupting
                ? "akka.actor.serializers.kryo = \"" + CorruptingSerializer.class.getName() + "\"\n"
                    + "akka.actor.serialization-bindings { \"" + CorruptingSerializer.Poison.class.getName() + "\" = kryo }\n"
                : "");
    Config common = ConfigFactory.parseFile(new File("../cluster-config/cluster-common.conf"));
    return ConfigFactory.parseString(overrides).withFallback(common).withFallback(ConfigFactory.load()).resolve();
  }

  @BeforeAll
  static void start() throws IOException {
    Logger logger = (Logger) LoggerFactory.getLogger(DroppedFrameLogger.DESERIALIZER);
    deserializerLog = new ListAppender<>();
    deserializerLog.start();
    logger.addAppender(deserializerLog);

    int serverPort = freePort();
    int peerPort = freePort();
    Config s = config(serverPort, serverPort, false);
    server = ActorSystem.create(Behaviors.empty(), "vmap", s);
    serverClient = VmapCluster.start(server, VmapSettings.from(s)).client();
    Config p = config(peerPort, serverPort, true);
    peer = ActorSystem.create(Behaviors.empty(), "vmap", p);
    peerClient = VmapCluster.start(peer, VmapSettings.from(p)).client();
    serverKit = ActorTestKit.create(server);
    serverKit.createTestProbe().awaitAssert(WAIT, () -> {
      for (ActorSystem<Void> m : List.of(server, peer)) {
        long up = StreamSupport.stream(Cluster.get(m).state().getMembers().spliterator(), false)
            .filter(x -> x.status() == MemberStatus.up()).count();
        assertEquals(2, up);
      }
      return null;
    });

  }

  @AfterAll
  static void stop() {
    ((Logger) LoggerFactory.getLogger(DroppedFrameLogger.DESERIALIZER)).detachAppender(deserializerLog);
    for (ActorSystem<Void> m : List.of(peer, server)) m.terminate();
    for (ActorSystem<Void> m : List.of(peer, server)) m.getWhenTerminated().toCompletableFuture().join();
  }

  @Test
  void malformedFramesAreDroppedLoggedOncePerSenderAndTheMemberKeepsServing() throws Exception {
    // Before: the peer allocates through the server's nodes.
    Allocation before = peerClient.alloc(AllocOptions.size(8192).home(1).tag("before")).toCompletableFuture().get();

    TestProbe<Object> inbox = serverKit.createTestProbe();
    String path = ActorRefResolver.get(server).toSerializationFormat(inbox.ref());
    ActorRef<Object> remote = ActorRefResolver.get(peer).resolveActorRef(path);
    int rounds = 20;
    int n = 0;
    for (int r = 0; r < rounds; r++) {
      for (CorruptingSerializer.Kind kind : CorruptingSerializer.Kind.values()) {
        remote.tell(new CorruptingSerializer.Poison(kind, r));
        remote.tell(new Ping(n++));
      }
    }
    // Every valid message arrives, in order, and none of the malformed ones.
    for (int i = 0; i < n; i++) assertEquals(new Ping(i), inbox.receiveMessage(WAIT));

    // A marker through the server's logger after the last frame was read: every error about the
    // frames was published before it, so once it is logged, the count is final.
    server.classicSystem().eventStream().publish(new Logging.Error(
        "marker", Class.forName(DroppedFrameLogger.DESERIALIZER), "marker: end of the malformed frames"));
    inbox.awaitAssert(WAIT, () -> {
      assertTrue(messages().contains("marker: end of the malformed frames"), messages()::toString);
      return null;
    });
    String peerAddress = Cluster.get(peer).selfMember().address().toString();
    List<String> about = messages().stream().filter(m -> m.contains("Failed to deserialize")).toList();
    assertEquals(1, about.size(), () -> "one line for " + rounds * CorruptingSerializer.Kind.values().length
        + " malformed frames: " + about);
    assertTrue(about.get(0).contains("[" + peerAddress + "]"), about.get(0));
    assertTrue(about.get(0).contains("logged once per interval"), about.get(0));

    // After: both members still allocate, find and free through the server's nodes.
    Allocation fromPeer = peerClient.alloc(AllocOptions.size(8192).home(2).tag("after")).toCompletableFuture().get();
    Allocation fromServer = serverClient.alloc(AllocOptions.size(8192).home(3).tag("after")).toCompletableFuture().get();
    assertEquals(java.util.Optional.of(fromPeer.area()), serverClient.find(fromPeer.start()).toCompletableFuture().get());
    assertEquals(before.area(), peerClient.free(before.start()).toCompletableFuture().get());
    assertEquals(java.util.Optional.empty(), peerClient.find(before.start()).toCompletableFuture().get());
    assertTrue(fromServer.area().tag().equals("after"));
  }

  private static List<String> messages() {
    synchronized (deserializerLog.list) {
      return deserializerLog.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
  }

  private static int freePort() throws IOException {
    return io.vmap.torture.FreePorts.next();
  }
}
