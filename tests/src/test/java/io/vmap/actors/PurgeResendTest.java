package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.WAIT;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The purge coordinator resends what a phase still waits for, and counts each node's answer once.
 *
 * <p>On {@link AllocatorTestBase#manualTime}: the coordinator counts resend ticks of the scheduler
 * and a request is due again at the second tick after it was sent, so nothing is resent until the
 * test moves the clock by twice {@link #RESEND_AFTER}, and then it is.
 */
class PurgeResendTest extends AllocatorTestBase {

  static final Geometry G = geometry(0x100000, 16, 2);
  static final Duration RESEND_AFTER = Duration.ofMillis(100);

  @Test
  void anUnansweredSpliceIsSentAgainAndARepeatedAnswerCountsOnce() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    ActorRef<PurgeProtocol.Command> coord =
        testKit.spawn(PurgeCoordinator.create(G, dir, 1_000_000, 16, RESEND_AFTER));
    n0.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(0, 0, List.of(), 0));
    n1.expectMessageClass(PurgeProtocol.ReportUnreleased.class, WAIT).replyTo()
        .tell(new PurgeProtocol.Unreleased(1, 0, List.of(), 0));

    TestProbe<PurgeProtocol.PurgeDone> done = testKit.createTestProbe(PurgeProtocol.PurgeDone.class);
    coord.tell(new PurgeProtocol.PurgeSync(7, done.ref()));
    // Nobody answers at first (lost answers): node 0's splice comes again, same epoch, same coordinator.
    PurgeProtocol.SpliceLazy s0 = n0.expectMessageClass(PurgeProtocol.SpliceLazy.class, WAIT);
    assertEquals(1, s0.epoch());
    // One tick is not enough: a request is due at the second tick after it was sent.
    manualTime.timePasses(RESEND_AFTER);
    nothingBefore(n0, new NodeMessage.Wake());
    manualTime.timePasses(RESEND_AFTER);
    PurgeProtocol.SpliceLazy again = n0.expectMessageClass(PurgeProtocol.SpliceLazy.class, WAIT);
    assertEquals(1, again.epoch());
    assertEquals(s0.replyTo(), again.replyTo());

    // Node 0 answers both copies: counted once, the epoch still waits for node 1.
    s0.replyTo().tell(new PurgeProtocol.Spliced(1, 0, List.of()));
    again.replyTo().tell(new PurgeProtocol.Spliced(1, 0, List.of()));
    TestProbe<PurgeProtocol.Status> st = testKit.createTestProbe(PurgeProtocol.Status.class);
    coord.tell(new PurgeProtocol.GetStatus(st.ref()));
    assertEquals("splicing", st.expectMessageClass(PurgeProtocol.Status.class, WAIT).phase());
    nothingBefore(done, new PurgeProtocol.PurgeDone(-1, -1, -1));

    // Node 1's answer ends the epoch (its splice was resent too: fish past the copies) (nothing was lazy anywhere) and answers the purge.
    VmapTestSupport.next(n1, PurgeProtocol.SpliceLazy.class).replyTo().tell(new PurgeProtocol.Spliced(1, 1, List.of()));
    PurgeProtocol.PurgeDone pd = done.expectMessageClass(PurgeProtocol.PurgeDone.class, WAIT);
    assertEquals(1, pd.epoch());
    assertEquals(7, pd.tag());
    coord.tell(new PurgeProtocol.GetStatus(st.ref()));
    PurgeProtocol.Status s = st.expectMessageClass(PurgeProtocol.Status.class, WAIT);
    assertEquals("idle", s.phase());
    assertEquals(1, s.epochsRun());
  }
}
