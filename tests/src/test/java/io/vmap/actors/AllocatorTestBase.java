package io.vmap.actors;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.ManualTime;
import io.vmap.client.Vmap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * One test kit per test class, at most one allocator per test (closed after it), and a manual
 * clock: every scheduler-driven timer of the actors under test (reservation leases, placement
 * checks, the purge coordinator's resend tick, the nodes' and the client's ask timeouts) fires only
 * when a test advances {@link #manualTime}. So a lease expires exactly when the test says, never
 * because the machine was slow, and "not yet" is asserted without waiting. Waiting for messages
 * (probes, {@code await}) still uses the real clock, bounded by {@link VmapTestSupport#WAIT}.
 */
abstract class AllocatorTestBase {

  static ActorTestKit testKit;
  static ManualTime manualTime;

  /** The allocator of the running test, if it started one; closed after the test. */
  protected Vmap vmap;

  @BeforeAll
  static void startTestKit() {
    // The default kit's configuration (application-test.conf over reference.conf), on the manual scheduler.
    testKit = ActorTestKit.create(ManualTime.config().withFallback(ActorTestKit.applicationTestConfig()));
    manualTime = ManualTime.get(testKit.system());
  }

  @AfterAll
  static void stopTestKit() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void closeAllocator() {
    if (vmap != null) vmap.close();
    vmap = null;
  }
}
