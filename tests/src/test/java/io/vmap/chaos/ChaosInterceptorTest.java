package io.vmap.chaos;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.ClientProtocol;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.NoSerializationVerificationNeeded;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.ManualTime;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.ConfigFactory;
import io.vmap.node.VmapNode;
import io.vmap.purge.PurgeCoordinator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chaos interceptor on a plain actor that forwards what it receives to a probe. Delays, the
 * copies of duplicates and held messages come from the interceptor's timers: on Akka's ManualTime
 * they are released only when a test moves the clock, so what each test sees does not depend on
 * the machine's speed. "Nothing else arrived" is a marker message sent last and received next.
 */
class ChaosInterceptorTest {

  static {
    ChaosTestSupport.tuneCommonPool();
  }

  /** The test's messages: local (never serialized), targeted by name. */
  record Msg(int n) implements NoSerializationVerificationNeeded {}

  record Other(int n) implements NoSerializationVerificationNeeded {}

  private static ActorTestKit kit;
  private static ManualTime time;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create(ManualTime.config().withFallback(ActorTestKit.applicationTestConfig()));
    time = ManualTime.get(kit.system());
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static final Duration SHORT = Duration.ofMillis(200);
  /** The max delay of {@link #targetingMsg}; every timer the interceptor sets fires within it. */
  private static final Duration MAX_DELAY = Duration.ofMillis(5);

  /** Forwards every message to {@code probe}, and "stopped" when stopped. */
  private static Behavior<Object> forwarder(TestProbe<Object> probe) {
    return Behaviors.receive(Object.class)
        .onAnyMessage(m -> {
          probe.getRef().tell(m);
          return Behaviors.same();
        })
        .onSignal(PostStop.class, s -> {
          probe.getRef().tell("stopped");
          return Behaviors.same();
        })
        .build();
  }

  private static ChaosSettings targetingMsg(long seed) {
    return ChaosSettings.seeded(seed).messages(Msg.class.getName()).maxDelay(MAX_DELAY);
  }

  private static ActorRef<Object> spawn(Chaos chaos, String name, TestProbe<Object> probe) {
    return kit.spawn(chaos.intercept(name, forwarder(probe)));
  }

  /**
   * Asserts that nothing reaches {@code p} before a marker {@code Other(n)} sent to {@code a} now
   * (it is never targeted): every message and every timer released so far was delivered already.
   */
  private static void nothingElse(ActorRef<Object> a, TestProbe<Object> p, int n) {
    a.tell(new Other(n));
    assertEquals(new Other(n), p.receiveMessage());
  }

  @Test
  void dropsEveryTargetedMessageAndNothingElse() {
    Chaos chaos = Chaos.create(targetingMsg(1).drop(1));
    TestProbe<Object> p = kit.createTestProbe();
    ActorRef<Object> a = spawn(chaos, "dropper", p);
    for (int i = 0; i < 5; i++) a.tell(new Msg(i));
    a.tell(new Other(1));
    assertEquals(new Other(1), p.receiveMessage());
    // Nor later: no timer holds one of them.
    time.timePasses(MAX_DELAY.plusMillis(1));
    nothingElse(a, p, 2);
    assertEquals(5, chaos.counts().dropped());
    assertEquals(5, chaos.counts().byClass().get("ChaosInterceptorTest$Msg")[0]);
    // Signals pass untouched.
    kit.stop(a);
    assertEquals("stopped", p.receiveMessage());
  }

