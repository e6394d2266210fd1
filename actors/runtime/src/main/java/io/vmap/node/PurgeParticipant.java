package io.vmap.node;

import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.PurgeProtocol.ReleasePieces;
import io.vmap.protocol.PurgeProtocol.ReportUnreleased;
import io.vmap.protocol.PurgeProtocol.SpliceLazy;
import io.vmap.space.Area;
import io.vmap.state.HeldPart;
import io.vmap.state.LazyArea;
import io.vmap.state.LazyBook;
import io.vmap.state.NodeEvent;
import io.vmap.state.NodeState;
import io.vmap.state.ReleasePiece;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * This node's part in a purge epoch (DESIGN.md "Free, lazy purge and flush"): it hands its lazy
 * list over at the splice, merges flushed pieces back into its shard batch by batch, and tells a
 * new coordinator what an interrupted epoch left unreleased.
 */
final class PurgeParticipant {

  private final NodeContext c;
  private final SpanParticipant spans;

  PurgeParticipant(NodeContext c, SpanParticipant spans) {
    this.c = c;
    this.spans = spans;
  }

  void onSplice(SpliceLazy m) {
    NodeState state = c.state;
    if (m.epoch() <= state.lazy().spliceEpoch()) {
      // A repeated request (the coordinator resends until it has every node's answer, or a
      // duplicate): the splice happened already; answer with what it handed over and is not
      // released yet, without splicing later frees into an epoch that may be flushing already.
      PurgeProtocol.Spliced again = new PurgeProtocol.Spliced(m.epoch(), c.node, state.lazy().purging());
      c.durability.afterStored(() -> m.replyTo().tell(again));
      return;
    }
    // O(1): the lazy list itself (plus what an earlier epoch left unreleased), never touched again
    // here, goes to the coordinator.
    List<LazyArea> handed = state.apply(new NodeEvent.LazySpliced(m.epoch()));
    PurgeProtocol.Spliced reply = new PurgeProtocol.Spliced(m.epoch(), c.node, handed);
    c.durability.afterStored(() -> m.replyTo().tell(reply));
  }

  void onRelease(ReleasePieces m) {
    // Pieces name areas by address only, and an address is reused as soon as its area is released.
    // So a late copy of a release (a resend, a duplicate) must not release whatever lies there now:
    //  - a release of an older epoch than the last splice is stale: its pieces were released (the
    //    coordinator starts an epoch only after every batch of the previous one was answered);
    //  - within an epoch, each piece is released once (a newer area may sit there by now): the node's
    //    state remembers the pieces of the epoch it last released in, also across a restart;
    //  - of the epoch this node spliced last, only areas it handed over (purging) are released,
    //    never one freed after the splice (it has not been flushed).
    long spliced = c.state.lazy().spliceEpoch();
    List<ReleasePiece> pieces;
    if (m.epoch() < spliced) {
      pieces = List.of();
    } else {
      LazyBook lazy = c.state.lazy();
      long epoch = m.epoch();
      boolean identified = m.areas() != null && m.areas().size() == m.pieces().size();
      // Parts still reserved here (a lost CommitPart) become held parts first.
      spans.commitReservedPieces(m.pieces(), identified ? m.areas() : null, p -> lazy.releasedInEpoch(epoch, p));
      pieces = new ArrayList<>(m.pieces().size());
      Set<ReleasePiece> inBatch = new HashSet<>(); // a piece named twice in one batch is released once
      for (int i = 0; i < m.pieces().size(); i++) {
        ReleasePiece p = m.pieces().get(i);
        boolean own = p.start() == p.areaStart();
        // An own area of the epoch spliced last is released at most once by the purging map alone
        // (the state records only the other pieces: NodeState.apply(PiecesReleased)).
        boolean byPurgingMap = own && m.epoch() == spliced;
        // One lookup serves both checks below: a release batch is memory-bound on these maps.
        LazyArea purging = own ? lazy.purgingAt(p.areaStart()) : null;
        if (byPurgingMap && purging == null) continue;
        if (!byPurgingMap && (lazy.releasedInEpoch(epoch, p) || !inBatch.add(p))) continue;
        // The area there now must be the one released (a newer area may lie at the same address).
        if (identified
            && !m.areas().get(i).equals(purging != null ? purging.area() : areaAt(p.start(), own))) {
          continue;
        }
        pieces.add(p);
      }
    }
    NodeState.Released r =
        pieces.isEmpty()
            ? new NodeState.Released(0, 0)
            : c.state.apply(new NodeEvent.PiecesReleased(m.epoch(), pieces));
    PurgeProtocol.Released reply = new PurgeProtocol.Released(m.epoch(), c.node, r.areas(), r.bytes(), m.batch());
    c.durability.afterStored(() -> m.replyTo().tell(reply));
  }

  /** The area whose unreleased piece starts at {@code start}: own (purging or lazy) or held. */
  private Area areaAt(long start, boolean own) {
    if (own) {
      LazyArea la = c.state.lazy().unreleasedAt(start);
      return la == null ? null : la.area();
    }
    HeldPart h = c.state.spans().heldAt(start);
    return h == null ? null : h.area();
  }

  void onReportUnreleased(ReportUnreleased m) {
    PurgeProtocol.Unreleased reply =
        new PurgeProtocol.Unreleased(c.node, c.state.lazy().spliceEpoch(), c.state.lazy().purging(), c.state.lazy().unpurgedPages());
    c.durability.afterStored(() -> m.replyTo().tell(reply));
  }
}
