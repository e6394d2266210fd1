package io.vmap.state;

/**
 * One try of a home node's request on a neighbour's shard (the walk of DESIGN.md "Allocation").
 * The home asks the same neighbour under the same id until it answers, so a lost answer returns
 * the first outcome instead of placing a second area.
 *
 * @param pass 0 before the synchronous purge, 1 after
 * @param target the neighbour asked
 */
public record AttemptId(RequestKey request, int pass, int home, int target) implements PlacementId {
  public AttemptId {
    if (request == null) throw new IllegalArgumentException("attempt without a request");
    if (pass < 0 || pass > 1) throw new IllegalArgumentException("pass " + pass + " is not 0 or 1");
    if (home < 0 || target < 0) throw new IllegalArgumentException("home " + home + " or target " + target + " is negative");
  }

  @Override
  public String toString() {
    return request + "/" + pass + "@" + home + ">" + target;
  }
}
