package io.vmap.node;

import akka.actor.typed.ActorRef;
import io.vmap.protocol.ClientProtocol.AllocRequest;
import io.vmap.protocol.ClientProtocol.Allocated;
import io.vmap.protocol.ClientProtocol.Failed;
import io.vmap.protocol.ClientProtocol.Replies;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Unsigned;
import io.vmap.state.AllocSpec;
import io.vmap.state.Answer;
import io.vmap.state.AttemptId;
import io.vmap.state.ClientAnswers;
import io.vmap.state.ErrorCode;
import io.vmap.state.NodeEvent;
import io.vmap.state.Policy;
import io.vmap.state.RequestKey;
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

  /** A request still walking, spanning or waiting for a purge. */
  private static final class InFlight {
    final AllocSpec spec;
    final List<ActorRef<Replies>> waiters = new ArrayList<>();
    /** 0 before the synchronous purge, 1 after (the one retry). */
    int pass;
    /** Offset from home of the node asked last in the walk. */
    int walked;
    /** The attempt waiting for its neighbour's answer, or null. */
    AttemptId asking;
    /** Waiting for its tenant's quota node to admit it. */
    boolean admitting;
    /** Admitted by its tenant's quota node: settled there once answered. */
    boolean granted;

    InFlight(AllocSpec spec, ActorRef<Replies> first) {
      this.spec = spec;
      waiters.add(first);
    }
  }

  /** Timer key of a synchronous purge's ask. */
  private record PurgeTimer(long tag) {}

  private final NodeContext c;
  private final QuotaGate quotas;
  private final Map<RequestKey, InFlight> inFlight = new HashMap<>();
  /** Synchronous purges asked for, by tag: the request that waits for each. */
  private final Map<Long, RequestKey> purgeWaits = new HashMap<>();
  private long nextPurgeTag;

  HomeAllocations(NodeContext c, QuotaGate quotas) {
    this.c = c;
    this.quotas = quotas;
  }

  /** The keyed requests being placed, by id (a key's session): the same id with other parameters is refused meanwhile. */
  private final Map<Long, RequestKey> placingIds = new HashMap<>();

  private void startPlacing(RequestKey id, InFlight f) {
    inFlight.put(id, f);
    if (id.keyed()) placingIds.put(id.session(), id);
  }

  private InFlight stopPlacing(RequestKey id) {
    if (id.keyed()) placingIds.remove(id.session(), id);
    return inFlight.remove(id);
  }

  /** Whether {@code request} is still being placed (walk, spanning, purge wait). */
  boolean isPlacing(RequestKey request) {
    return inFlight.containsKey(request);
  }

  /** An allocation request of a batch from {@code replyTo}, answered now or, if it must wait, later. */
  void onAlloc(AllocRequest m, ActorRef<Replies> replyTo) {
    RequestKey id = m.key();
    Answer first = c.state.answer(id, false);
    if (first != null) {
      c.responses.now(reply(id, first));
      return;
    }
    InFlight running = inFlight.get(id);
    if (running != null) {
      running.waiters.add(replyTo);
      return;
    }
    RequestKey placing = id.keyed() ? placingIds.get(id.session()) : null;
    if (placing != null && !id.sameRequest(placing.seq())) {
      // Its id is being placed for other parameters: refused, not recorded (the first answer will be).
      c.responses.now(new Failed(id, ClientAnswers.REUSED.code(), ClientAnswers.REUSED.reason()));
      return;
    }
    AllocSpec spec;
    try {
      spec = AllocSpec.checked(m.spec(), c.geometry);
    } catch (AllocSpec.Invalid e) {
      c.responses.now(refuse(id, ErrorCode.EINVAL, e.getMessage()));
      return;
    }
    if (quotas.limits(spec)) {
      // Its tenant has a quota: its quota node admits it first (README "Decisions").
      InFlight f = new InFlight(spec, replyTo);
      f.admitting = true;
      startPlacing(id, f);
      quotas.admit(id, spec);
      return;
    }
    Area fit = c.state.findFit(spec);
    if (fit != null) {
      c.state.allocate(fit, id, spec.tenant());
      c.responses.now(new Allocated(id, fit, c.node));
      return;
    }
    if (spec.policy() == Policy.FAIL_FAST) {
      c.responses.now(refuse(id, ErrorCode.EAGAIN, "no fit on home node " + c.node));
      return;
    }
    InFlight f = new InFlight(spec, replyTo);
    startPlacing(id, f);
    walkOn(id, f);
  }

  /**
   * The tenant's quota node answered: place the request as any other, or refuse it ({@code refusal}
   * EDQUOT, or EAGAIN for a fail-fast request that only a purge would make fit).
   */
  void admitted(RequestKey id, ErrorCode refusal, String reason) {
    InFlight f = inFlight.get(id);
    if (f == null || !f.admitting) return;
    f.admitting = false;
    if (refusal != null) {
      stopPlacing(id);
      answerLater(f, refuse(id, refusal, reason == null ? "tenant " + f.spec.tenant() + " is over its quota" : reason));
      return;
    }
    f.granted = true;
    Area fit = c.state.findFit(f.spec);
    if (fit != null) {
      stopPlacing(id);
      c.state.allocate(fit, id, f.spec.tenant());
      answerLater(f, new Allocated(id, fit, c.node));
    } else if (f.spec.policy() == Policy.FAIL_FAST) {
      stopPlacing(id);
      answerLater(f, refuse(id, ErrorCode.EAGAIN, "no fit on home node " + c.node));
    } else {
      walkOn(id, f);
    }
  }

  private ClientProtocol.Reply reply(RequestKey id, Answer first) {
    if (first instanceof Answer.Done d) return new Allocated(id, d.area(), c.geometry.nodeOf(d.area().start()));
    Answer.Failed f = (Answer.Failed) first;
    return new Failed(id, f.code(), f.reason());
  }

  /** A failure changes nothing but is stored, so a retry gets it too, also after a restart. */
  private Failed refuse(RequestKey id, ErrorCode code, String reason) {
    c.state.apply(new NodeEvent.Refused(id, false, code, reason));
    return new Failed(id, code, reason);
  }

  // ------------------------------------------------------------------ the walk

  /** Asks the next neighbour ({@code home+1, home+2, ...}), or moves on to spanning when all were asked. */
  private void walkOn(RequestKey id, InFlight f) {
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
  private void askNeighbour(RequestKey id, InFlight f) {
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
  private void afterSpanning(RequestKey id, InFlight f) {
    if (f.pass > 0) {
      InFlight done = stopPlacing(id);
      answerLater(done, refuse(id, ErrorCode.ENOSPC,
          "no free range of " + Long.toUnsignedString(f.spec.size()) + " bytes aligned to "
              + Long.toUnsignedString(f.spec.align()) + " in "
              + Unsigned.hex(f.spec.lo()) + ":" + Unsigned.hex(f.spec.hi())));
      return;
    }
    long tag = nextPurgeTag++;
    purgeWaits.put(tag, id);
    c.coordinator.tell(new PurgeProtocol.PurgeSync(tag, c.purgesDone));
    // No answer in time counts as done: the retry then finds space or answers ENOSPC.
    c.timers.startSingleTimer(new PurgeTimer(tag), new Internal.PurgeAnswered(tag, null), c.settings.askTimeout());
  }

  void onPurgeAnswered(Internal.PurgeAnswered m) {
    RequestKey id = purgeWaits.remove(m.tag());
    if (id == null) return;
    c.timers.cancel(new PurgeTimer(m.tag()));
    InFlight f = inFlight.get(id);
    if (f == null) return;
    f.pass = 1;
    f.walked = 0;
    Area fit = c.state.findFit(f.spec);
    if (fit != null) {
      stopPlacing(id);
      c.state.allocate(fit, id, f.spec.tenant());
      answerLater(f, new Allocated(id, fit, c.node));
    } else {
      walkOn(id, f);
    }
  }

  // ------------------------------------------------------------------ answers

  /** Another node placed the area: remember it here, where retries of the request arrive. */
  private void placed(RequestKey id, Area area) {
    InFlight f = stopPlacing(id);
    c.state.apply(new NodeEvent.Placed(id, area));
    answerLater(f, new Allocated(id, area, c.geometry.nodeOf(area.start())));
  }

  /** The final answer to a request that waited; an admitted one is settled with its quota node. */
  private void answerLater(InFlight f, ClientProtocol.Reply reply) {
    for (ActorRef<Replies> w : f.waiters) c.responses.later(w, reply);
    if (f.granted) quotas.settle(reply.key(), f.spec.tenant(), reply instanceof Allocated);
  }

  /** The node is stopping after a journal failure: every request still being placed fails. */
  void failAll() {
    for (Map.Entry<RequestKey, InFlight> e : inFlight.entrySet()) {
      Replies reply = new Replies(-1, List.of(new Failed(e.getKey(), ErrorCode.ETIMEDOUT,
          "node " + c.node + " restarting after a journal failure; retry with the same request id")));
      for (ActorRef<Replies> w : e.getValue().waiters) w.tell(reply);
    }
  }
}
