package io.vmap.actors;

import io.vmap.protocol.NodeMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.FishingOutcomes;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.client.Vmap;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.NodeDirectory;
import io.vmap.node.NodeSettings;
import io.vmap.node.VmapNode;
import io.vmap.state.ErrorCode;
import io.vmap.state.ReservationId;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Shared helpers of the actor-level tests: tiny geometries, blocking on stages, directories. */
final class VmapTestSupport {

  private VmapTestSupport() {}

  static final long PAGE = 4096;
  static final long ZONE = 0x10000;
  /**
   * Lease of the embedded allocators' spanning reservations (and of part owners' re-asks), in the
   * test kit's manual time: it runs out only when a test advances the clock past it.
   */
  static final Duration LEASE = Duration.ofMillis(300);
  /** Upper bound (real time) for anything the tests wait for; never a pass/fail criterion on speed. */
  static final Duration WAIT = Duration.ofSeconds(10);

  /** {@code zones} zones of 64 KiB starting at {@code base} (a multiple of nodes * zone), 4 KiB pages. */
  static Geometry geometry(long base, int zones, int nodes) {
    return new Geometry(base, base + zones * ZONE, PAGE, ZONE, nodes);
  }

  static VmapSettings settings(Geometry g, long lazyMaxPages) {
    return VmapSettings.defaults()
        .withGeometry(g, lazyMaxPages)
        .withNode(NodeSettings.defaults().withLease(LEASE));
  }

  static Vmap embed(ActorTestKit kit, Geometry g, long lazyMaxPages) {
    return Vmap.embed(kit.system(), settings(g, lazyMaxPages));
  }

  /** The stage's value; an exceptional completion is rethrown unwrapped. */
  static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException r) throw r;
      throw new AssertionError("stage failed", c);
    } catch (TimeoutException e) {
      throw new AssertionError("no answer within " + WAIT, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The error code the stage fails with; fails the test if it succeeds or fails otherwise. */
  static ErrorCode failure(CompletionStage<?> stage) {
    return exception(stage).code();
  }

  /** The VmapException {@code stage} fails with (code and reason). */
  static io.vmap.client.VmapException exception(CompletionStage<?> stage) {
    try {
      Object v = stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      fail("expected a VmapException, got " + v);
      return null;
    } catch (ExecutionException e) {
      Throwable c = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
          ? e.getCause().getCause() : e.getCause();
      if (c instanceof VmapException v) {
        assertTrue(v.reason() != null && !v.reason().isEmpty(), "a failure names its reason");
        return v;
      }
      throw new AssertionError("expected a VmapException, got " + c, c);
    } catch (TimeoutException e) {
      throw new AssertionError("no answer within " + WAIT, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** What a stage completed with, delivered to a probe so that "not yet" can be asserted. */
  record Outcome(Object value, Throwable failure) implements akka.actor.NoSerializationVerificationNeeded {}

  static TestProbe<Outcome> watch(ActorTestKit kit, CompletionStage<?> stage) {
    TestProbe<Outcome> p = kit.createTestProbe(Outcome.class);
    stage.whenComplete((v, t) -> p.ref().tell(new Outcome(v, t)));
    return p;
  }

  /**
   * Asserts that {@code probe} was sent nothing before {@code marker}: sends the marker and expects
   * it as the next message. Call it once whatever could have sent something unwanted has answered
   * something else to the test (or is known to have handled the action), so that any such message
   * was enqueued before the marker. Unlike waiting a while for "no message", this fails whenever
   * the unwanted message exists, however slow the machine.
   */
  static <T> void nothingBefore(TestProbe<T> probe, T marker) {
    probe.ref().tell(marker);
    assertEquals(marker, probe.receiveMessage(WAIT), "the marker must come first: nothing was sent before it");
  }

  /**
   * An allocator whose purge coordinator copies every command it handles to {@code spy}, so a test
   * can see who asked it for what (a synchronous purge asked by a node, for instance).
   */
  static Vmap embedWithCoordinatorSpy(ActorTestKit kit, Geometry g, long lazyMaxPages, TestProbe<PurgeProtocol.Command> spy) {
    return Vmap.embed(kit.system(), settings(g, lazyMaxPages), new Vmap.Wrapping() {
      @Override
      public akka.actor.typed.Behavior<PurgeProtocol.Command> coordinator(akka.actor.typed.Behavior<PurgeProtocol.Command> b) {
        return Behaviors.monitor(PurgeProtocol.Command.class, spy.ref(), b);
      }
    });
  }

  /** The next message of {@code spy} of class {@code type}, skipping others. */
  static <T, M extends T> M next(TestProbe<T> spy, Class<M> type) {
    List<T> got = spy.fishForMessage(WAIT, "a " + type.getSimpleName(),
        m -> type.isInstance(m) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    return type.cast(got.get(got.size() - 1));
  }

  static VmapInfo info(Vmap vmap) {
    return await(vmap.client().info());
  }

  static VmapInfo.NodeStats stats(VmapInfo info, int node) {
    VmapInfo.NodeStats s = info.nodes().get(node);
    assertEquals(node, s.node());
    return s;
  }

  /** A directory whose entries are set after spawning: real nodes and probes side by side. */
  static final class Directory implements NodeDirectory {
    private final List<RecipientRef<NodeMessage>> refs;

    Directory(int size) {
      refs = new ArrayList<>();
      for (int i = 0; i < size; i++) refs.add(null);
    }

    Directory set(int k, RecipientRef<NodeMessage> ref) {
      refs.set(k, ref);
      return this;
    }

    @Override
    public RecipientRef<NodeMessage> node(int k) {
      RecipientRef<NodeMessage> r = refs.get(k);
      if (r == null) throw new IllegalStateException("node " + k + " not wired");
      return r;
    }

    @Override
    public int size() {
      return refs.size();
    }
  }

  /** A volatile node k that knows its peers and coordinator from the start. */
  static akka.actor.typed.Behavior<NodeMessage> volatileNode(
      int k, Geometry g, NodeSettings settings, NodeDirectory peers,
      ActorRef<io.vmap.protocol.PurgeProtocol.Command> coordinator) {
    return VmapNode.create(k, g, settings, peers, coordinator, null, null, null);
  }

  /** Node k of an embedded allocator, to send protocol messages to it directly. */
  static RecipientRef<NodeMessage> node(Vmap vmap, int k) {
    return vmap.nodes().node(k);
  }

  /** A reservation id as the spanning allocator of request {@code request}, homed on node 0, makes it. */
  static ReservationId reservation(String request, Area area) {
    return new ReservationId(Requests.allocKey(request), 0, area, 0);
  }

  static void tell(RecipientRef<NodeMessage> to, NodeMessage m) {
    to.tell(m);
  }

  static <T> ActorRef<T> ref(TestProbe<T> p) {
    return p.ref();
  }
}
