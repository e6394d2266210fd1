package io.vmap.node;

import akka.actor.typed.ActorRef;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Failed;
import io.vmap.protocol.ClientProtocol.FindRequest;
import io.vmap.protocol.ClientProtocol.Found;
import io.vmap.protocol.ClientProtocol.FreeRequest;
import io.vmap.protocol.ClientProtocol.Freed;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.PeerProtocol.AddressChecked;
import io.vmap.protocol.PeerProtocol.CheckAddress;
import io.vmap.protocol.PeerProtocol.FindHere;
import io.vmap.space.Area;
import io.vmap.space.Unsigned;
import io.vmap.state.Answer;
import io.vmap.state.ClientAnswers;
import io.vmap.state.ErrorCode;
import io.vmap.state.LazyArea;
import io.vmap.state.NodeEvent;
import io.vmap.state.Principal;
import io.vmap.state.RequestKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Frees and lookups of addresses in this node's zones (DESIGN.md "Free" and "Lookup"). An address
 * inside a piece of another node's spanning area is that area's start owner's business: a lookup
 * is forwarded there (the fan-out is at most that one node), and a free asks it whether the
 * address is inside a busy area before answering ENOENT or EINVAL.
 *
 * <p>Tenants (DESIGN.md "Tenants"): a principal sees only its own tenant's areas, unless it is an
 * admin. An area it does not see is answered exactly as if it did not exist (ENOENT, the same
 * reason, or no area found), including an address inside it; an admin's free of another tenant's
 * area is logged on {@code io.vmap.audit}.
 */
final class Lookups {

  /** Admin actions on other tenants' areas: who, which area, whose. */
  private static final org.slf4j.Logger AUDIT = org.slf4j.LoggerFactory.getLogger("io.vmap.audit");

  private record PendingFree(RequestKey key, ActorRef<Replies> replyTo, Principal by) {}

  /** Timer key of a free's check. */
  private record CheckTimer(long addr) {}

  private final NodeContext c;
  /** Frees waiting for a start owner's answer about their address, by address. */
  private final Map<Long, List<PendingFree>> checking = new HashMap<>();
  /** The keyed frees among them, by id (a key's session): the same id for another address is refused meanwhile. */
  private final Map<Long, RequestKey> checkingIds = new HashMap<>();

  Lookups(NodeContext c) {
    this.c = c;
  }

  void onFree(FreeRequest m, ActorRef<Replies> replyTo) {
    Answer first = c.state.answer(m.key(), true);
    if (first != null) {
      c.responses.now(first instanceof Answer.Done d
          ? new Freed(m.key(), d.area())
          : new Failed(m.key(), ((Answer.Failed) first).code(), ((Answer.Failed) first).reason()));
      return;
    }
    RequestKey checkingId = m.key().keyed() ? checkingIds.get(m.key().session()) : null;
    if (checkingId != null && !m.key().sameRequest(checkingId.seq())) {
      c.responses.now(new Failed(m.key(), ClientAnswers.REUSED.code(), ClientAnswers.REUSED.reason()));
      return;
    }
    int owner = c.geometry.nodeOf(m.addr());
    if (owner != c.node) {
      // The client routes by nodeOf; a request that reaches the wrong node anyway is passed on.
      c.peers.node(owner).tell(new ClientProtocol.Batch(-1, List.of(m), replyTo));
      return;
    }
    Area busy = c.state.busyAt(m.addr());
    if (busy != null && m.by().sees(owner(busy))) {
      String tenant = owner(busy);
      LazyArea la = c.state.apply(new NodeEvent.AreaFreed(m.addr(), m.key()));
      c.lazyFreed(la.area().size());
      c.responses.now(new Freed(m.key(), la.area()));
      if (!tenant.equals(m.by().tenant())) {
        AUDIT.info("admin {} freed area {} of tenant {} on node {} (request {})", m.by().tenant(), la.area(), tenant,
            c.node, m.key());
      }
      return;
    }
    Area inside = c.state.busyContaining(m.addr());
    if (inside != null) {
      // Another tenant's area is answered as if there were none, also for an address inside it.
      c.responses.now(refuse(m.key(), m.by().sees(owner(inside)) ? notItsStart(m.addr(), inside) : noArea(m.addr())));
      return;
    }
    int startOwner = c.state.spans().startOwnerCovering(m.addr());
    if (startOwner >= 0 && startOwner != c.node) {
      // Inside a piece of another node's spanning area: only its start owner knows if it is busy.
      List<PendingFree> waiting = checking.computeIfAbsent(m.addr(), a -> new ArrayList<>());
      waiting.add(new PendingFree(m.key(), replyTo, m.by()));
      if (m.key().keyed()) checkingIds.put(m.key().session(), m.key());
      if (waiting.size() == 1) {
        c.peers.node(startOwner).tell(new CheckAddress(m.addr(), c.addressChecks));
        c.timers.startSingleTimer(new CheckTimer(m.addr()), new Internal.AddressCheckTimedOut(m.addr()),
            c.settings.askTimeout());
      }
      return;
    }
    c.responses.now(refuse(m.key(), noArea(m.addr())));
  }

