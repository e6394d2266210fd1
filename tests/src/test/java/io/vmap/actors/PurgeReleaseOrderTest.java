package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.WAIT;
import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.ReleasePiece;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A purge releases the parts other nodes hold of a spanning area before the start owner's piece.
 * The start owner forgets the area with its own piece, and a successor coordinator re-drives only
 * what start owners still list; so in the other order, a coordinator dying between the two leaves
 * the other parts held for good (found by {@code vmap torture kill} on PostgreSQL: a kill -9 of the
 * member hosting the coordinator and a part owner; README "Torture tests").
 *
 * <p>The nodes are probes: the test plays them, as in {@link PurgeResendTest} (real clock, nothing
 * resent within the test: the resend interval is an hour).
 */
class PurgeReleaseOrderTest {

  static final Geometry G = geometry(0x100000, 16, 2);
  static final Duration NO_RESEND = Duration.ofHours(1);

  static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create();
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void thePartsOthersHoldAreReleasedBeforeTheStartOwnersPiece() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    ActorRef<PurgeProtocol.Command> coord = coordinator(n0, n1);

    // Node 0 spliced one area spanning its zone at 0x100000 and node 1's at 0x110000, and one of
    // its own only; node 1 had nothing lazy.
    Area spanning = new Area(0x10c000, 0x114000, "span");
    Area own = new Area(0x100000, 0x101000, "own");
    LazyArea span = new LazyArea(spanning, 0, List.of(new Part(0, 0x10c000, 0x110000), new Part(1, 0x110000, 0x114000)));
    LazyArea alone = new LazyArea(own, 0, List.of(new Part(0, 0x100000, 0x101000)));
    TestProbe<PurgeProtocol.PurgeDone> done = testKit.createTestProbe(PurgeProtocol.PurgeDone.class);
    coord.tell(new PurgeProtocol.PurgeSync(1, done.ref()));
    VmapTestSupport.next(n0, PurgeProtocol.SpliceLazy.class).replyTo()
        .tell(new PurgeProtocol.Spliced(1, 0, List.of(span, alone)));
    VmapTestSupport.next(n1, PurgeProtocol.SpliceLazy.class).replyTo().tell(new PurgeProtocol.Spliced(1, 1, List.of()));

    // No subscriber: straight to the release. Node 0's own-only area goes at once, node 1's part of
    // the spanning area too; the spanning area's start piece waits for node 1's answer.
    PurgeProtocol.ReleasePieces own0 = VmapTestSupport.next(n0, PurgeProtocol.ReleasePieces.class);
    assertEquals(List.of(new ReleasePiece(0x100000, 0x100000, 0x101000)), own0.pieces());
    PurgeProtocol.ReleasePieces first = VmapTestSupport.next(n1, PurgeProtocol.ReleasePieces.class);
    assertEquals(List.of(new ReleasePiece(0x10c000, 0x110000, 0x114000)), first.pieces());
    assertEquals(List.of(spanning), first.areas());
    own0.replyTo().tell(new PurgeProtocol.Released(1, 0, 1, 0x1000, own0.batch()));
    nothingBefore(n0, new NodeMessage.Wake());

    // Only once node 1 has released its part does node 0 get the start piece (and forget the area).
    first.replyTo().tell(new PurgeProtocol.Released(1, 1, 0, ZONE / 4, first.batch()));
    PurgeProtocol.ReleasePieces second = VmapTestSupport.next(n0, PurgeProtocol.ReleasePieces.class);
    assertEquals(List.of(new ReleasePiece(0x10c000, 0x10c000, 0x110000)), second.pieces());
    second.replyTo().tell(new PurgeProtocol.Released(1, 0, 1, ZONE / 4, second.batch()));
    PurgeProtocol.PurgeDone pd = done.expectMessageClass(PurgeProtocol.PurgeDone.class, WAIT);
    assertEquals(1, pd.epoch());
    assertEquals(2, pd.released());
  }

  @Test
  void anEpochWithNoSpanningAreaReleasesAtOnce() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    ActorRef<PurgeProtocol.Command> coord = coordinator(n0, n1);
    TestProbe<PurgeProtocol.PurgeDone> done = testKit.createTestProbe(PurgeProtocol.PurgeDone.class);
    coord.tell(new PurgeProtocol.PurgeSync(1, done.ref()));
    LazyArea a0 = new LazyArea(new Area(0x100000, 0x102000, ""), 0, List.of(new Part(0, 0x100000, 0x102000)));
    LazyArea a1 = new LazyArea(new Area(0x110000, 0x111000, ""), 1, List.of(new Part(1, 0x110000, 0x111000)));
    VmapTestSupport.next(n0, PurgeProtocol.SpliceLazy.class).replyTo().tell(new PurgeProtocol.Spliced(1, 0, List.of(a0)));
    VmapTestSupport.next(n1, PurgeProtocol.SpliceLazy.class).replyTo().tell(new PurgeProtocol.Spliced(1, 1, List.of(a1)));
    // Both nodes get their batch without waiting for each other.
    PurgeProtocol.ReleasePieces r0 = VmapTestSupport.next(n0, PurgeProtocol.ReleasePieces.class);
    PurgeProtocol.ReleasePieces r1 = VmapTestSupport.next(n1, PurgeProtocol.ReleasePieces.class);
    r0.replyTo().tell(new PurgeProtocol.Released(1, 0, 1, 0x2000, r0.batch()));
    r1.replyTo().tell(new PurgeProtocol.Released(1, 1, 1, 0x1000, r1.batch()));
    assertEquals(2, done.expectMessageClass(PurgeProtocol.PurgeDone.class, WAIT).released());
  }

  /** A coordinator over two probe nodes, past its recovery (nothing was left unreleased). */
  private static ActorRef<PurgeProtocol.Command> coordinator(TestProbe<NodeMessage> n0, TestProbe<NodeMessage> n1) {
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    ActorRef<PurgeProtocol.Command> coord = testKit.spawn(PurgeCoordinator.create(G, dir, 1_000_000, 16, NO_RESEND));
    n0.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(0, 0, List.of(), 0));
    n1.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(1, 0, List.of(), 0));
    return coord;
  }
}