  @Test
  void duplicatesDeliverEachMessageTwice() {
    Chaos chaos = Chaos.create(targetingMsg(2).duplicate(1));
    TestProbe<Object> p = kit.createTestProbe();
    ActorRef<Object> a = spawn(chaos, "duplicator", p);
    for (int i = 0; i < 4; i++) a.tell(new Msg(i));
    // Through once the marker is: every copy is delivered or on a timer by then.
    a.tell(new Other(0));
    List<Object> got = new ArrayList<>();
    for (Object m = p.receiveMessage(); !(m instanceof Other); m = p.receiveMessage()) got.add(m);
    time.timePasses(MAX_DELAY.plusMillis(1));
    got.addAll(p.receiveSeveralMessages(8 - got.size()));
    for (int i = 0; i < 4; i++) {
      int n = i;
      assertEquals(2, got.stream().filter(m -> m.equals(new Msg(n))).count(), () -> "twice: " + got);
    }
    nothingElse(a, p, 1);
    assertEquals(4, chaos.counts().duplicated());
  }

  @Test
  void delayedMessagesArriveLater() {
    Chaos chaos = Chaos.create(targetingMsg(3).delay(1));
    TestProbe<Object> p = kit.createTestProbe();
    ActorRef<Object> a = spawn(chaos, "delayer", p);
    a.tell(new Msg(1));
    a.tell(new Other(2)); // not delayed: overtakes the delayed one
    assertEquals(new Other(2), p.receiveMessage());
    nothingElse(a, p, 3); // held while the clock stands still
    time.timePasses(MAX_DELAY.plusMillis(1));
    assertEquals(new Msg(1), p.receiveMessage());
    assertEquals(1, chaos.counts().delayed());
  }

  @Test
  void reorderHoldsAMessageUntilTheNextOneWasHandled() {
    Chaos chaos = Chaos.create(targetingMsg(4).reorder(1).maxDelay(Duration.ofSeconds(30)));
    TestProbe<Object> p = kit.createTestProbe();
    ActorRef<Object> a = spawn(chaos, "reorderer", p);
    a.tell(new Msg(1)); // held
    p.expectNoMessage(SHORT);
    a.tell(new Msg(2)); // one held at a time: delivered, then the held one
    assertEquals(new Msg(2), p.receiveMessage());
    assertEquals(new Msg(1), p.receiveMessage());
    assertEquals(1, chaos.counts().reordered());
  }

  @Test
  void aHeldMessageIsReleasedAfterTheMaxDelayEvenWithoutANextOne() {
    Chaos chaos = Chaos.create(targetingMsg(5).reorder(1).maxDelay(Duration.ofMillis(50)));
    TestProbe<Object> p = kit.createTestProbe();
    spawn(chaos, "lonely", p).tell(new Msg(7));
    p.expectNoMessage(SHORT); // held while the clock stands still (a marker would release it)
    // The clock moves a max delay at a time until the release fires (the interceptor may set its
    // timer only after a first move).
    Object released = p.awaitAssert(() -> {
      time.timePasses(Duration.ofMillis(50));
      return p.expectMessageClass(Msg.class, Duration.ofMillis(100));
    });
    assertEquals(new Msg(7), released);
    assertEquals(1, chaos.counts().reordered());
  }

  @Test
  void pausedChaosPassesEverything() {
    Chaos chaos = Chaos.create(targetingMsg(6).drop(1));
    chaos.pause();
    TestProbe<Object> p = kit.createTestProbe();
    ActorRef<Object> a = spawn(chaos, "paused", p);
    a.tell(new Msg(1));
    assertEquals(new Msg(1), p.receiveMessage());
    chaos.resume();
    a.tell(new Msg(2));
    time.timePasses(MAX_DELAY.plusMillis(1));
    nothingElse(a, p, 3);
  }

  /** Which of 200 messages an actor named {@code name} delivers, dropping half. */
  private static List<Integer> delivered(long seed, String name) {
    Chaos chaos = Chaos.create(targetingMsg(seed).drop(0.5));
    TestProbe<Object> p = kit.createTestProbe();
    ActorRef<Object> a = spawn(chaos, name, p);
    for (int i = 0; i < 200; i++) a.tell(new Msg(i));
    a.tell(new Other(-1));
    List<Integer> out = new ArrayList<>();
    for (Object m = p.receiveMessage(); !(m instanceof Other); m = p.receiveMessage()) out.add(((Msg) m).n());
    return out;
  }

