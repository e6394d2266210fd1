package io.vmap.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.Behavior;
import akka.actor.typed.BehaviorInterceptor;
import akka.actor.typed.TypedActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.NodeMessage;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DESIGN.md "Reads without the mailbox": a {@code find} answered from a node's published read index
 * reflects every allocation and free answered before it started, and never returns an area whose
 * free had been answered before then. Here finder threads call {@link VmapClient#find} (the nodes
 * run in this JVM, so the index answers without a message) on areas that mutator threads allocate
 * and free one by one, while a purger thread runs purges (and the low threshold starts more), so
 * freed space is released and handed to new areas at the same addresses all the time.
 *
 * <p>Order comes from one {@link AtomicLong} "clock" {@link #T}, never from wall clocks: a mutator
 * sets an area's {@code freed} flag and then takes a tick once its free has completed (the stage
 * was joined); a finder reads the flag of the area it aims at before it takes its start tick, and
 * the {@code freeing} flag (set before the free is sent) after its end tick. Volatile accesses are
 * totally ordered, so:
 *
 * <ul>
 *   <li>freed read as true before the find: the free had completed before the find started, and
 *       the find must not return that area (exact, checked at once);
 *   <li>freeing read as false after the find: the free was not sent until after the find ended,
 *       so the area (allocated before it was published to the finders) was live throughout, and
 *       the find must return exactly it;
 *   <li>a find that returns some other area (space reused by a newer area, or an older one) is
 *       checked at the end, when every tick is visible: that area's free must not have completed
 *       (tick) before the find's start tick.
 * </ul>
 *
 * Run on volatile nodes (the index is the node's own busy tree, read with a seqlock) and on durable
 * nodes (persistence test kit; the index is the journal's replica of the stored state).
 */
class ReadIndexRaceTest {

  static {
    String key = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(key) == null) System.setProperty(key, "4");
  }

  private static final long PAGE = 4096;
  private static final long ZONE = 0x10000;
  /**
   * Two nodes, 64 zones of 64 KiB (1024 pages), areas of 1-4 pages: an area spans zones only if
   * both nodes are nearly full, which lazily freed space waiting for a slow purge can still bring
   * about on a loaded machine. A spanning area's pieces make the index answer "ask the node" for
   * misses there, which the mailbox then answers (correctly, but not what this test is about).
   */
  private static final Geometry G = new Geometry(0x100000, 0x100000 + 64 * ZONE, PAGE, ZONE, 2);

  private static final int MUTATORS = 2;
  private static final int FINDERS = 2;
  private static final int ROUNDS = 150;
  private static final int PER_ROUND = 16;
  private static final int PINNED = 8;

  /** The order of events across threads (see the class comment). */
  private static final AtomicLong T = new AtomicLong();

  /** One allocated area and what happened to it, as seen by the threads of the test. */
  static final class Rec {
    final Area area;
    volatile boolean freeing;
    volatile boolean freed;
    /** The tick taken after the free completed; 0 while not freed. */
    volatile long freeDone;

    Rec(Area area) {
      this.area = area;
    }
  }

  /** A find that returned an area other than the one it aimed at, checked at the end. */
  record Other(long startTick, long addr, Area found) {}

  private ActorTestKit kit;
  private Vmap vmap;

  /**
   * The stage's value, waiting at most a minute: a bound for a loaded machine (the durable nodes
   * wait for the journal), not a pass/fail criterion on speed.
   */
  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(1, TimeUnit.MINUTES);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new AssertionError("stage failed", e.getCause());
    } catch (java.util.concurrent.TimeoutException | InterruptedException e) {
      throw new AssertionError("no answer within a minute", e);
    }
  }

  @AfterEach
  void stop() {
    if (vmap != null) vmap.close();
    if (kit != null) kit.shutdownTestKit();
  }

  /** Counts the finds that reach a node's mailbox (the index said it could not tell). */
  static final class MailboxFinds extends BehaviorInterceptor<NodeMessage, NodeMessage> {
    static final LongAdder COUNT = new LongAdder();

    MailboxFinds() {
      super(NodeMessage.class);
    }

    @Override
    public Behavior<NodeMessage> aroundReceive(TypedActorContext<NodeMessage> ctx, NodeMessage msg,
        ReceiveTarget<NodeMessage> target) {
      if (msg instanceof ClientProtocol.Batch b) {
        for (ClientProtocol.Request r : b.requests()) if (r instanceof ClientProtocol.FindRequest) COUNT.increment();
      }
      return target.apply(ctx, msg);
    }
  }

  private void start(boolean durable) {
    Config c = ConfigFactory.parseString("akka.actor.serialize-messages = off");
    if (durable) {
      c = c.withFallback(ConfigFactory.parseString(
              "akka.persistence.testkit.events.serialize = off\nakka.persistence.testkit.snapshots.serialize = off"))
          .withFallback(PersistenceTestKitPlugin.getInstance().config())
          .withFallback(PersistenceTestKitSnapshotPlugin.config());
    }
    kit = ActorTestKit.create("read-index-race", c.withFallback(ActorTestKit.applicationTestConfig()));
    // A low threshold (16 lazy pages) and small release batches: purges all the time, released in
    // several steps each, so frees, splices, releases and reuse interleave with the finds.
    VmapSettings s = VmapSettings.defaults().withGeometry(G, 16L).withReleaseBatch(4);
    if (durable) s = s.durable("read-index-race-" + System.nanoTime() + "-");
    MailboxFinds.COUNT.reset();
    vmap = Vmap.embed(kit.system(), s, new Vmap.Wrapping() {
      @Override
      public Behavior<NodeMessage> node(int k, Behavior<NodeMessage> node) {
        return Behaviors.intercept(MailboxFinds::new, node);
      }
    });
  }

  @ParameterizedTest(name = "durable {0}")
  @ValueSource(booleans = {false, true})
  void aFindNeverReturnsAnAreaFreedBeforeItStartedAndAlwaysFindsALiveOne(boolean durable) throws Exception {
    start(durable);
    VmapClient client = vmap.client();
    Map<Area, Rec> recs = new ConcurrentHashMap<>();
    ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Other> others = new ConcurrentLinkedQueue<>();
    LongAdder finds = new LongAdder();
    LongAdder racing = new LongAdder();
    LongAdder afterFree = new LongAdder();
    LongAdder purges = new LongAdder();

    // Areas that stay live all along: every find inside them must return them.
    AtomicReferenceArray<Rec> targets = new AtomicReferenceArray<>(PINNED + MUTATORS * PER_ROUND);
    for (int i = 0; i < PINNED; i++) {
      Area a = await(client.alloc(AllocOptions.size((1 + i % 4) * PAGE).tag("pinned-" + i).home(i % 2)))
          .area();
      Rec r = new Rec(a);
      recs.put(a, r);
      targets.set(i, r);
    }

    AtomicBoolean done = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    List<Throwable> crashed = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Thread> mutators = new ArrayList<>();
    for (int m = 0; m < MUTATORS; m++) {
      int me = m;
      mutators.add(new Thread(() -> {
        SplittableRandom rnd = new SplittableRandom(100 + me);
        for (int round = 0; round < ROUNDS; round++) {
          List<AllocOptions> batch = new ArrayList<>();
          for (int i = 0; i < PER_ROUND; i++) {
            batch.add(AllocOptions.size((1 + rnd.nextInt(4)) * PAGE).tag("m" + me + "-" + round + "-" + i));
          }
          List<VmapClient.Result<Allocation>> got = await(client.allocAll(batch));
          List<Rec> mine = new ArrayList<>();
          for (VmapClient.Result<Allocation> g : got) {
            if (!g.ok()) throw new AssertionError("allocation failed: " + g.error());
            Rec r = new Rec(g.value().area());
            recs.put(r.area, r);
            mine.add(r);
          }
          // Published only now: allocated (answered) before any finder aims at them.
          for (int i = 0; i < mine.size(); i++) targets.set(PINNED + me * PER_ROUND + i, mine.get(i));
          for (int i = mine.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            Rec x = mine.get(i);
            mine.set(i, mine.get(j));
            mine.set(j, x);
          }
          for (Rec r : mine) {
            r.freeing = true;
            Area freed = await(client.free(r.area.start()));
            if (!freed.equals(r.area)) throw new AssertionError("free of " + r.area + " answered " + freed);
            r.freed = true;
            r.freeDone = T.incrementAndGet();
          }
        }
      }, "mutator-" + m));
    }
    threads.addAll(mutators);
    for (int f = 0; f < FINDERS; f++) {
      int me = f;
      threads.add(new Thread(() -> {
        SplittableRandom rnd = new SplittableRandom(200 + me);
        while (!done.get()) {
          Rec target = targets.get(rnd.nextInt(targets.length()));
          if (target == null) continue;
          long addr = target.area.start() + rnd.nextLong(target.area.size());
          boolean freedBefore = target.freed;
          long s = T.incrementAndGet();
          Optional<Area> found = client.find(addr).toCompletableFuture().join();
          T.incrementAndGet();
          boolean freeingAfter = target.freeing;
          finds.increment();
          Area r = found.orElse(null);
          if (r != null && !r.contains(addr)) {
            violations.add("find " + Unsigned.hex(addr) + " returned " + r + ", which does not contain it");
          }
          if (freedBefore) {
            afterFree.increment();
            if (target.area.equals(r)) {
              violations.add("find " + Unsigned.hex(addr) + " returned " + r + ", whose free had completed before it started");
            }
          } else if (freeingAfter) {
            racing.increment();
          } else if (!target.area.equals(r)) {
            violations.add("find " + Unsigned.hex(addr) + " inside live " + target.area + " returned " + r);
          }
          if (r != null && !r.equals(target.area)) others.add(new Other(s, addr, r));
        }
      }, "finder-" + f));
    }
    Thread purger = new Thread(() -> {
      while (!done.get()) {
        await(client.purge());
        purges.increment();
      }
    }, "purger");
    threads.add(purger);
    for (Thread t : threads) {
      t.setUncaughtExceptionHandler((th, e) -> crashed.add(e));
      t.start();
    }
    for (Thread t : mutators) t.join(TimeUnit.MINUTES.toMillis(5));
    done.set(true);
    for (Thread t : threads) t.join(TimeUnit.MINUTES.toMillis(1));
    assertEquals(List.of(), crashed);

    // Finds that returned another area than the one aimed at: now every tick is visible.
    for (Other o : others) {
      Rec r = recs.get(o.found());
      if (r == null) {
        violations.add("find " + Unsigned.hex(o.addr()) + " returned " + o.found() + ", which no client was answered");
      } else if (r.freeDone != 0 && r.freeDone < o.startTick()) {
        violations.add("find " + Unsigned.hex(o.addr()) + " returned " + o.found() + ", whose free had completed before it started");
      }
    }
    List<String> v = new ArrayList<>(violations);
    assertEquals(List.of(), v.subList(0, Math.min(10, v.size())), v.size() + " violations in " + finds.sum() + " finds");

    // The race really was run: finds overlapped frees, aimed at areas freed already, purges
    // released space that new areas got, and the index (not the mailbox) answered.
    long reused = recs.keySet().stream().map(Area::start).distinct().count();
    long spanning = recs.keySet().stream().filter(a -> G.zoneOf(a.start()) != G.zoneOf(a.end() - 1)).count();
    String stats = finds.sum() + " finds, " + racing.sum() + " racing a free, " + afterFree.sum() + " after a free, "
        + others.size() + " found another area; " + purges.sum() + " purges; " + recs.size() + " areas at " + reused
        + " addresses (" + spanning + " spanning zones); " + MailboxFinds.COUNT.sum() + " finds through a mailbox";
    assertTrue(racing.sum() > 0 && afterFree.sum() > 0, stats);
    assertTrue(purges.sum() > 0 && reused < recs.size(), stats);
    // The index asks the node only while a node holds a piece of a spanning area (ReadIndex.UNSURE):
    // without one, no find reaches a mailbox. On a loaded machine, lazily freed space waiting for a
    // purge can fill both nodes until areas span zones (see G), and misses near their pieces go to
    // the node: 691 of 66,331 finds (1.0%) once, in a verify that shared the machine.
    if (spanning == 0) {
      assertEquals(0, MailboxFinds.COUNT.sum(), "finds through a mailbox with no spanning area: " + stats);
    } else {
      assertTrue(MailboxFinds.COUNT.sum() * 10 < finds.sum(), "the index answered nine finds in ten: " + stats);
    }
    System.out.println("ReadIndexRaceTest (durable " + durable + "): " + stats);
  }
}
