package io.vmap.node;

import akka.actor.typed.ActorRef;
import io.vmap.protocol.ClientProtocol.AllocFailed;
import io.vmap.protocol.ClientProtocol.AllocReply;
import io.vmap.protocol.ClientProtocol.Allocated;
import io.vmap.protocol.ClientProtocol.Alloc;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Unsigned;
import io.vmap.state.AllocSpec;
import io.vmap.state.AttemptId;
import io.vmap.state.ErrorCode;
import io.vmap.state.NodeEvent;
import io.vmap.state.Policy;
import io.vmap.state.RequestId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Allocations homed on this node (DESIGN.md "Allocation: exact placement"): the lowest fit in the
 * home's shard; else, unless fail-fast, the walk over the neighbours {@code home+1, home+2, ...};
 * then a spanning allocation; then a synchronous purge and the whole search once more; then
 * ENOSPC. The answer, whichever node placed the area, is remembered here, where retries arrive.
 */
final class HomeAllocations {

  static final String JOURNAL_FAILED = "journal write failed; nothing was stored: retry with the same request id";

  /** A request still walking, spanning or waiting for a purge. */
  private static final class InFlight {
    final AllocSpec spec;
    final List<ActorRef<AllocReply>> waiters = new ArrayList<>();
    /** 0 before the synchronous purge, 1 after (the one retry). */
    int pass;
    /** Offset from home of the node asked last in the walk. */
    int walked;
    /** The attempt waiting for its neighbour's answer, or null. */
    AttemptId asking;

    InFlight(AllocSpec spec, ActorRef<AllocReply> first) {
      this.spec = spec;
      waiters.add(first);
    }
  }

  /** Timer key of a synchronous purge's ask. */
  private record PurgeTimer(long tag) {}

  private final NodeContext c;
  private final AnswerCache answers;
  private final Map<RequestId, InFlight> inFlight = new HashMap<>();
  /** Synchronous purges asked for, by tag: the request that waits for each. */
  private final Map<Long, RequestId> purgeWaits = new HashMap<>();
  private long nextPurgeTag;

  HomeAllocations(NodeContext c, AnswerCache answers) {
    this.c = c;
    this.answers = answers;
  }

  /** Whether {@code request} is still being placed (walk, spanning, purge wait). */
  boolean isPlacing(RequestId request) {
    return inFlight.containsKey(request);
  }

  void onAlloc(Alloc m) {
    RequestId id = m.requestId();
    AnswerCache.Answer first = answers.alloc(id);
    if (first != null) {
      AllocReply r = reply(id, first);
      c.durability.afterStored(() -> m.replyTo().tell(r));
      return;
    }
    InFlight running = inFlight.get(id);
    if (running != null) {
      running.waiters.add(m.replyTo());
      return;
    }
    AllocSpec spec;
    try {
      spec = m.spec() == null ? null : m.spec().checkedAgainst(c.geometry);
      if (spec == null) throw new AllocSpec.Invalid("no allocation spec");
    } catch (AllocSpec.Invalid e) {
      fail(id, List.of(m.replyTo()), ErrorCode.EINVAL, e.getMessage());
      return;
    }
    Area fit = c.state.findFit(spec);
    if (fit != null) {
      c.state.apply(new NodeEvent.AreaAllocated(fit, id));
      replyAllocated(List.of(m.replyTo()), new Allocated(id, fit, c.node));
      return;
    }
    if (spec.policy() == Policy.FAIL_FAST) {
      fail(id, List.of(m.replyTo()), ErrorCode.EAGAIN, "no fit on home node " + c.node);
      return;
    }
    InFlight f = new InFlight(spec, m.replyTo());
    inFlight.put(id, f);
    walkOn(id, f);
  }

  private AllocReply reply(RequestId id, AnswerCache.Answer first) {
    if (first instanceof AnswerCache.Success s) {
      return new Allocated(id, s.area(), c.geometry.nodeOf(s.area().start()));
    }
    AnswerCache.Failure f = (AnswerCache.Failure) first;
    return new AllocFailed(id, f.code(), f.reason());
  }

  // ------------------------------------------------------------------ the walk

  /** Asks the next neighbour ({@code home+1, home+2, ...}), or moves on to spanning when all were asked. */
  private void walkOn(RequestId id, InFlight f) {
    f.walked++;
    if (f.walked < c.geometry.nodes()) {
      askNeighbour(id, f);
      return;
    }
    if (c.geometry.nodes() > 1) {
      c.spawn.accept(
          SpanningAllocator.create(id, f.spec, c.geometry, c.settings, c.peers, c.self,
              (area, reason) -> new Internal.SpanAnswer(id, area, reason)));
      return;
    }
    afterSpanning(id, f);
  }

  /**
   * Asks neighbour {@code home + walked}. Every ask of one neighbour in one pass uses the same
   * attempt id, so a retry after a lost answer gets the first answer (the neighbour remembers
   * successes and failures by attempt id), and the id names the home: the neighbour can tell, even
   * after a restart, whom to ask whether the area it places is kept (PlacementQuery).
   */
  private void askNeighbour(RequestId id, InFlight f) {
    int target = (c.node + f.walked) % c.geometry.nodes();
    AttemptId attempt = new AttemptId(id, f.pass, c.node, target);
    f.asking = attempt;
    c.peers.node(target).tell(new PeerProtocol.AllocHere(attempt, f.spec, c.attemptReplies));
    c.timers.startSingleTimer(attempt, new Internal.AttemptTimedOut(attempt), c.settings.askTimeout());
  }