  @Test
  void theSeedReproducesEachActorsDecisions() {
    List<Integer> first = delivered(42, "node-1");
    assertEquals(first, delivered(42, "node-1"));
    assertNotEquals(first, delivered(43, "node-1"));
    assertNotEquals(first, delivered(42, "node-2"));
    assertTrue(first.size() > 50 && first.size() < 150, "about half: " + first.size());
  }

  @Test
  void protocolTargetsNetworkMessagesOnlyAndPerMessageSettingsOverride() {
    ChaosSettings s =
        ChaosSettings.fromConfig(
            ConfigFactory.parseString(
                    "vmap.chaos { seed = 9, drop = 0.1, delay = 0.2, max-delay = 7ms,\n"
                        + "  per-message { FlushAck { drop = 0.9 }, \"io.vmap.protocol.PeerProtocol$AllocHere\" { reorder = 1 } }\n"
                        + "  exclude = [Wake] }")
                .withFallback(ConfigFactory.load()));
    assertEquals(9, s.seed());
    assertEquals(Duration.ofMillis(7), s.maxDelay());
    assertEquals(new ChaosSettings.Faults(0.1, 0, 0.2, 0), s.faultsFor(ClientProtocol.Batch.class));
    assertEquals(new ChaosSettings.Faults(0.9, 0, 0.2, 0), s.faultsFor(PurgeProtocol.FlushAck.class));
    assertEquals(new ChaosSettings.Faults(0.1, 0, 0.2, 1), s.faultsFor(PeerProtocol.AllocHere.class));
    // Local wiring, excluded classes and non-vmap messages are never touched.
    assertSame(ChaosSettings.Faults.NONE, s.faultsFor(NodeMessage.Attach.class));
    assertSame(ChaosSettings.Faults.NONE, s.faultsFor(NodeMessage.Wake.class));
    assertSame(ChaosSettings.Faults.NONE, s.faultsFor(String.class));
    assertSame(ChaosSettings.Faults.NONE, s.faultsFor(Msg.class));
  }

  @Test
  void hoconEnablesChaosInStartVmapAndClientsRetryWithTheSameRequestKey() {
    // Every client batch to a node is dropped. Clients retry twice after a timeout, then give up.
    com.typesafe.config.Config c = ChaosTestSupport.config(2,
        "vmap.chaos { enabled = on, seed = 3, per-message { Batch { drop = 1 } } }\n"
            + "vmap.client { ask-timeout = 200ms, retries = 2 }\n");
    try (io.vmap.client.Vmap vmap = Chaos.startVmap(c)) {
      io.vmap.client.VmapClient client = vmap.client();
      assertEquals(2, client.retries());
      java.util.concurrent.CompletionException e = assertThrows(java.util.concurrent.CompletionException.class,
          () -> client.alloc(io.vmap.client.AllocOptions.size(4096).requestId("r1")).toCompletableFuture().join());
      assertEquals(io.vmap.state.ErrorCode.ETIMEDOUT, ((io.vmap.client.VmapException) e.getCause()).code());
      assertEquals(2, client.retriesSent());
      // Dropped three times: nothing was allocated (info is asked, not batched: not dropped).
      assertEquals(0, client.info().toCompletableFuture().join().busy().size());
    }
  }

  @Test
  void badSettingsNameTheirKey() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ChaosSettings.fromConfig(
            ConfigFactory.parseString("vmap.chaos.drop = 1.5").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("vmap.chaos.drop"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ChaosSettings.fromConfig(
        ConfigFactory.parseString("vmap.chaos.seed = soon").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("vmap.chaos.seed"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ChaosSettings.fromConfig(
        ConfigFactory.parseString("vmap.chaos.actors = [clients]").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("vmap.chaos.actors"), e.getMessage());
  }
}
