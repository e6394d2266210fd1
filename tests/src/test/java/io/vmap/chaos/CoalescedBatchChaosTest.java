package io.vmap.chaos;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.BehaviorInterceptor;
import akka.actor.typed.Props;
import akka.actor.typed.TypedActorContext;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.ClientProtocol.Reply;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.state.RequestKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Coalesced batches under the chaos interceptor (issue 9, DESIGN.md "Batches", "Sessions and
 * dedup"): several client sessions ({@link VmapClient}s, no caller-chosen ids: every request is
 * keyed (session, seq)) allocate many areas at once ({@code allocAll}), look each up and free them
 * all ({@code freeAll}), from several threads each, so that requests queue behind a session's batch
 * in flight and travel many to a message. Both directions of the batch traffic are under fire:
 * every {@link ClientProtocol.Batch} reaching a node and every {@link Replies} reaching a session
 * may be dropped, duplicated, delayed or held back behind the next message (reordered). Clients
 * retry with the same keys after a timeout. (The allocator's own client answers its finds from the
 * nodes' read indexes; the other sessions have none, so their finds travel in the batches too.)
 *
 * <p>Every call must complete with its first answer: every copy of an allocation's or a free's
 * answer that reached a session (first answers, answers to duplicates and to retries) is the same;
 * every allocation gets an area, every find of a caller's own live area finds it, every free frees
 * it. Afterwards, with faults paused and everything purged, nothing may be left allocated (a
 * duplicate that was executed twice would leave a second area nobody knows of) and all space must
 * be free again; the history checker must find no violation.
 *
 * <p>The replies are tapped: a node wrapper replaces each batch's reply-to with a tap actor per
 * session channel, behind its own chaos interceptor, that records every answer and forwards it.
 * The nodes' dedup window is set larger than any session's whole run here: the interceptor delays
 * duplicates by up to its max-delay, and a duplicate that arrives after its session's window at the
 * node has moved on is, by design (DESIGN.md), handled as a new request.
 */
class CoalescedBatchChaosTest {

  static {
    ChaosTestSupport.tuneCommonPool();
  }

  private static final int SESSIONS = 3;
  private static final int THREADS_PER_SESSION = 2;
  private static final int ROUNDS = 12;
  private static final int MAX_PER_CALL = 40;

  /** Every answer that reached a session, per request key of an allocation or a free. */
  private final Map<RequestKey, List<Reply>> answers = new ConcurrentHashMap<>();
  /** Keys of allocation and free requests (finds are reads: a late duplicate may see a later state). */
  private final Set<RequestKey> effectKeys = ConcurrentHashMap.newKeySet();
  private final Map<ActorRef<Replies>, ActorRef<Replies>> taps = new ConcurrentHashMap<>();
  private final Set<ActorRef<Replies>> tapRefs = ConcurrentHashMap.newKeySet();
  private final AtomicInteger tapNames = new AtomicInteger();
  private final LongAdder batchesSeen = new LongAdder();
  private final LongAdder coalesced = new LongAdder();

  /** Records each answer to an allocation or a free, then hands the message on. */
  private Behavior<Replies> tapBehavior(ActorRef<Replies> to) {
    return Behaviors.receive(Replies.class)
        .onMessage(Replies.class, r -> {
          for (Reply x : r.replies()) {
            if (effectKeys.contains(x.key())) answers.computeIfAbsent(x.key(), k -> new CopyOnWriteArrayList<>()).add(x);
          }
          to.tell(r);
          return Behaviors.same();
        })
        .build();
  }

  /**
   * In front of a node (inside its chaos interceptor): notes the requests of each batch and sends
   * its answers through the tap of its session channel.
   */
  private final class TapReplies extends BehaviorInterceptor<NodeMessage, NodeMessage> {
    private final Chaos chaos;

    TapReplies(Chaos chaos) {
      super(NodeMessage.class);
      this.chaos = chaos;
    }

    @Override
    public Behavior<NodeMessage> aroundReceive(TypedActorContext<NodeMessage> ctx, NodeMessage msg,
        ReceiveTarget<NodeMessage> target) {
      if (msg instanceof ClientProtocol.Batch b && !tapRefs.contains(b.replyTo())) {
        batchesSeen.increment();
        if (b.requests().size() > 1) coalesced.increment();
        for (ClientProtocol.Request r : b.requests()) {
          if (!(r instanceof ClientProtocol.FindRequest)) effectKeys.add(r.key());
        }
        ActorRef<Replies> tap = taps.computeIfAbsent(b.replyTo(), to -> {
          String name = "reply-tap-" + tapNames.incrementAndGet();
          ActorRef<Replies> ref = ctx.asJava().getSystem().systemActorOf(chaos.intercept(name, tapBehavior(to)), name, Props.empty());
          tapRefs.add(ref);
          return ref;
        });
        return target.apply(ctx, new ClientProtocol.Batch(b.batch(), b.requests(), tap));
      }
      return target.apply(ctx, msg);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {91, 92})
  void everyCallGetsItsFirstAnswerAndNothingIsAllocatedTwiceOrLost(long seed) throws Exception {
    Config c = ChaosTestSupport.config(4,
        // Short timeouts so lost messages cost little; enough retries that no call runs out of them.
        "vmap.client { ask-timeout = 250ms, retries = 40 }\n"
            // Larger than any session's run (see the class comment); a power of two.
            + "vmap.node.dedup-window = 65536\n");
    VmapSettings settings = VmapSettings.from(c);
    History h = new History(settings.geometry());
    Chaos chaos = Chaos.create(ChaosSettings.seeded(seed)
        .messages(ClientProtocol.Batch.class.getName(), Replies.class.getName())
        .drop(0.03).duplicate(0.05).delay(0.05).reorder(0.05)
        .maxDelay(Duration.ofMillis(20)));
    Vmap.Wrapping nodesUnderChaos = chaos.wrapping(h, false);
    Vmap.Wrapping wrapping = new Vmap.Wrapping() {
      @Override
      public Behavior<NodeMessage> node(int k, Behavior<NodeMessage> node) {
        return nodesUnderChaos.node(k, Behaviors.intercept(() -> new TapReplies(chaos), node));
      }

      @Override
      public Behavior<PurgeProtocol.Command> coordinator(Behavior<PurgeProtocol.Command> coordinator) {
        return nodesUnderChaos.coordinator(coordinator);
      }
    };
    try (Vmap vmap = Vmap.start(c, wrapping)) {
      List<VmapClient> sessions = new ArrayList<>();
      sessions.add(vmap.client());
      for (int s = 1; s < SESSIONS; s++) {
        sessions.add(new VmapClient(vmap.system(), settings.geometry(), vmap.nodes(), vmap.client().coordinator(),
            settings.clientTimeout(), vmap.client().retries(), null));
      }
      List<String> problems = new CopyOnWriteArrayList<>();
      List<Thread> threads = new ArrayList<>();
      for (int s = 0; s < SESSIONS; s++) {
        for (int t = 0; t < THREADS_PER_SESSION; t++) {
          VmapClient client = sessions.get(s);
          String name = "s" + s + "t" + t;
          SplittableRandom rnd = new SplittableRandom(seed * 1000 + s * 10 + t);
          threads.add(new Thread(() -> {
            try {
              for (int round = 0; round < ROUNDS; round++) round(client, h, rnd, name + "-" + round, problems);
            } catch (Throwable e) {
              problems.add(name + " crashed: " + e);
            }
          }, "chaos-" + name));
        }
      }
      for (Thread t : threads) t.start();
      for (Thread t : threads) t.join(TimeUnit.MINUTES.toMillis(5));

      // Faults off; everything freed was purged; nothing may be left, all space free again.
      chaos.pause();
      VmapClient client = vmap.client();
      VmapInfo end = null;
      for (int i = 0; i < 20; i++) {
        client.purge().toCompletableFuture().get(30, TimeUnit.SECONDS);
        client.awaitPurgeIdle().toCompletableFuture().get(30, TimeUnit.SECONDS);
        end = client.info().toCompletableFuture().get(30, TimeUnit.SECONDS);
        if (end.lazy().isEmpty()) break;
      }
      List<Checker.Violation> v = new ArrayList<>(Checker.check(h));
      v.addAll(Checker.leaks(h, end));
      v.addAll(Checker.fsck(end));

      // Every copy of an answer that reached a session must be the first one.
      List<String> differing = new ArrayList<>();
      long repeated = 0;
      for (Map.Entry<RequestKey, List<Reply>> e : answers.entrySet()) {
        List<Reply> got = e.getValue();
        if (got.stream().anyMatch(r -> !r.equals(got.get(0)))) differing.add(e.getKey() + ": " + got);
        if (got.size() > 1) repeated++;
      }
      // All three, so that a failure shows everything that went wrong.
      assertAll(
          () -> assertEquals(List.of(), problems.subList(0, Math.min(10, problems.size())),
              problems.size() + " calls did not get the answer their caller expects"),
          () -> assertEquals(List.of(), v.subList(0, Math.min(20, v.size())), v.size() + " violations"),
          () -> assertEquals(List.of(), differing.subList(0, Math.min(10, differing.size())),
              differing.size() + " requests answered differently"));

      // The run was really under fire, in both directions, and requests really were coalesced.
      Chaos.Counts f = chaos.counts();
      long retries = sessions.stream().mapToLong(VmapClient::retriesSent).sum();
      String stats = f + " " + f.byClass().keySet() + "; " + batchesSeen.sum() + " batches, " + coalesced.sum()
          + " with more than one request; " + answers.size() + " allocations and frees, " + repeated
          + " answered more than once; " + retries + " retries; " + Checker.summarize(h).invoked();
      assertTrue(f.dropped() > 0 && f.duplicated() > 0 && f.delayed() > 0 && f.reordered() > 0, stats);
      assertTrue(f.byClass().containsKey("ClientProtocol$Batch") && f.byClass().containsKey("ClientProtocol$Replies"), stats);
      assertTrue(retries > 0 && repeated > 0, stats);
      assertTrue(coalesced.sum() > 0, stats);
      System.out.println("CoalescedBatchChaosTest seed " + seed + ": " + stats);
      for (int s = 1; s < SESSIONS; s++) sessions.get(s).close();
    }
  }

  /**
   * One round of one thread: many allocations in one call, a find of each, then all freed in one
   * call; each call recorded in the history, and checked against what the caller knows.
   */
  private static void round(VmapClient client, History h, SplittableRandom rnd, String name, List<String> problems) {
    int n = 1 + rnd.nextInt(MAX_PER_CALL);
    List<AllocOptions> asks = new ArrayList<>(n);
    List<History.Op> ops = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      long size = (1 + rnd.nextInt(4)) * 4096L;
      String tag = name + "-" + i;
      asks.add(AllocOptions.size(size).tag(tag));
      ops.add(h.alloc(null, new History.AllocRequest(size, 0, null, null, tag)));
    }
    List<VmapClient.Result<Allocation>> got = client.allocAll(asks).toCompletableFuture().join();
    List<Area> areas = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      VmapClient.Result<Allocation> r = got.get(i);
      if (r.ok()) {
        ops.get(i).ok(r.value().area());
        areas.add(r.value().area());
      } else {
        ops.get(i).failed(r.error());
        problems.add(name + ": allocation " + i + " failed: " + r.error());
      }
    }
    List<CompletableFuture<Optional<Area>>> finds = new ArrayList<>(areas.size());
    List<History.Op> findOps = new ArrayList<>(areas.size());
    for (Area a : areas) {
      long addr = a.start() + rnd.nextLong(a.size());
      findOps.add(h.find(addr));
      finds.add(client.find(addr).toCompletableFuture());
    }
    for (int i = 0; i < areas.size(); i++) {
      Area a = areas.get(i);
      History.Op op = findOps.get(i);
      Optional<Area> found = finds.get(i).handle((x, t) -> {
        if (t == null) op.ok(x.orElse(null));
        else op.failed(t);
        return t == null ? x : null;
      }).join();
      if (found == null || !found.equals(Optional.of(a))) problems.add(name + ": find in " + a + " answered " + found);
    }
    List<Long> starts = new ArrayList<>(areas.size());
    List<History.Op> freeOps = new ArrayList<>(areas.size());
    for (Area a : areas) {
      starts.add(a.start());
      freeOps.add(h.free(null, a.start(), a));
    }
    List<VmapClient.Result<Area>> freed = client.freeAll(starts).toCompletableFuture().join();
    for (int i = 0; i < areas.size(); i++) {
      VmapClient.Result<Area> r = freed.get(i);
      if (r.ok()) {
        freeOps.get(i).ok(r.value());
        if (!r.value().equals(areas.get(i))) problems.add(name + ": free of " + areas.get(i) + " answered " + r.value());
      } else {
        freeOps.get(i).failed(r.error());
        problems.add(name + ": free of " + areas.get(i) + " failed: " + r.error());
      }
    }
  }
}