  void onAttemptAnswered(Internal.AttemptAnswered m) {
    AttemptId attempt = m.reply().attempt();
    InFlight f = inFlight.get(attempt.request());
    if (f == null || !attempt.equals(f.asking)) return; // a late copy of an answer already handled
    c.timers.cancel(attempt);
    f.asking = null;
    if (m.reply() instanceof PeerProtocol.AttemptPlaced p) {
      placed(attempt.request(), p.area());
    } else if (((PeerProtocol.AttemptFailed) m.reply()).code() == ErrorCode.ETIMEDOUT) {
      // The neighbour's journal failed: it may have allocated under this attempt id. Moving on
      // would orphan that area, so ask the same neighbour again; its dedup returns the first outcome.
      askNeighbour(attempt.request(), f);
    } else {
      walkOn(attempt.request(), f);
    }
  }

  void onAttemptTimedOut(Internal.AttemptTimedOut m) {
    InFlight f = inFlight.get(m.attempt().request());
    if (f == null || !m.attempt().equals(f.asking)) return;
    // No answer (lost request or reply): the neighbour may have allocated; ask it again, same id.
    c.log.debug("request {}: no answer from node {}, asking again", m.attempt().request(), m.attempt().target());
    askNeighbour(m.attempt().request(), f);
  }

  void onSpanAnswer(Internal.SpanAnswer m) {
    InFlight f = inFlight.get(m.request());
    if (f == null) return;
    if (m.area() != null) {
      placed(m.request(), m.area());
    } else {
      afterSpanning(m.request(), f);
    }
  }

  // ------------------------------------------------------------------ purge and retry

  /** Everything failed once: purge synchronously and retry once, or give up with ENOSPC. */
  private void afterSpanning(RequestId id, InFlight f) {
    if (f.pass > 0) {
      InFlight done = inFlight.remove(id);
      fail(id, done.waiters, ErrorCode.ENOSPC,
          "no free range of " + f.spec.size() + " bytes aligned to " + f.spec.align() + " in "
              + Unsigned.hex(f.spec.lo()) + ":" + Unsigned.hex(f.spec.hi()));
      return;
    }
    long tag = nextPurgeTag++;
    purgeWaits.put(tag, id);
    c.coordinator.tell(new PurgeProtocol.PurgeSync(tag, c.purgesDone));
    // No answer in time counts as done: the retry then finds space or answers ENOSPC.
    c.timers.startSingleTimer(new PurgeTimer(tag), new Internal.PurgeAnswered(tag, null), c.settings.askTimeout());
  }

  void onPurgeAnswered(Internal.PurgeAnswered m) {
    RequestId id = purgeWaits.remove(m.tag());
    if (id == null) return;
    c.timers.cancel(new PurgeTimer(m.tag()));
    InFlight f = inFlight.get(id);
    if (f == null) return;
    f.pass = 1;
    f.walked = 0;
    Area fit = c.state.findFit(f.spec);
    if (fit != null) {
      inFlight.remove(id);
      c.state.apply(new NodeEvent.AreaAllocated(fit, id));
      replyAllocated(f.waiters, new Allocated(id, fit, c.node));
    } else {
      walkOn(id, f);
    }
  }

  // ------------------------------------------------------------------ answers

  /** Another node placed the area: remember it here, where retries of the request arrive. */
  private void placed(RequestId id, Area area) {
    InFlight f = inFlight.remove(id);
    c.state.apply(new NodeEvent.Placed(id, area));
    replyAllocated(f.waiters, new Allocated(id, area, c.geometry.nodeOf(area.start())));
  }

  private void replyAllocated(List<ActorRef<AllocReply>> to, Allocated reply) {
    c.durability.afterStored(
        () -> to.forEach(r -> r.tell(reply)),
        () -> to.forEach(r -> r.tell(new AllocFailed(reply.requestId(), ErrorCode.ETIMEDOUT, JOURNAL_FAILED))));
  }

  /** A failure changes no state: remembered for retries, sent once earlier effects are out. */
  private void fail(RequestId id, List<ActorRef<AllocReply>> to, ErrorCode code, String reason) {
    answers.allocFailed(id, code, reason);
    AllocFailed reply = new AllocFailed(id, code, reason);
    c.durability.afterStored(() -> to.forEach(r -> r.tell(reply)));
  }

  /** The node is stopping after a journal failure: every request still being placed fails. */
  void failAll() {
    for (Map.Entry<RequestId, InFlight> e : inFlight.entrySet()) {
      AllocFailed reply = new AllocFailed(e.getKey(), ErrorCode.ETIMEDOUT,
          "node " + c.node + " restarting after a journal failure; retry");
      for (ActorRef<AllocReply> w : e.getValue().waiters) w.tell(reply);
    }
  }
}
