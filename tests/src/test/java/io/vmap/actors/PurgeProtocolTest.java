package io.vmap.actors;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import static io.vmap.actors.VmapTestSupport.ZONE;
import static io.vmap.actors.VmapTestSupport.await;
import static io.vmap.actors.VmapTestSupport.embed;
import static io.vmap.actors.VmapTestSupport.failure;
import static io.vmap.actors.VmapTestSupport.geometry;
import static io.vmap.actors.VmapTestSupport.info;
import static io.vmap.actors.VmapTestSupport.next;
import static io.vmap.actors.VmapTestSupport.nothingBefore;
import static io.vmap.actors.VmapTestSupport.stats;
import static io.vmap.actors.VmapTestSupport.watch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.vmap.actors.VmapTestSupport.Directory;
import io.vmap.actors.VmapTestSupport.Outcome;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.FlushSubscriber;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.node.VmapNode;
import io.vmap.state.ErrorCode;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.ReleasePiece;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.protocol.PurgeProtocol.Flush;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md "Free, lazy purge and flush": threshold, flush before reuse, quarantine by a subscriber
 * that has not acked, splice semantics, synchronous purges waiting, allocations waiting for a purge,
 * subscribers leaving, bounded release batches.
 *
 * <p>Geometry: 2 nodes, 16 zones of 64 KiB (16 pages) from B = 0x100000; node 0 owns zones
 * B + 2i*Z, node 1 owns B + (2i+1)*Z.
 *
 * <p>"Nothing happens" is never a wait: the coordinator's status says which epoch and phase it is
 * in (a flush or a purge's answer exists only from a phase on, and a phase ends only on a message),
 * and a probe that must have got nothing gets a marker as its very next message.
 */
class PurgeProtocolTest extends AllocatorTestBase {

  static final long B = 0x100000;
  static final Geometry G = geometry(B, 16, 2);
  static final long NO_THRESHOLD = 1_000_000;

  private VmapClient start(long lazyMaxPages) {
    vmap = embed(testKit, G, lazyMaxPages);
    return vmap.client();
  }

  private TestProbe<Flush> subscribe(VmapClient c) {
    TestProbe<Flush> s = testKit.createTestProbe(Flush.class);
    assertEquals(s.ref(), await(c.subscribeFlush(s.ref())));
    return s;
  }

  private static void ack(Flush f, TestProbe<Flush> s) {
    f.ackTo().tell(f.ack(s.ref()));
  }

  private static Allocation alloc(VmapClient c, long size, int home) {
    return await(c.alloc(AllocOptions.size(size).home(home)));
  }

  /** Every zone busy with one zone-sized area, except the zones listed; returns the areas by zone. */
  private static Allocation[] fillZones(VmapClient c, int... keepFree) {
    Allocation[] byZone = new Allocation[16];
    for (int z = 0; z < 16; z++) {
      boolean keep = false;
      for (int k : keepFree) keep |= k == z;
      if (keep) continue;
      // The exact zone, so the layout does not depend on the walk.
      long lo = B + z * ZONE;
      byZone[z] = await(c.alloc(AllocOptions.size(ZONE).home(z % 2).range(lo, lo + ZONE)));
      assertEquals(lo, byZone[z].start());
    }
    return byZone;
  }

  private static PurgeProtocol.Status status(VmapClient c) {
    return await(c.purgeStatus());
  }

  /** The coordinator is in {@code phase} of {@code epoch} (so a purge waiting for that epoch is not answered). */
  private static void assertPhase(VmapClient c, long epoch, String phase) {
    PurgeProtocol.Status s = status(c);
    assertEquals(epoch, s.epoch(), s::toString);
    assertEquals(phase, s.phase(), s::toString);
  }

  /** A flush no coordinator sends (epoch -1): the marker for a subscriber probe. */
  private Flush marker() {
    return new Flush(-1, List.of(), testKit.<PurgeProtocol.FlushAck>createTestProbe().ref());
  }

  private static List<Area> lazyAreas(VmapInfo info) {
    List<Area> out = new ArrayList<>();
    for (VmapInfo.AreaInfo a : info.lazy()) out.add(a.area());
    return out;
  }

  // ------------------------------------------------------------------ (a) threshold

  @Test
  void freesOfExactlyTheThresholdDoNotPurgeAndOneMorePageDoes() {
    VmapClient c = start(8);
    TestProbe<Flush> sub = subscribe(c);
    Allocation a0 = alloc(c, 0x2000, 0); // B
    Allocation a1 = alloc(c, 0x2000, 0); // B + 8K
    Allocation b0 = alloc(c, 0x2000, 1); // B + Z
    Allocation b1 = alloc(c, 0x2000, 1); // B + Z + 8K
    Allocation one = alloc(c, 0x1000, 0); // B + 16K
    assertEquals(B + 0x4000, one.start());
    assertEquals(B + ZONE + 0x2000, b1.start());

    // 4 areas of 2 pages = 8 pages = the threshold, freed out of address order.
    for (Allocation a : new Allocation[] {b1, a0, b0, a1}) await(c.free(a.start()));
    PurgeProtocol.Status s = status(c);
    assertEquals(0, s.epoch());
    assertEquals(0, s.epochsRun());
    assertEquals(8, s.lazyPages());
    assertEquals("idle", s.phase());
    // No epoch started, so no flush was sent: the first one below is epoch 1's, with all five.
    VmapInfo info = info(vmap);
    assertEquals(List.of(a0.area(), a1.area(), b0.area(), b1.area()), lazyAreas(info));
    // Lazy space is not free: only the 1-page area and the 4 lazy ones are missing.
    assertEquals(G.spaceBytes() - 0x1000 - 4 * 0x2000, info.freeBytes(), info::render);

    // One more page: 9 > 8, one purge of everything (ranges in no particular order).
    await(c.free(one.start()));
    Flush f = sub.expectMessageClass(Flush.class);
    assertEquals(1, f.epoch());
    assertEquals(List.of(a0.area(), a1.area(), one.area(), b0.area(), b1.area()), inAddressOrder(f.ranges()));
    ack(f, sub);
    // Idle after epoch 1, nothing lazy: no other epoch ran, and none starts without a new free.
    sub.awaitAssert(
        () -> {
          PurgeProtocol.Status st = status(c);
          assertEquals("idle", st.phase());
          assertEquals(1, st.epoch());
          assertEquals(1, st.epochsRun());
          assertEquals(5, st.areasReleased());
          assertEquals(0, st.lazyPages());
          return null;
        });
    nothingBefore(sub, marker());
    VmapInfo after = info(vmap);
    assertTrue(after.lazy().isEmpty(), after::render);
    assertEquals(G.spaceBytes(), after.freeBytes(), after::render);
  }

  // ------------------------------------------------------------------ (b) quarantine

  @Test
  void aSubscriberThatHasNotAckedBlocksReuseOfExactlyThatSpace() {
    VmapClient c = start(NO_THRESHOLD);
    TestProbe<Flush> sub = subscribe(c);
    Allocation[] zones = fillZones(c, 15); // zone 15 (node 1) stays free
    Area x = zones[4].area(); // node 0
    await(c.free(x.start()));
    TestProbe<Outcome> purge = watch(testKit, c.purge());

    Flush f = sub.expectMessageClass(Flush.class);
    assertEquals(1, f.epoch());
    assertEquals(List.of(x), f.ranges());

    // Not acked yet: the space of x is quarantined.
    assertEquals(ErrorCode.EAGAIN, failure(c.alloc(AllocOptions.size(ZONE).home(0).failFast())));
    assertEquals(ErrorCode.EAGAIN, failure(c.alloc(AllocOptions.size(0x1000).home(0).failFast())));
    assertEquals(
        ErrorCode.EAGAIN,
        failure(c.alloc(AllocOptions.size(0x1000).home(0).range(x.start(), x.end()).failFast())));
    PurgeProtocol.Status s = status(c);
    assertEquals("flushing", s.phase());
    assertEquals(1, s.epoch());
    assertEquals(1, s.holders().size());
    assertEquals(sub.ref().path().toString(), s.holders().get(0).subscriber());
    assertEquals(1, s.holders().get(0).epoch());
    assertEquals(G.pagesOf(ZONE), s.lazyPages());
    VmapInfo info = info(vmap);
    assertEquals(List.of(new VmapInfo.AreaInfo(x, 0)), info.lazy(), info::render);
    assertEquals(1, stats(info, 0).lazy());
    assertEquals(0, stats(info, 0).freeBytes());
    // Other free space is still handed out.
    Allocation other = alloc(c, ZONE, 1);
    assertEquals(B + 15 * ZONE, other.start());
    // Still flushing epoch 1, so its purge has not been answered.
    assertPhase(c, 1, "flushing");
    nothingBefore(purge, new Outcome("marker", null));

    ack(f, sub);
    Outcome done = purge.expectMessageClass(Outcome.class);
    assertNull(done.failure());
    assertEquals(1, done.value());
    // Now the same address is handed out again.
    Allocation again = await(c.alloc(AllocOptions.size(ZONE).home(0).failFast()));
    assertEquals(x.start(), again.start());
    assertEquals(0, again.node());
    assertTrue(status(c).holders().isEmpty());
  }

  // ------------------------------------------------------------------ (c) splice, sync purge waits

  @Test
  void aSynchronousPurgeWaitsForTheRunningOneAndLaterFreesBelongToTheNextEpoch() {
    VmapClient c = start(NO_THRESHOLD);
    TestProbe<Flush> sub = subscribe(c);
    Allocation a = alloc(c, 0x1000, 0); // B
    Allocation b = alloc(c, 0x1000, 1); // B + Z
    await(c.free(a.start()));
    TestProbe<Outcome> first = watch(testKit, c.purge());
    Flush f1 = sub.expectMessageClass(Flush.class);
    assertEquals(1, f1.epoch());
    assertEquals(List.of(a.area()), f1.ranges());

    TestProbe<Outcome> second = watch(testKit, c.purge());
    // Freed during epoch 1, after its splice.
    await(c.free(b.start()));
    PurgeProtocol.Status during = status(c);
    assertEquals(2, during.lazyPages());
    // Epoch 1 still waits for its ack: neither purge is answered.
    assertEquals(1, during.epoch());
    assertEquals("flushing", during.phase());
    nothingBefore(first, new Outcome("marker", null));
    nothingBefore(second, new Outcome("marker", null));

    ack(f1, sub);
    Outcome o1 = first.expectMessageClass(Outcome.class);
    assertNull(o1.failure());
    assertEquals(1, o1.value(), "epoch 1 released a only");
    Flush f2 = sub.expectMessageClass(Flush.class);
    assertEquals(2, f2.epoch());
    assertEquals(List.of(b.area()), f2.ranges());
    // The second purge waits for epoch 2, which waits for its ack.
    assertPhase(c, 2, "flushing");
    nothingBefore(second, new Outcome("marker", null));
    // a is reusable, b is not, until epoch 2 is acked.
    VmapInfo mid = info(vmap);
    assertEquals(List.of(b.area()), lazyAreas(mid), mid::render);
    assertEquals(a.start(), await(c.alloc(AllocOptions.size(0x1000).home(0).failFast())).start());
    assertEquals(
        ErrorCode.EAGAIN,
        failure(c.alloc(AllocOptions.size(0x1000).home(1).range(b.start(), b.area().end()).failFast())));

    ack(f2, sub);
    Outcome o2 = second.expectMessageClass(Outcome.class);
    assertNull(o2.failure());
    assertEquals(1, o2.value(), "epoch 2 released b");
    assertEquals(b.start(), await(c.alloc(AllocOptions.size(0x1000).home(1).failFast())).start());
    PurgeProtocol.Status s = status(c);
    assertEquals(2, s.epochsRun());
    assertEquals(2, s.areasReleased());
    assertEquals(0, s.lazyPages());
    assertEquals("idle", s.phase());
    nothingBefore(sub, marker());
  }

  @Test
  void aThresholdCrossedDuringARunningPurgeStartsNothingUntilItEnds() {
    VmapClient c = start(4);
    TestProbe<Flush> sub = subscribe(c);
    Allocation a = alloc(c, 0x5000, 0); // 5 pages > 4: a purge at once
    List<Allocation> later = new ArrayList<>();
    for (int i = 0; i < 3; i++) later.add(alloc(c, 0x2000, 1));
    await(c.free(a.start()));
    Flush f1 = sub.expectMessageClass(Flush.class);
    assertEquals(List.of(a.area()), f1.ranges());
    // 6 more pages while epoch 1 waits for its ack: over the threshold again, but nothing starts.
    for (Allocation l : later) await(c.free(l.start()));
    PurgeProtocol.Status s = status(c);
    assertEquals(1, s.epoch());
    assertEquals("flushing", s.phase());
    assertEquals(11, s.lazyPages());
    ack(f1, sub);
    // Epoch 1 ends with 6 pages left over the threshold of 4: epoch 2 takes them.
    Flush f2 = sub.expectMessageClass(Flush.class);
    assertEquals(2, f2.epoch());
    assertEquals(inAddressOrder(later.stream().map(Allocation::area).toList()), inAddressOrder(f2.ranges()));
    ack(f2, sub);
    sub.awaitAssert(
        () -> {
          PurgeProtocol.Status st = status(c);
          assertEquals("idle", st.phase());
          assertEquals(2, st.epoch());
          assertEquals(2, st.epochsRun());
          assertEquals(0, st.lazyPages());
          return null;
        });
    nothingBefore(sub, marker());
  }

  // ------------------------------------------------------------------ (d) alloc waits for a purge

  @Test
  void anOverflowingAllocationWaitsForTheRunningPurgeThenSucceeds() {
    TestProbe<PurgeProtocol.Command> spy = testKit.createTestProbe(PurgeProtocol.Command.class);
    vmap = VmapTestSupport.embedWithCoordinatorSpy(testKit, G, NO_THRESHOLD, spy);
    VmapClient c = vmap.client();
    TestProbe<Flush> sub = subscribe(c);
    Allocation[] zones = fillZones(c);
    Area x = zones[6].area(); // node 0
    await(c.free(x.start()));
    TestProbe<Outcome> purge = watch(testKit, c.purge());
    next(spy, PurgeProtocol.PurgeSync.class); // the client's
    Flush f = sub.expectMessageClass(Flush.class);
    assertEquals(List.of(x), f.ranges());

    // Homed on node 1: walks, finds no spanning fit, then asks for a purge and waits for it.
    CompletableFuture<Allocation> alloc = c.alloc(AllocOptions.size(ZONE).home(1)).toCompletableFuture();
    TestProbe<Outcome> waiting = watch(testKit, alloc);
    PurgeProtocol.PurgeSync asked = next(spy, PurgeProtocol.PurgeSync.class);
    assertTrue(asked.replyTo().path().toString().contains("-node-1/"), asked::toString);
    // Epoch 1 still waits for its ack, so neither the purge nor the allocation is answered.
    assertPhase(c, 1, "flushing");
    assertFalse(alloc.isDone(), () -> "answered before the flush was acked: " + alloc);
    nothingBefore(waiting, new Outcome("marker", null));
    ack(f, sub);
    Outcome got = waiting.expectMessageClass(Outcome.class);
    assertNull(got.failure(), () -> "alloc failed: " + got.failure());
    Allocation a = (Allocation) got.value();
    assertEquals(x, new Area(a.start(), a.area().end(), ""));
    assertEquals(0, a.node());
    assertEquals(1, purge.expectMessageClass(Outcome.class).value());
  }

  @Test
  void anOverflowingAllocationStartsAPurgeWhenNoneRuns() {
    VmapClient c = start(NO_THRESHOLD);
    TestProbe<Flush> sub = subscribe(c);
    Allocation[] zones = fillZones(c);
    Area x = zones[9].area(); // node 1
    await(c.free(x.start()));
    assertEquals(0, status(c).epoch());

    CompletableFuture<Allocation> alloc = c.alloc(AllocOptions.size(0x3000).home(0)).toCompletableFuture();
    TestProbe<Outcome> waiting = watch(testKit, alloc);
    // Nothing else asks for a purge here: this epoch is the allocation's, and it waits for it.
    Flush f = sub.expectMessageClass(Flush.class);
    assertEquals(1, f.epoch());
    assertEquals(List.of(x), f.ranges());
    assertPhase(c, 1, "flushing");
    assertFalse(alloc.isDone(), () -> "answered before the flush was acked: " + alloc);
    nothingBefore(waiting, new Outcome("marker", null));
    ack(f, sub);
    Outcome got = waiting.expectMessageClass(Outcome.class);
    assertNull(got.failure(), () -> "alloc failed: " + got.failure());
    Allocation a = (Allocation) got.value();
    assertEquals(x.start(), a.start());
    assertEquals(x.start() + 0x3000, a.area().end());
    assertEquals(1, a.node());
  }

  @Test
  void failFastNeverWaitsForOrStartsAPurge() {
    VmapClient c = start(NO_THRESHOLD);
    TestProbe<Flush> sub = subscribe(c);
    Allocation[] zones = fillZones(c);
    await(c.free(zones[2].start()));
    assertEquals(ErrorCode.EAGAIN, failure(c.alloc(AllocOptions.size(0x1000).home(0).failFast())));
    // No epoch: a purge asked for by the fail-fast allocation would have started one.
    assertPhase(c, 0, "idle");
    nothingBefore(sub, marker());
  }

  // ------------------------------------------------------------------ (e) holders leaving

  private record Held(VmapClient c, Area x, TestProbe<Outcome> purge) {}

  /** One area freed, a purge started, the flush delivered to every subscriber given. */
  private Held purgeHeldBy(VmapClient c, List<TestProbe<Flush>> subs) {
    Allocation a = alloc(c, 0x5000, 1);
    await(c.free(a.start()));
    TestProbe<Outcome> purge = watch(testKit, c.purge());
    for (TestProbe<Flush> s : subs) assertEquals(List.of(a.area()), s.expectMessageClass(Flush.class).ranges());
    return new Held(c, a.area(), purge);
  }

  @Test
  void aHolderThatStopsReleasesItsEpoch() {
    VmapClient c = start(NO_THRESHOLD);
    TestProbe<Flush> acker = subscribe(c);
    TestProbe<Flush> holder = subscribe(c);
    Allocation a = alloc(c, 0x5000, 1);
    await(c.free(a.start()));
    TestProbe<Outcome> purge = watch(testKit, c.purge());
    Flush fa = acker.expectMessageClass(Flush.class);
    assertEquals(List.of(a.area()), holder.expectMessageClass(Flush.class).ranges());
    ack(fa, acker);
    acker.awaitAssert(
        () -> {
          PurgeProtocol.Status s = status(c);
          assertEquals(1, s.holders().size());
          assertEquals(holder.ref().path().toString(), s.holders().get(0).subscriber());
          assertEquals("flushing", s.phase());
          return null;
        });
    nothingBefore(purge, new Outcome("marker", null));

    holder.stop();
    assertEquals(1, purge.expectMessageClass(Outcome.class).value());
    PurgeProtocol.Status s = status(c);
    assertEquals(1, s.subscribers());
    assertTrue(s.holders().isEmpty());
    assertEquals(a.start(), await(c.alloc(AllocOptions.size(0x5000).home(1).failFast())).start());
  }

  @Test
  void aHolderThatUnsubscribesReleasesItsEpoch() {
    VmapClient c = start(NO_THRESHOLD);
    TestProbe<Flush> holder = subscribe(c);
    Held h = purgeHeldBy(c, List.of(holder));
    assertPhase(c, 1, "flushing");
    nothingBefore(h.purge(), new Outcome("marker", null));
    c.unsubscribeFlush(holder.ref());
    assertEquals(1, h.purge().expectMessageClass(Outcome.class).value());
    assertEquals(0, status(c).subscribers());
    // An unsubscribed actor gets no further flushes.
    Allocation b = alloc(c, 0x1000, 0);
    await(c.free(b.start()));
    // Epoch 2 could not have ended if it had waited for the holder; and it sent the holder nothing.
    assertEquals(1, await(c.purge()));
    nothingBefore(holder, marker());
  }

  @Test
  void aListenerSubscriberThatNeverCompletesHoldsUntilItsActorIsStopped() {
    VmapClient c = start(NO_THRESHOLD);
    TestProbe<Flush> seen = testKit.createTestProbe(Flush.class);
    CompletableFuture<Void> never = new CompletableFuture<>();
    ActorRef<Flush> listener =
        testKit.spawn(
            FlushSubscriber.create(
                f -> {
                  seen.ref().tell(f);
                  return never;
                }));
    await(c.subscribeFlush(listener));
    // A second, well-behaved listener acks when its stage completes.
    TestProbe<Flush> seenOk = testKit.createTestProbe(Flush.class);
    await(
        c.subscribeFlush(
            (FlushSubscriber.FlushListener)
                f -> {
                  seenOk.ref().tell(f);
                  return CompletableFuture.<Void>completedFuture(null);
                }));

    Held h = purgeHeldBy(c, List.of(seen, seenOk));
    seen.awaitAssert(
        () -> {
          PurgeProtocol.Status s = status(c);
          assertEquals(1, s.holders().size());
          assertEquals(listener.path().toString(), s.holders().get(0).subscriber());
          assertEquals("flushing", s.phase());
          return null;
        });
    nothingBefore(h.purge(), new Outcome("marker", null));
    testKit.stop(listener);
    assertEquals(1, h.purge().expectMessageClass(Outcome.class).value());
    assertEquals(1, status(c).subscribers());
  }

  // ------------------------------------------------------------------ (f) bounded release batches

  @Test
  void releaseHappensInBoundedBatchesAndLazyPagesDropAsTheyAreReleased() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    ActorRef<PurgeProtocol.Command> coord =
        testKit.spawn(PurgeCoordinator.create(G, dir, NO_THRESHOLD, 2));
    TestProbe<PurgeProtocol.Status> st = testKit.createTestProbe(PurgeProtocol.Status.class);
    // A new coordinator first asks every node what an interrupted epoch left: nothing here.
    n0.expectMessageClass(PurgeProtocol.ReportUnreleased.class).replyTo()
        .tell(new PurgeProtocol.Unreleased(0, 0, List.of(), 0));
    n1.expectMessageClass(PurgeProtocol.ReportUnreleased.class).replyTo()
        .tell(new PurgeProtocol.Unreleased(1, 0, List.of(), 0));

    // 7 lazy areas on node 0 of 1..7 pages, at B + i*Z*2 (each in its own node-0 zone).
    List<LazyArea> lazy = new ArrayList<>();
    long totalPages = 0;
    for (int i = 0; i < 7; i++) {
      long start = B + 2L * i * ZONE;
      long size = (i + 1) * 0x1000L;
      Area area = new Area(start, start + size, "");
      lazy.add(new LazyArea(area, 0, List.of(new Part(0, start, start + size))));
      coord.tell(new PurgeProtocol.LazyFreed(0, i + 1));
      totalPages += i + 1;
    }
    TestProbe<PurgeProtocol.PurgeDone> done = testKit.createTestProbe(PurgeProtocol.PurgeDone.class);
    coord.tell(new PurgeProtocol.PurgeSync(done.ref()));

    PurgeProtocol.SpliceLazy s0 = n0.expectMessageClass(PurgeProtocol.SpliceLazy.class);
    PurgeProtocol.SpliceLazy s1 = n1.expectMessageClass(PurgeProtocol.SpliceLazy.class);
    assertEquals(1, s0.epoch());
    assertEquals(1, s1.epoch());
    s1.replyTo().tell(new PurgeProtocol.Spliced(1, 1, List.of()));
    s0.replyTo().tell(new PurgeProtocol.Spliced(1, 0, lazy));

    // No subscribers: straight to release, at most 2 pieces per message, one outstanding.
    List<ReleasePiece> released = new ArrayList<>();
    long pagesLeft = totalPages;
    int batches = 0;
    while (released.size() < 7) {
      PurgeProtocol.ReleasePieces r = n0.expectMessageClass(PurgeProtocol.ReleasePieces.class);
      batches++;
      assertEquals(1, r.epoch());
      assertTrue(r.pieces().size() >= 1 && r.pieces().size() <= 2, () -> "batch of " + r.pieces().size());
      coord.tell(new PurgeProtocol.GetStatus(st.ref()));
      PurgeProtocol.Status before = st.expectMessageClass(PurgeProtocol.Status.class);
      assertEquals("releasing", before.phase());
      assertEquals(pagesLeft, before.lazyPages(), "not dropped before the batch is released");
      // Anything the coordinator sent before that answer is queued by now: the next batch waits
      // for this one's answer, and the purge is not answered while releasing.
      nothingBefore(n0, new NodeMessage.Wake());
      nothingBefore(done, new PurgeProtocol.PurgeDone(-1, -1, -1));

      long bytes = 0;
      int areas = 0;
      for (ReleasePiece p : r.pieces()) {
        bytes += p.end() - p.start();
        if (p.start() == p.areaStart()) areas++;
      }
      released.addAll(r.pieces());
      r.replyTo().tell(new PurgeProtocol.Released(1, 0, areas, bytes));
      pagesLeft -= G.pagesOf(bytes);
      coord.tell(new PurgeProtocol.GetStatus(st.ref()));
      assertEquals(pagesLeft, st.expectMessageClass(PurgeProtocol.Status.class).lazyPages());
    }
    assertEquals(4, batches);
    for (int i = 0; i < 7; i++) {
      Area a = lazy.get(i).area();
      assertEquals(new ReleasePiece(a.start(), a.start(), a.end()), released.get(i));
    }
    PurgeProtocol.PurgeDone pd = done.expectMessageClass(PurgeProtocol.PurgeDone.class);
    assertEquals(1, pd.epoch());
    assertEquals(7, pd.released());
    nothingBefore(n1, new NodeMessage.Wake()); // node 1 had nothing to release
    coord.tell(new PurgeProtocol.GetStatus(st.ref()));
    PurgeProtocol.Status end = st.expectMessageClass(PurgeProtocol.Status.class);
    assertEquals("idle", end.phase());
    assertEquals(0, end.lazyPages());
    assertEquals(7, end.areasReleased());
  }

  @Test
  void aNewCoordinatorFlushesWhatAnInterruptedEpochLeftBeforeReleasingIt() {
    TestProbe<NodeMessage> n0 = testKit.createTestProbe(NodeMessage.class);
    TestProbe<NodeMessage> n1 = testKit.createTestProbe(NodeMessage.class);
    Directory dir = new Directory(2).set(0, n0.ref()).set(1, n1.ref());
    ActorRef<PurgeProtocol.Command> coord =
        testKit.spawn(PurgeCoordinator.create(G, dir, NO_THRESHOLD, 16));
    TestProbe<Flush> sub = testKit.createTestProbe(Flush.class);
    TestProbe<PurgeProtocol.Subscribed> subscribed = testKit.createTestProbe(PurgeProtocol.Subscribed.class);
    coord.tell(new PurgeProtocol.Subscribe(sub.ref(), subscribed.ref()));
    subscribed.expectMessageClass(PurgeProtocol.Subscribed.class);

    // Node 0 still holds an area spliced by epoch 5 of a predecessor, plus 3 lazy pages not spliced.
    Area x = new Area(B + 0x4000, B + 0x6000, "");
    LazyArea lx = new LazyArea(x, 0, List.of(new Part(0, x.start(), x.end())));
    n0.expectMessageClass(PurgeProtocol.ReportUnreleased.class).replyTo()
        .tell(new PurgeProtocol.Unreleased(0, 5, List.of(lx), 2 + 3));
    n1.expectMessageClass(PurgeProtocol.ReportUnreleased.class).replyTo()
        .tell(new PurgeProtocol.Unreleased(1, 3, List.of(), 0));

    // Flushed again (flush is idempotent) under a newer epoch, and not released before the ack.
    Flush f = sub.expectMessageClass(Flush.class);
    assertEquals(6, f.epoch());
    assertEquals(List.of(x), f.ranges());
    TestProbe<PurgeProtocol.Status> st = testKit.createTestProbe(PurgeProtocol.Status.class);
    coord.tell(new PurgeProtocol.GetStatus(st.ref()));
    PurgeProtocol.Status s = st.expectMessageClass(PurgeProtocol.Status.class);
    assertEquals("flushing", s.phase());
    assertEquals(5, s.lazyPages());
    nothingBefore(n0, new NodeMessage.Wake()); // no release before the ack
    f.ackTo().tell(f.ack(sub.ref()));
    PurgeProtocol.ReleasePieces r = n0.expectMessageClass(PurgeProtocol.ReleasePieces.class);
    assertEquals(6, r.epoch());
    assertEquals(List.of(new ReleasePiece(x.start(), x.start(), x.end())), r.pieces());
    r.replyTo().tell(new PurgeProtocol.Released(6, 0, 1, x.size()));
    coord.tell(new PurgeProtocol.GetStatus(st.ref()));
    PurgeProtocol.Status end = st.expectMessageClass(PurgeProtocol.Status.class);
    assertEquals("idle", end.phase());
    assertEquals(3, end.lazyPages());
    assertEquals(1, end.areasReleased());
    nothingBefore(n1, new NodeMessage.Wake());
  }

  @Test
  void releaseBatchSettingReachesTheEmbeddedCoordinator() {
    // The same bound through VmapSettings.withReleaseBatch: 7 areas, batch 2, all released.
    vmap = Vmap.embed(testKit.system(), VmapTestSupport.settings(G, NO_THRESHOLD).withReleaseBatch(2));
    VmapClient c = vmap.client();
    assertEquals(2, vmap.settings().releaseBatch());
    List<Allocation> as = new ArrayList<>();
    for (int i = 0; i < 7; i++) as.add(alloc(c, 0x1000, 0));
    for (Allocation a : as) await(c.free(a.start()));
    assertEquals(7, await(c.purge()));
    VmapInfo info = info(vmap);
    assertTrue(info.lazy().isEmpty());
    assertEquals(G.spaceBytes(), info.freeBytes());
    assertEquals(0, status(c).lazyPages());
  }

  private static List<Area> inAddressOrder(List<Area> ranges) {
    return ranges.stream().sorted(java.util.Comparator.comparing(Area::start, Long::compareUnsigned)).toList();
  }
}
