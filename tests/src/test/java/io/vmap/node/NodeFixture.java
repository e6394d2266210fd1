package io.vmap.node;

import akka.actor.testkit.typed.javadsl.TestInbox;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.AnswerKey;
import io.vmap.state.LazyArea;
import io.vmap.state.NodeEvent;
import io.vmap.state.NodeState;
import io.vmap.state.RequestKey;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * One volatile node's {@link NodeContext} without an actor system: its state, fake timers, and a
 * {@link TestInbox} for every ref it talks to (each peer, the coordinator, itself, its adapters).
 * Collaborators are built on {@link #context} and driven by calling their handlers directly.
 *
 * <p>Geometry: 2 nodes, 16 zones of 64 KiB (16 pages of 4 KiB) from B = 0x100000; node 0 owns the
 * zones at B + 2i*Z, node 1 those at B + (2i+1)*Z.
 */
final class NodeFixture {

  static final long B = 0x100000;
  static final long PAGE = 4096;
  static final long ZONE = 0x10000;
  static final Geometry G = new Geometry(B, B + 16 * ZONE, PAGE, ZONE, 2);

  final int node;
  final NodeSettings settings = NodeSettings.defaults();
  final NodeState state;
  final FakeTimers<NodeMessage> timers = new FakeTimers<>();
  final List<TestInbox<NodeMessage>> peers = new ArrayList<>();
  final TestInbox<PurgeProtocol.Command> coordinator = TestInbox.create("coordinator");
  final TestInbox<NodeMessage> self = TestInbox.create("self");
  final TestInbox<PeerProtocol.AttemptReply> attemptReplies = TestInbox.create("attempt-replies");
  final TestInbox<PeerProtocol.AddressChecked> addressChecks = TestInbox.create("address-checks");
  final TestInbox<PurgeProtocol.PurgeDone> purgesDone = TestInbox.create("purges-done");
  final List<Behavior<?>> spawned = new ArrayList<>();
  final NodeContext context;
  private int requests;

  NodeFixture(int node) {
    this.node = node;
    this.state = new NodeState(node, G, settings.memory());
    List<ActorRef<NodeMessage>> refs = new ArrayList<>();
    for (int k = 0; k < G.nodes(); k++) {
      TestInbox<NodeMessage> p = TestInbox.create("node-" + k);
      peers.add(p);
      refs.add(p.getRef());
    }
    NodeDirectory dir = NodeDirectory.of(refs);
    context = new NodeContext(node, G, settings, state, Durability.IMMEDIATE, dir, coordinator.getRef(), timers,
        LoggerFactory.getLogger("node-" + node), self.getRef(), attemptReplies.getRef(), addressChecks.getRef(),
        purgesDone.getRef(), spawned::add, io.vmap.protocol.LocalReplies.NONE, null);
  }

  /** What node {@code k} was sent, and clears it. */
  List<NodeMessage> sentTo(int k) {
    return drain(peers.get(k));
  }

  static <T> List<T> drain(TestInbox<T> inbox) {
    List<T> out = new ArrayList<>();
    while (inbox.hasMessages()) out.add(inbox.receiveMessage());
    return out;
  }

  /** A busy area {@code [start, start + size)} allocated for request {@code key}. */
  Area allocated(long start, long size, AnswerKey key) {
    return state.apply(new NodeEvent.AreaAllocated(new Area(start, start + size, ""), key));
  }

  Area allocated(long start, long size) {
    return allocated(start, size, new RequestKey(0x7e57, ++requests));
  }

  /** Frees the busy area at {@code start}: it joins the lazy list. */
  LazyArea freed(long start) {
    return state.apply(new NodeEvent.AreaFreed(start, new RequestKey(0x7e57, ++requests)));
  }
}
