package io.vmap.state;

import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A node's snapshot with the owners of its areas ({@link Ownership}) and its free blocks listed one
 * by one: what the snapshot store kept, before free runs, once any area belonged to a tenant other
 * than the default one (a plain {@link NodeSnapshot} otherwise). Now only read: {@link #of} stores a
 * {@link CompactSnapshot}, and {@link #restore} reads all three.
 *
 * @param ownedStarts starts of the areas (busy or unpurged) owned by other tenants; {@code owners}
 *     their tenants, same order
 */
public record OwnedSnapshot(NodeSnapshot state, List<Long> ownedStarts, List<String> owners) {

  /**
   * What to store for {@code s}: a {@link CompactSnapshot}, its free space as entries (a run of
   * untouched zones is one), so its size follows the node's live areas, not its zones.
   */
  public static Object of(NodeState s) {
    Map<Long, String> owners = s.ownership().owners();
    List<Long> starts = new ArrayList<>(owners.size());
    List<String> tenants = new ArrayList<>(owners.size());
    owners.forEach((k, v) -> {
      starts.add(k);
      tenants.add(v);
    });
    return new CompactSnapshot(s.snapshot(), s.freeRuns(), starts, tenants);
  }

  /**
   * The state a stored snapshot describes: a {@link CompactSnapshot}, or one stored before free runs
   * ({@link NodeSnapshot} or {@link OwnedSnapshot}, free blocks one by one).
   */
  public static NodeState restore(Object stored, Geometry geometry, NodeState.Memory memory) {
    if (stored instanceof NodeSnapshot plain) return NodeState.restore(plain, geometry, memory);
    if (stored instanceof CompactSnapshot c) {
      if (c.state().freeStarts().length != 0) {
        throw new IllegalArgumentException("snapshot of node " + c.state().node() + ": free space given twice, "
            + c.state().freeStarts().length + " blocks besides " + c.free());
      }
      NodeState st = NodeState.restore(c.state(), c.free(), geometry, memory);
      st.restoreOwners(owners(c.state().node(), c.ownedStarts(), c.owners()));
      return st;
    }
    if (!(stored instanceof OwnedSnapshot o)) {
      throw new IllegalArgumentException("not a vmap node snapshot: " + (stored == null ? "null" : stored.getClass().getName()));
    }
    NodeState st = NodeState.restore(o.state(), geometry, memory);
    st.restoreOwners(owners(o.state().node(), o.ownedStarts(), o.owners()));
    return st;
  }

  private static Map<Long, String> owners(int node, List<Long> starts, List<String> tenants) {
    if (starts.size() != tenants.size()) {
      throw new IllegalArgumentException("snapshot of node " + node + ": " + starts.size()
          + " owned starts but " + tenants.size() + " owners");
    }
    Map<Long, String> owners = new HashMap<>();
    for (int i = 0; i < starts.size(); i++) owners.put(starts.get(i), tenants.get(i));
    return owners;
  }
}
