package io.vmap.node;

import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.GetInfo;
import io.vmap.protocol.ClientProtocol.Inspect;
import io.vmap.protocol.ClientProtocol.NodeInfo;
import io.vmap.protocol.ClientProtocol.NodeReport;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.state.LazyArea;
import io.vmap.state.NodeState;
import io.vmap.state.Part;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What a node shows of itself: its counters and areas for {@code info}, its books for an fsck. */
final class Inspection {

  private final NodeContext c;
  private final SpanParticipant spans;

  Inspection(NodeContext c, SpanParticipant spans) {
    this.c = c;
    this.spans = spans;
  }

  void onGetInfo(GetInfo m) {
    NodeState s = c.state;
    m.replyTo().tell(new NodeInfo(c.node, new ArrayList<>(s.busyAreas()), s.lazy().unpurged(), s.freeBytes(), s.freeBlocks(),
        s.largestFreeBlock(), s.spans().reservationCount(), s.spans().reservedBytes(), s.spans().heldParts().size(), s.ownership().owners(),
        s.ownership().usages()));
  }

  void onGetTenants(ClientProtocol.GetTenants m) {
    m.replyTo().tell(new ClientProtocol.TenantsHere(c.node, c.state.ownership().usages()));
  }

  void onInspect(Inspect m) {
    NodeState s = c.state;
    // Entries, not blocks: a run of untouched zones stays one entry (hundreds of millions of zones
    // in the five-level space would not fit a message, nor the heap, one block each).
    FreeRuns free = s.freeRuns();
    long[][] plain = free.plainBlocks();
    List<LazyArea> spanning = new ArrayList<>();
    for (Map.Entry<Long, List<Part>> e : s.spans().spanningParts().entrySet()) {
      Area a = s.busyAt(e.getKey());
      if (a != null) spanning.add(new LazyArea(a, c.node, List.copyOf(e.getValue())));
    }
    m.replyTo().tell(new NodeReport(c.node, plain[0], plain[1], new ArrayList<>(s.busyAreas()), spanning,
        s.lazy().unpurged(), new ArrayList<>(s.spans().heldParts()), spans.ages(), free.runsOnly(), s.ownership().owners()));
  }
}
