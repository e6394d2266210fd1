package io.vmap.protocol;

import io.vmap.state.ErrorCode;
import io.vmap.state.RequestKey;
import io.vmap.state.TenantUsage;

/**
 * How vmap nodes keep a tenant within its quota over the whole space (README "Decisions"): every
 * allocation of a tenant with a quota is admitted by the tenant's quota node ({@link
 * #quotaNode}) before its home places it. The quota node knows every admission (they all pass
 * through it); what it does not see, frees and releases on other nodes, only lowers the usage, so
 * its count errs on the safe side, and it asks every node what the tenant holds there (the usage
 * each node derives from its durable state) before it ever refuses.
 *
 * <p>Answers go to nodes by id ({@link NodeDirectory#node}), so they reach a node's next
 * incarnation too.
 */
public final class QuotaProtocol {

  private QuotaProtocol() {}

  /** The node that admits allocations of {@code tenant}: one per tenant, the same on every member. */
  public static int quotaNode(String tenant, int nodes) {
    return Math.floorMod(tenant.hashCode(), nodes);
  }

  /** A message of the quota protocol, to a vmap node. */
  public sealed interface Command extends NodeMessage permits Admit, Admitted, Settle, UsageQuery, UsageReport {}

  /**
   * A home asks the tenant's quota node to admit one allocation of {@code bytes} (one more area).
   * Asked again, with the same request, until answered: a repeat is answered again, never counted
   * twice. {@code failFast}: the request's policy is fail-fast, so no synchronous purge for it.
   */
  public record Admit(String tenant, RequestKey request, long bytes, int home, boolean failFast) implements Command {}

  /**
   * The quota node's answer to {@link Admit}, to the home: granted ({@code refusal} null), or
   * refused: EDQUOT, or EAGAIN for a fail-fast request that only a purge would make fit.
   */
  public record Admitted(RequestKey request, ErrorCode refusal, String reason) implements Command {
    public boolean granted() {
      return refusal == null;
    }
  }

  /** The home answered a granted request: {@code placed} whether it got an area. */
  public record Settle(String tenant, RequestKey request, boolean placed) implements Command {}

  /** The quota node asks what {@code tenant} holds on the receiving node; {@code query} is echoed. */
  public record UsageQuery(String tenant, long query, int asker) implements Command {}

  /** What {@code usage.tenant()} holds on {@code node} (busy and lazily freed areas), once stored. */
  public record UsageReport(long query, int node, TenantUsage usage) implements Command {}
}