  void onAddressChecked(Internal.AddressCheckAnswered m) {
    answerChecks(m.reply().addr(), m.reply().area(), m.reply().owner());
  }

  /** No answer: as if the start owner had no busy area there. */
  void onAddressCheckTimedOut(Internal.AddressCheckTimedOut m) {
    answerChecks(m.addr(), null, null);
  }

  private void answerChecks(long addr, Area covering, String owner) {
    List<PendingFree> waiting = checking.remove(addr);
    if (waiting == null) return;
    c.timers.cancel(new CheckTimer(addr));
    for (PendingFree p : waiting) {
      if (p.key().keyed()) checkingIds.remove(p.key().session(), p.key());
      Answer.Failed f = covering != null && p.by().sees(owner) ? notItsStart(addr, covering) : noArea(addr);
      c.responses.later(p.replyTo(), refuse(p.key(), f));
    }
  }

  private String owner(Area a) {
    return c.state.ownership().ownerOf(a.start());
  }

  /** {@code a} if {@code by} may see it, else null (as if there were no area). */
  private Area visible(Area a, Principal by) {
    return a != null && by.sees(owner(a)) ? a : null;
  }

  /** A failure changes nothing but is stored, so a retry gets it too, also after a restart. */
  private Failed refuse(RequestKey key, Answer.Failed f) {
    c.state.apply(new NodeEvent.Refused(key, true, f.code(), f.reason()));
    return new Failed(key, f.code(), f.reason());
  }

  private static Answer.Failed notItsStart(long addr, Area area) {
    return new Answer.Failed(ErrorCode.EINVAL, Unsigned.hex(addr) + " is inside area "
        + Unsigned.hex(area.start()) + "-" + Unsigned.hex(area.end()) + " but not its start");
  }

  private static Answer.Failed noArea(long addr) {
    return new Answer.Failed(ErrorCode.ENOENT, "no busy area contains " + Unsigned.hex(addr));
  }

  void onFind(FindRequest m, ActorRef<Replies> replyTo) {
    int owner = c.geometry.nodeOf(m.addr());
    if (owner != c.node) {
      c.peers.node(owner).tell(new ClientProtocol.Batch(-1, List.of(m), replyTo));
      return;
    }
    Area a = c.state.busyContaining(m.addr());
    if (a != null) {
      // No other area can cover addr; one the asker may not see is "none".
      Area seen = visible(a, m.by());
      c.responses.now(new Found(m.key(), m.addr(), seen, seen == null ? -1 : c.node));
      return;
    }
    // find_vmap_area()'s scan of other nodes, bounded: an area covering addr but starting on another
    // node must be a spanning area, and its piece in our zone records which node holds its start.
    int startOwner = c.state.spans().startOwnerCovering(m.addr());
    if (startOwner >= 0 && startOwner != c.node) {
      c.peers.node(startOwner).tell(new FindHere(m.key(), m.addr(), replyTo, m.by()));
    } else {
      c.responses.now(new Found(m.key(), m.addr(), null, -1));
    }
  }

  void onFindHere(FindHere m) {
    Area a = visible(c.state.busyContaining(m.addr()), m.by());
    m.replyTo().tell(new Replies(-1, List.of(new Found(m.key(), m.addr(), a, a == null ? -1 : c.node))));
  }

  void onCheckAddress(CheckAddress m) {
    Area a = c.state.busyContaining(m.addr());
    m.replyTo().tell(new AddressChecked(m.addr(), a, a == null ? null : owner(a)));
  }
}
