package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.WAIT;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.embedWithCoordinatorSpy;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import akka.actor.testkit.typed.javadsl.FishingOutcomes;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapClient;
import io.vmap.protocol.LazyTally;
import io.vmap.protocol.LazyTally.Added;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The lazy count without a message per free (LazyTally, the kernel's {@code vmap_lazy_nr}): the
 * coordinator opens the tally only while it needs no node-by-node order of frees, a node's pages are
 * counted once (in the tally or in a message), and the threshold purge still starts at the free that
 * takes the count over the threshold.
 */
class LazyTallyTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 2);
  static final long THRESHOLD = 10;

  @Test
  void aClosedTallyRefusesAndAnOpenOneCountsUntilItIsClosed() {
    LazyTally t = new LazyTally();
    assertEquals(Added.CLOSED, t.add(3), "closed until the coordinator opens it");
    t.open(5);
    assertEquals(0, t.pending(), "pages refused while closed went as messages");
    assertEquals(Added.COUNTED, t.add(2));
    assertEquals(Added.COUNTED, t.add(3));
    assertEquals(Added.OVER, t.add(1), "6 pending > headroom 5");
    t.open(100);
    assertEquals(6, t.pending(), "opening an open tally only moves the headroom");
    assertEquals(Added.COUNTED, t.add(1));
    assertEquals(7, t.close());
    assertEquals(Added.CLOSED, t.add(4));
    assertEquals(0, t.pending());
    assertEquals(0, t.close(), "nothing counted twice");
    assertThrows(IllegalArgumentException.class, () -> t.add(0));
  }

  @Test
  void theIdleCoordinatorCountsTheTallyAndStartsAnEpochWhenItGoesOverTheThreshold() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    LazyTally tally = new LazyTally();
    ActorRef<PurgeProtocol.Command> coord =
        testKit.spawn(PurgeCoordinator.create(G, dir, THRESHOLD, 16, Duration.ofHours(1), tally));
    // Recovering: a node's pages come as messages, in order with its report.
    n0.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(0, 0, List.of(), 0));
    assertEquals(Added.CLOSED, tally.add(1));
    coord.tell(new PurgeProtocol.LazyFreed(0, 1));
    n1.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(1, 0, List.of(), 2));
    PurgeProtocol.Status idle = status(coord);
    assertEquals("idle", idle.phase());
    assertEquals(3, idle.lazyPages(), "the report's 2 and the message's 1");

    // Idle: the tally is open with 10 - 3 = 7 pages of headroom; the status counts it.
    assertEquals(Added.COUNTED, tally.add(4));
    assertEquals(Added.COUNTED, tally.add(3));
    PurgeProtocol.Status ten = status(coord);
    assertEquals(10, ten.lazyPages());
    assertEquals("idle", ten.phase(), "10 is not over the threshold");
    assertEquals(Added.OVER, tally.add(1));
    nothingBefore(n0, new NodeMessage.Wake());
    coord.tell(new PurgeProtocol.LazyFreed(0, 0)); // what a node sends for OVER
    PurgeProtocol.SpliceLazy s0 = n0.expectMessageClass(PurgeProtocol.SpliceLazy.class, WAIT);
    PurgeProtocol.SpliceLazy s1 = n1.expectMessageClass(PurgeProtocol.SpliceLazy.class, WAIT);
    assertEquals(1, s0.epoch());

    // Splicing: closed, so frees are told apart before and after each node's splice.
    assertEquals(Added.CLOSED, tally.add(2));
    coord.tell(new PurgeProtocol.LazyFreed(0, 2));
    PurgeProtocol.Status splicing = status(coord);
    assertEquals("splicing", splicing.phase());
    assertEquals(13, splicing.lazyPages(), "3 by message, 8 taken out of the tally, 2 by message");

    // An epoch with nothing to release ends at once, counting only frees after the splices (node
    // 0's 2 pages came before its answer): 0, and the tally is open again with 10 pages of headroom.
    s0.replyTo().tell(new PurgeProtocol.Spliced(1, 0, List.of()));
    s1.replyTo().tell(new PurgeProtocol.Spliced(1, 1, List.of()));
    PurgeProtocol.Status after = status(coord);
    assertEquals("idle", after.phase());
    assertEquals(0, after.lazyPages());
    assertEquals(Added.COUNTED, tally.add(9));
    assertEquals(9, status(coord).lazyPages());
    // A message from a node elsewhere that takes the sum over the threshold starts the epoch itself.
    coord.tell(new PurgeProtocol.LazyFreed(1, 2));
    PurgeProtocol.SpliceLazy again = n0.expectMessageClass(PurgeProtocol.SpliceLazy.class, WAIT);
    assertEquals(2, again.epoch());
    assertEquals(11, status(coord).lazyPages());
    again.replyTo().tell(new PurgeProtocol.Spliced(2, 0, List.of()));
    n1.expectMessageClass(PurgeProtocol.SpliceLazy.class, WAIT).replyTo().tell(new PurgeProtocol.Spliced(2, 1, List.of()));
    assertEquals("idle", status(coord).phase());
    assertEquals(Added.COUNTED, tally.add(1));

    // A stopped coordinator closes it: this JVM's nodes go back to messages.
    testKit.stop(coord);
    assertEquals(Added.CLOSED, tally.add(1));
  }

  @Test
  void theAllocatorPurgesAtTheFreeThatGoesOverTheThresholdWithoutAMessagePerFree() {
    TestProbe<PurgeProtocol.Command> spy = testKit.createTestProbe(PurgeProtocol.Command.class);
    vmap = embedWithCoordinatorSpy(testKit, G, THRESHOLD, spy);
    VmapClient c = vmap.client();
    await(c.awaitPurgeIdle()); // past recovering, where nodes send their pages as messages
    List<Allocation> areas = new ArrayList<>();
    for (int i = 0; i < 11; i++) areas.add(await(c.alloc(AllocOptions.size(0x1000).home(0))));
    for (int i = 0; i < 10; i++) await(c.free(areas.get(i).start()));
    PurgeProtocol.Status s = await(c.purgeStatus());
    assertEquals(10, s.lazyPages(), s::toString);
    assertEquals(0, s.epochsRun(), "10 pages are not over the threshold of 10");
    // What the coordinator handled up to that status question: no LazyFreed for the ten frees
    // (each node tells it before it answers the free).
    List<PurgeProtocol.Command> seen = spy.fishForMessage(WAIT, "the status question",
        m -> m instanceof PurgeProtocol.GetStatus ? FishingOutcomes.complete() : FishingOutcomes.continueAndCollect());
    assertEquals(List.of(), lazyFreed(seen));

    await(c.free(areas.get(10).start()));
    await(c.awaitPurgeIdle());
    PurgeProtocol.Status purged = await(c.purgeStatus());
    assertEquals(1, purged.epochsRun(), purged::toString);
    assertEquals(11, purged.areasReleased(), purged::toString);
    assertEquals(0, purged.lazyPages(), purged::toString);
  }

  private static List<PurgeProtocol.LazyFreed> lazyFreed(List<PurgeProtocol.Command> seen) {
    List<PurgeProtocol.LazyFreed> out = new ArrayList<>();
    for (PurgeProtocol.Command m : seen) if (m instanceof PurgeProtocol.LazyFreed l) out.add(l);
    return out;
  }

  private PurgeProtocol.Status status(ActorRef<PurgeProtocol.Command> coord) {
    TestProbe<PurgeProtocol.Status> st = testKit.createTestProbe(PurgeProtocol.Status.class);
    coord.tell(new PurgeProtocol.GetStatus(st.ref()));
    return st.expectMessageClass(PurgeProtocol.Status.class, WAIT);
  }
}
