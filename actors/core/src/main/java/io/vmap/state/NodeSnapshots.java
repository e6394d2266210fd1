package io.vmap.state;

import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.FreeShard;
import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The snapshot codec of a {@link NodeState}: writes all its books as a {@link NodeSnapshot} and
 * builds the state a snapshot describes. Apart from the state's event handlers because it touches
 * every book at once and none of the state's rules.
 */
final class NodeSnapshots {

  private NodeSnapshots() {}

  /**
   * Every book but the free space, which a snapshot keeps as entries ({@link NodeState#freeRuns()},
   * {@link CompactSnapshot}): listed block by block, a node of the five-level space would write
   * 26,214,400 blocks. The block lists stay empty.
   */
  static NodeSnapshot of(NodeState st) {
    long[] fs = {};
    long[] fe = {};
    Map<Long, List<Part>> spanning = st.spans.spanningParts();
    List<Long> spanStarts = new ArrayList<>(spanning.keySet());
    List<List<Part>> spanParts = new ArrayList<>();
    for (Long s : spanStarts) spanParts.add(List.copyOf(spanning.get(s)));
    List<RequestKey> clientKeys = new ArrayList<>();
    List<Answer> clientAnswers = new ArrayList<>();
    st.clients.forEach((k, a) -> {
      clientKeys.add(k);
      clientAnswers.add(a);
    });
    return new NodeSnapshot(
        st.node, st.lazy.spliceEpoch(), fs, fe, new ArrayList<>(st.busy.areas()), spanStarts, spanParts,
        new ArrayList<>(st.spans.heldParts()), new ArrayList<>(st.spans.reservations()),
        st.lazy.lazyInFreeOrder(), st.lazy.purging(),
        keys(st.spans.decisions()), values(st.spans.decisions()), clientKeys, clientAnswers,
        keys(st.attempts.entries()), values(st.attempts.entries()),
        keys(st.abandoned.entries()), values(st.abandoned.entries()),
        st.lazy.releaseEpoch(), st.lazy.releasedInEpoch());
  }

  private static <K, V> List<K> keys(Collection<Map.Entry<K, V>> entries) {
    List<K> out = new ArrayList<>(entries.size());
    for (Map.Entry<K, V> e : entries) out.add(e.getKey());
    return out;
  }

  private static <K, V> List<V> values(Collection<Map.Entry<K, V>> entries) {
    List<V> out = new ArrayList<>(entries.size());
    for (Map.Entry<K, V> e : entries) out.add(e.getValue());
    return out;
  }

  /** A snapshot stored before free runs: its free blocks listed, whole zones folded back into runs. */
  static NodeState restore(NodeSnapshot s, Geometry geometry, NodeState.Memory memory) {
    return restore(s, FreeShard.ofBlocks(geometry, s.freeStarts(), s.freeEnds(), s.freeStarts().length), geometry, memory);
  }

  /** A snapshot without block lists and its free space as entries. */
  static NodeState restore(NodeSnapshot s, FreeRuns free, Geometry geometry, NodeState.Memory memory) {
    return restore(s, free.toShard(geometry), geometry, memory);
  }

  private static NodeState restore(NodeSnapshot s, FreeShard shard, Geometry geometry, NodeState.Memory memory) {
    NodeState st = new NodeState(s.node(), geometry, memory, shard);
    for (Area a : s.busy()) st.busy.insert(a);
    st.spans.restore(s);
    st.lazy.restore(s);
    for (int k = 0; k < s.clientKeys().size(); k++) st.clients.record(s.clientKeys().get(k), s.clientAnswers().get(k));
    for (int k = 0; k < s.attemptKeys().size(); k++) st.attempts.put(s.attemptKeys().get(k), s.attemptAnswers().get(k));
    for (int k = 0; k < s.abandonedKeys().size(); k++) st.abandoned.put(s.abandonedKeys().get(k), s.abandoned().get(k));
    st.restoreOwners(Map.of());
    return st;
  }
}
