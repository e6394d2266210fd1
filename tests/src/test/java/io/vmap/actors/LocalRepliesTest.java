package io.vmap.actors;

import static io.vmap.actors.VmapTestSupport.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.LocalReplies;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A node's answers to a client of its own ActorSystem are handed over on the node's thread, without
 * the reply actor's mailbox; every other reply actor still gets a message; each ActorSystem has its
 * own registry, so what crosses systems in one JVM still travels as a message.
 */
class LocalRepliesTest {

  private ActorTestKit kit;
  private ActorTestKit other;

  @BeforeEach
  void start() {
    kit = ActorTestKit.create();
    other = ActorTestKit.create();
  }

  @AfterEach
  void stop() {
    kit.shutdownTestKit();
    other.shutdownTestKit();
  }

  @Test
  void aRegisteredReplyActorsAnswersRunOnTheSendersThreadAndNeverReachItsMailbox() {
    LocalReplies local = LocalReplies.get(kit.system());
    TestProbe<Replies> actor = kit.createTestProbe();
    List<Thread> ranOn = new ArrayList<>();
    List<Replies> handled = new ArrayList<>();
    local.register(actor.getRef(), r -> {
      ranOn.add(Thread.currentThread());
      handled.add(r);
    });
    Replies r = new Replies(7, List.of());

    local.send(actor.getRef(), r);

    assertEquals(List.of(r), handled);
    assertEquals(List.of(Thread.currentThread()), ranOn);
    actor.expectNoMessage(Duration.ofMillis(100));

    local.unregister(actor.getRef());
    local.send(actor.getRef(), r);
    assertEquals(r, actor.receiveMessage()); // a copy: test systems serialize every message
    assertEquals(1, handled.size());
  }

  @Test
  void anUnknownReplyActorGetsAMessageAndAnotherSystemsRegistryDoesNotKnowThisOnes() {
    TestProbe<Replies> actor = kit.createTestProbe();
    LocalReplies.get(kit.system()).register(actor.getRef(), r -> {
      throw new AssertionError("handled through the other system's registry");
    });
    assertNotSame(LocalReplies.get(kit.system()), LocalReplies.get(other.system()));
    Replies r = new Replies(-1, List.of());

    LocalReplies.get(other.system()).send(actor.getRef(), r);

    assertEquals(r, actor.receiveMessage()); // a copy: test systems serialize every message
  }

  @Test
  void aHandlerThatThrowsDoesNotReachTheSenderAndTheRegistryWithoutASystemTakesNoHandler() {
    LocalReplies local = LocalReplies.get(kit.system());
    TestProbe<Replies> actor = kit.createTestProbe();
    local.register(actor.getRef(), r -> {
      throw new IllegalStateException("a client's bug");
    });
    local.send(actor.getRef(), new Replies(1, List.of())); // no exception: the node goes on
    actor.expectNoMessage(Duration.ofMillis(100));

    assertThrows(IllegalStateException.class, () -> LocalReplies.NONE.register(actor.getRef(), r -> {}));
  }

  @Test
  void anEmbeddedClientRegistersOneHandlerPerNodeIsAnsweredThroughThemAndWithdrawsThemWhenClosed() {
    Geometry g = VmapTestSupport.geometry(0x100000000L, 16, 4);
    LocalReplies local = LocalReplies.get(kit.system());
    int before = local.size();
    Vmap vmap = VmapTestSupport.embed(kit, g, 64);
    assertEquals(before + g.nodes(), local.size());

    for (int node = 0; node < g.nodes(); node++) {
      Allocation a = await(vmap.client().alloc(AllocOptions.size(8192).home(node)));
      assertEquals(a.area(), await(vmap.client().find(a.start())).orElseThrow());
      await(vmap.client().free(a.start()));
    }

    vmap.close();
    assertEquals(before, local.size());
  }
}
