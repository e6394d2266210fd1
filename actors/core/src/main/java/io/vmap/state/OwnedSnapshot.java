package io.vmap.state;

import io.vmap.space.Geometry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A node's snapshot with the owners of its areas ({@link Ownership}): what the snapshot store keeps
 * once any area belongs to a tenant other than the default one. A node whose areas all belong to
 * the default tenant stores a plain {@link NodeSnapshot}, as before tenants existed, and both are
 * read back ({@link #restore}).
 *
 * @param ownedStarts starts of the areas (busy or unpurged) owned by other tenants; {@code owners}
 *     their tenants, same order
 */
public record OwnedSnapshot(NodeSnapshot state, List<Long> ownedStarts, List<String> owners) {

  /** What to store for {@code s}: a {@link NodeSnapshot}, or an {@link OwnedSnapshot} when it has owners. */
  public static Object of(NodeState s) {
    NodeSnapshot base = s.snapshot();
    Map<Long, String> owners = s.ownership().owners();
    if (owners.isEmpty()) return base;
    List<Long> starts = new ArrayList<>(owners.size());
    List<String> tenants = new ArrayList<>(owners.size());
    owners.forEach((k, v) -> {
      starts.add(k);
      tenants.add(v);
    });
    return new OwnedSnapshot(base, starts, tenants);
  }

  /** The state a stored snapshot ({@link NodeSnapshot} or {@link OwnedSnapshot}) describes. */
  public static NodeState restore(Object stored, Geometry geometry, NodeState.Memory memory) {
    if (stored instanceof NodeSnapshot plain) return NodeState.restore(plain, geometry, memory);
    if (!(stored instanceof OwnedSnapshot o)) {
      throw new IllegalArgumentException("not a vmap node snapshot: " + (stored == null ? "null" : stored.getClass().getName()));
    }
    if (o.ownedStarts().size() != o.owners().size()) {
      throw new IllegalArgumentException("snapshot of node " + o.state().node() + ": " + o.ownedStarts().size()
          + " owned starts but " + o.owners().size() + " owners");
    }
    NodeState st = NodeState.restore(o.state(), geometry, memory);
    Map<Long, String> owners = new HashMap<>();
    for (int i = 0; i < o.ownedStarts().size(); i++) owners.put(o.ownedStarts().get(i), o.owners().get(i));
    st.restoreOwners(owners);
    return st;
  }
}
