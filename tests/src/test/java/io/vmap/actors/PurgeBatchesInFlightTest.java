package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.WAIT;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import com.typesafe.config.ConfigFactory;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code vmap.purge.batches-in-flight} caps the release batches outstanding over all nodes: with 1,
 * the second node gets its batch only once the first node answered (the nodes are probes, as in
 * {@link PurgeReleaseOrderTest}; nothing is resent within the test).
 */
class PurgeBatchesInFlightTest {

  static final Geometry G = geometry(0x100000, 16, 2);

  static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create(ConfigFactory.parseString("vmap.purge.batches-in-flight = 1")
        .withFallback(ConfigFactory.load()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void withOneBatchInFlightTheSecondNodeWaitsForTheFirstNodesAnswer() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    ActorRef<PurgeProtocol.Command> coord =
        testKit.spawn(PurgeCoordinator.create(G, dir, 1_000_000, 16, Duration.ofHours(1)));
    n0.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(0, 0, List.of(), 0));
    n1.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(1, 0, List.of(), 0));

    TestProbe<PurgeProtocol.PurgeDone> done = testKit.createTestProbe(PurgeProtocol.PurgeDone.class);
    coord.tell(new PurgeProtocol.PurgeSync(1, done.ref()));
    LazyArea a0 = new LazyArea(new Area(0x100000, 0x102000, ""), 0, List.of(new Part(0, 0x100000, 0x102000)));
    LazyArea a1 = new LazyArea(new Area(0x110000, 0x111000, ""), 1, List.of(new Part(1, 0x110000, 0x111000)));
    VmapTestSupport.next(n0, PurgeProtocol.SpliceLazy.class).replyTo().tell(new PurgeProtocol.Spliced(1, 0, List.of(a0)));
    VmapTestSupport.next(n1, PurgeProtocol.SpliceLazy.class).replyTo().tell(new PurgeProtocol.Spliced(1, 1, List.of(a1)));

    // One slot: the first node in turn gets it; the other gets nothing until that batch is answered.
    PurgeProtocol.ReleasePieces r0 = VmapTestSupport.next(n0, PurgeProtocol.ReleasePieces.class);
    nothingBefore(n1, new NodeMessage.Wake());
    r0.replyTo().tell(new PurgeProtocol.Released(1, 0, 1, 0x2000, r0.batch()));
    PurgeProtocol.ReleasePieces r1 = VmapTestSupport.next(n1, PurgeProtocol.ReleasePieces.class);
    nothingBefore(n0, new NodeMessage.Wake());
    r1.replyTo().tell(new PurgeProtocol.Released(1, 1, 1, 0x1000, r1.batch()));
    assertEquals(2, done.expectMessageClass(PurgeProtocol.PurgeDone.class, WAIT).released());
  }
}
