package io.vmap.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.NoSerializationVerificationNeeded;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.client.Vmap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code vmap.dispatcher} serves a message sent from outside its pool (an HTTP route, a caller's
 * thread, the scheduler's timer) while its own threads are saturated by messages its actors send one
 * another, as the vmap nodes are when their answers drive the next requests on the node's thread.
 *
 * <p>A fork-join pool on JDK 17 fails this: a worker runs the tasks its own thread queued for as long
 * as there are any, and looks at tasks submitted from outside only when it runs dry (Akka issue
 * 31117, ForkJoinPoolStarvationSpec). In `vmap demo` that kept a purge epoch waiting 12 s for two
 * idle nodes' splice answers, whose mailboxes had been queued from a client thread.
 */
class VmapDispatcherFairnessTest {

  /** Local to this JVM: the tests' serialization check does not apply. */
  private sealed interface Spin extends NoSerializationVerificationNeeded {}

  private enum Again implements Spin { INSTANCE }

  private enum Halt implements Spin { INSTANCE }

  private record Ping(int n, ActorRef<Integer> replyTo) implements NoSerializationVerificationNeeded {}

  private ActorTestKit kit;

  @BeforeEach
  void start() {
    kit = ActorTestKit.create();
  }

  @AfterEach
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aMessageFromOutsideThePoolIsServedWhileItsThreadsAreBusyWithEachOthersMessages() {
    // More busy actors than the pool has threads (one per CPU, at least 2): every thread is kept busy.
    int busy = 2 * Math.max(2, Runtime.getRuntime().availableProcessors());
    List<ActorRef<Spin>> spinners = new ArrayList<>();
    for (int i = 0; i < busy; i++) {
      spinners.add(kit.spawn(Behaviors.<Spin>setup(ctx -> Behaviors.receive(Spin.class)
          .onMessageEquals(Again.INSTANCE, () -> {
            ctx.getSelf().tell(Again.INSTANCE);
            return Behaviors.same();
          })
          .onMessageEquals(Halt.INSTANCE, Behaviors::stopped)
          .build()), "busy-" + i, Vmap.DISPATCHER));
    }
    ActorRef<Ping> echo = kit.spawn(Behaviors.receive(Ping.class)
        .onMessage(Ping.class, p -> {
          p.replyTo().tell(p.n());
          return Behaviors.same();
        })
        .build(), "echo", Vmap.DISPATCHER);
    for (ActorRef<Spin> s : spinners) s.tell(Again.INSTANCE);

    // Each ping is told from the test's thread, outside the pool. The bound is a liveness bound (a
    // starved actor waits until the busy ones stop, here never), not a timing figure.
    TestProbe<Integer> probe = kit.createTestProbe();
    for (int n = 0; n < 200; n++) {
      echo.tell(new Ping(n, probe.getRef()));
      assertEquals(n, probe.expectMessageClass(Integer.class, Duration.ofSeconds(10)));
    }
    for (ActorRef<Spin> s : spinners) s.tell(Halt.INSTANCE);
  }
}
