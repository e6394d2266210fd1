package io.vmap.node;

import io.vmap.protocol.PeerProtocol.AllocHere;
import io.vmap.protocol.PeerProtocol.AttemptFailed;
import io.vmap.protocol.PeerProtocol.AttemptPlaced;
import io.vmap.protocol.PeerProtocol.AttemptReply;
import io.vmap.space.Area;
import io.vmap.state.AllocSpec;
import io.vmap.state.Answer;
import io.vmap.state.AttemptId;
import io.vmap.state.ErrorCode;
import io.vmap.state.NodeEvent;

/**
 * This node as a neighbour in another home's walk: it tries its own shard only. Every outcome,
 * success or failure, is stored by attempt id: the home asks again after a lost answer, and a
 * duplicate or late copy of an attempt the home has moved on from must not place an area nobody
 * will claim.
 */
final class NeighbourAttempts {

  private final NodeContext c;
  private final Placements placements;

  NeighbourAttempts(NodeContext c, Placements placements) {
    this.c = c;
    this.placements = placements;
  }

  void onAllocHere(AllocHere m) {
    AttemptId attempt = m.attempt();
    Answer first = c.state.answer(attempt, false);
    if (first != null) {
      AttemptReply reply;
      if (first instanceof Answer.Done s) {
        // Freed since (its client freed it, or its home did not keep it): never hand it out again.
        reply = s.area().equals(c.state.busyAt(s.area().start()))
            ? new AttemptPlaced(attempt, s.area(), c.node)
            : new AttemptFailed(attempt, ErrorCode.ENOSPC, "attempt " + attempt + " is over");
      } else {
        Answer.Failed f = (Answer.Failed) first;
        reply = new AttemptFailed(attempt, f.code(), f.reason());
      }
      c.durability.afterStored(() -> m.replyTo().tell(reply));
      return;
    }
    AllocSpec spec;
    try {
      spec = AllocSpec.checked(m.spec(), c.geometry);
    } catch (AllocSpec.Invalid e) {
      m.replyTo().tell(new AttemptFailed(attempt, ErrorCode.EINVAL, e.getMessage()));
      return;
    }
    Area fit = c.state.findFit(spec);
    if (fit == null) {
      // Stored: the home moves on after it, so a duplicate or late copy of this attempt, even after
      // a restart of this node, must not place an area the home will never claim.
      String reason = "no fit on node " + c.node;
      c.state.apply(new NodeEvent.Refused(attempt, false, ErrorCode.ENOSPC, reason));
      c.durability.afterStored(() -> m.replyTo().tell(new AttemptFailed(attempt, ErrorCode.ENOSPC, reason)));
      return;
    }
    c.state.allocate(fit, attempt, spec.tenant());
    c.durability.afterStored(
        () -> m.replyTo().tell(new AttemptPlaced(attempt, fit, c.node)),
        () -> m.replyTo().tell(new AttemptFailed(attempt, ErrorCode.ETIMEDOUT, Responses.JOURNAL_FAILED)));
    if (attempt.home() != c.node) placements.placed(attempt, fit);
  }
}
