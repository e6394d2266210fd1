package io.vmap.node;

import akka.actor.typed.ActorRef;
import io.vmap.protocol.ClientProtocol.Find;
import io.vmap.protocol.ClientProtocol.FindReply;
import io.vmap.protocol.ClientProtocol.Free;
import io.vmap.protocol.ClientProtocol.FreeFailed;
import io.vmap.protocol.ClientProtocol.FreeReply;
import io.vmap.protocol.ClientProtocol.Freed;
import io.vmap.protocol.PeerProtocol.FindHere;
import io.vmap.space.Area;
import io.vmap.space.Unsigned;
import io.vmap.state.ErrorCode;
import io.vmap.state.LazyArea;
import io.vmap.state.NodeEvent;
import io.vmap.state.RequestId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Frees and lookups of addresses in this node's zones (DESIGN.md "Free" and "Lookup"). An address
 * inside a piece of another node's spanning area is that area's start owner's business: a lookup
 * is forwarded there (the fan-out is at most that one node), and a free asks it whether the
 * address is inside a busy area before answering ENOENT or EINVAL.
 */
final class Lookups {

  private record PendingFree(RequestId request, ActorRef<FreeReply> replyTo) {}

  /** Timer key of a free's check. */
  private record CheckTimer(long addr) {}

  private final NodeContext c;
  private final AnswerCache answers;
  /** Frees waiting for a start owner's answer about their address, by address. */
  private final Map<Long, List<PendingFree>> checking = new HashMap<>();

  Lookups(NodeContext c, AnswerCache answers) {
    this.c = c;
    this.answers = answers;
  }

  void onFree(Free m) {
    AnswerCache.Answer first = answers.free(m.requestId());
    if (first != null) {
      FreeReply r = first instanceof AnswerCache.Success s
          ? new Freed(m.requestId(), s.area())
          : new FreeFailed(m.requestId(), ((AnswerCache.Failure) first).code(), ((AnswerCache.Failure) first).reason());
      c.durability.afterStored(() -> m.replyTo().tell(r));
      return;
    }
    int owner = c.geometry.nodeOf(m.addr());
    if (owner != c.node) {
      c.peers.node(owner).tell(m);
      return;
    }
    if (c.state.busyAt(m.addr()) != null) {
      LazyArea la = c.state.apply(new NodeEvent.AreaFreed(m.addr(), m.requestId()));
      c.lazyFreedAfterStored(la.area().size());
      Freed reply = new Freed(m.requestId(), la.area());
      c.durability.afterStored(
          () -> m.replyTo().tell(reply),
          () -> m.replyTo().tell(new FreeFailed(m.requestId(), ErrorCode.ETIMEDOUT, HomeAllocations.JOURNAL_FAILED)));
      return;
    }
    Area inside = c.state.find(m.addr());
    if (inside != null) {
      fail(m.requestId(), m.replyTo(), notItsStart(m.addr(), inside));
      return;
    }
    int startOwner = c.state.startOwnerCovering(m.addr());
    if (startOwner >= 0 && startOwner != c.node) {
      // Inside a piece of another node's spanning area: only its start owner knows if it is busy.
      List<PendingFree> waiting = checking.computeIfAbsent(m.addr(), a -> new ArrayList<>());
      waiting.add(new PendingFree(m.requestId(), m.replyTo()));
      if (waiting.size() == 1) {
        c.peers.node(startOwner).tell(new FindHere(m.addr(), c.freeChecks));
        c.timers.startSingleTimer(new CheckTimer(m.addr()), new Internal.FreeCheckTimedOut(m.addr()), c.settings.askTimeout());
      }
      return;
    }
    fail(m.requestId(), m.replyTo(), noArea(m.addr()));
  }

  void onFreeCheckAnswered(Internal.FreeCheckAnswered m) {
    answerChecks(m.reply().addr(), m.reply().area());
  }

  /** No answer: as if the start owner had no busy area there. */
  void onFreeCheckTimedOut(Internal.FreeCheckTimedOut m) {
    answerChecks(m.addr(), null);
  }

  private void answerChecks(long addr, Area covering) {
    List<PendingFree> waiting = checking.remove(addr);
    if (waiting == null) return;
    c.timers.cancel(new CheckTimer(addr));
    AnswerCache.Failure f = covering != null ? notItsStart(addr, covering) : noArea(addr);
    for (PendingFree p : waiting) fail(p.request(), p.replyTo(), f);
  }

  private void fail(RequestId id, ActorRef<FreeReply> to, AnswerCache.Failure f) {
    answers.freeFailed(id, f.code(), f.reason());
    FreeFailed reply = new FreeFailed(id, f.code(), f.reason());
    c.durability.afterStored(() -> to.tell(reply));
  }

  private static AnswerCache.Failure notItsStart(long addr, Area area) {
    return new AnswerCache.Failure(ErrorCode.EINVAL, Unsigned.hex(addr) + " is inside area "
        + Unsigned.hex(area.start()) + "-" + Unsigned.hex(area.end()) + " but not its start");
  }

  private static AnswerCache.Failure noArea(long addr) {
    return new AnswerCache.Failure(ErrorCode.ENOENT, "no busy area contains " + Unsigned.hex(addr));
  }

  void onFind(Find m) {
    int owner = c.geometry.nodeOf(m.addr());
    if (owner != c.node) {
      c.peers.node(owner).tell(m);
      return;
    }
    Area a = c.state.find(m.addr());
    if (a != null) {
      m.replyTo().tell(new FindReply(m.addr(), a, c.node));
      return;
    }
    // find_vmap_area()'s scan of other nodes, bounded: an area covering addr but starting on another
    // node must be a spanning area, and its piece in our zone records which node holds its start.
    int startOwner = c.state.startOwnerCovering(m.addr());
    if (startOwner >= 0 && startOwner != c.node) {
      c.peers.node(startOwner).tell(new FindHere(m.addr(), m.replyTo()));
    } else {
      m.replyTo().tell(new FindReply(m.addr(), null, -1));
    }
  }

  void onFindHere(FindHere m) {
    Area a = c.state.find(m.addr());
    m.replyTo().tell(new FindReply(m.addr(), a, a == null ? -1 : c.node));
  }
}
