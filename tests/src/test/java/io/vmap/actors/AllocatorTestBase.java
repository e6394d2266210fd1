package io.vmap.actors;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.vmap.client.Vmap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/** One test kit per test class, and at most one allocator per test, closed after it. */
abstract class AllocatorTestBase {

  static ActorTestKit testKit;

  /** The allocator of the running test, if it started one; closed after the test. */
  protected Vmap vmap;

  @BeforeAll
  static void startTestKit() {
    testKit = ActorTestKit.create();
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
