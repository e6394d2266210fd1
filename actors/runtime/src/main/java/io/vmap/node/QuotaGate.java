package io.vmap.node;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.QuotaProtocol;
import io.vmap.protocol.QuotaProtocol.Admit;
import io.vmap.protocol.QuotaProtocol.Admitted;
import io.vmap.protocol.QuotaProtocol.Settle;
import io.vmap.protocol.QuotaProtocol.UsageQuery;
import io.vmap.protocol.QuotaProtocol.UsageReport;
import io.vmap.state.AllocSpec;
import io.vmap.state.Quotas;
import io.vmap.state.RequestKey;
import io.vmap.state.TenantUsage;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Tenant quotas on a vmap node (README "Decisions"), both sides of {@link QuotaProtocol}:
 *
 * <ul>
 *   <li>as a home: an allocation of a tenant with a quota is admitted by the tenant's quota node
 *       before it is placed ({@link #admit}); the home is told the verdict ({@link
 *       HomeAllocations#admitted}) and settles the admission once it has answered the request;
 *   <li>as the quota node of the tenants that hash to it: one {@link QuotaLedger} per tenant;
 *   <li>as any node: it reports what a tenant holds here, from its state, once stored.
 * </ul>
 *
 * Tenants without a quota never come here: their allocations cost nothing more.
 */
final class QuotaGate {

  /** The gate's timers; local messages of the node. */
  sealed interface Timer extends NodeMessage.Local {}

  record AdmitTimedOut(RequestKey request) implements Timer {}

  record DrainTimedOut(String tenant) implements Timer {}

  record RefreshTimedOut(String tenant, long query) implements Timer {}

  private final NodeContext c;
  private final Quotas quotas;
  private HomeAllocations home;
  /** Requests of this home waiting for their verdict: the tenant and bytes asked for. */
  private final Map<RequestKey, AllocSpec> admitting = new HashMap<>();
  /** The ledgers of the tenants this node is the quota node of. */
  private final Map<String, QuotaLedger> ledgers = new HashMap<>();
  /** Synchronous purges asked for by ledgers, by (negative) tag. */
  private final Map<Long, String> purges = new HashMap<>();
  private long nextPurgeTag = -1;
  private final long grantLeaseMillis;

  QuotaGate(NodeContext c) {
    this.c = c;
    this.quotas = c.settings.quotas();
    // Longer than any allocation normally takes (a walk, a spanning search, a purge, each bounded
    // by the ask timeout), so a grant is dropped only if its home is gone.
    this.grantLeaseMillis = c.settings.askTimeout().toMillis() * 10;
  }

  void answeringTo(HomeAllocations home) {
    this.home = home;
  }

  /** Whether allocations for {@code spec}'s tenant must be admitted first. */
  boolean limits(AllocSpec spec) {
    return quotas.limits(spec.tenant());
  }

  // ------------------------------------------------------------------ the home's side

  /** Asks the tenant's quota node to admit {@code request}; the verdict goes to {@link HomeAllocations#admitted}. */
  void admit(RequestKey request, AllocSpec spec) {
    admitting.put(request, spec);
    askAdmission(request, spec);
  }

  private void askAdmission(RequestKey request, AllocSpec spec) {
    int q = QuotaProtocol.quotaNode(spec.tenant(), c.geometry.nodes());
    c.peers.node(q).tell(new Admit(spec.tenant(), request, spec.size(), c.node, spec.policy() == io.vmap.state.Policy.FAIL_FAST));
    c.timers.startSingleTimer(new AdmitTimedOut(request), new AdmitTimedOut(request), c.settings.askTimeout());
  }

  void onAdmitted(Admitted m) {
    AllocSpec spec = admitting.remove(m.request());
    // A verdict for a request no longer waiting: a repeat of one already handled (its grant is the
    // same one, settled with the request), or from before this node restarted (it expires).
    if (spec == null) return;
    c.timers.cancel(new AdmitTimedOut(m.request()));
    home.admitted(m.request(), m.refusal(), m.reason());
  }

  /** The home answered a request that was granted: tell its quota node whether it got an area. */
  void settle(RequestKey request, String tenant, boolean placed) {
    int q = QuotaProtocol.quotaNode(tenant, c.geometry.nodes());
    c.peers.node(q).tell(new Settle(tenant, request, placed));
  }

  /** The node is stopping: forget the requests waiting for a verdict. */
  void clear() {
    admitting.clear();
  }

  // ------------------------------------------------------------------ the quota node's side

  void onAdmit(Admit m) {
    if (m.home() < 0 || m.home() >= c.geometry.nodes() || m.tenant() == null || m.request() == null) return;
    if (QuotaProtocol.quotaNode(m.tenant(), c.geometry.nodes()) != c.node) return; // not ours: a bad sender
    if (!quotas.limits(m.tenant())) {
      // Quotas differ between members: ours decides, and it has none for this tenant.
      c.peers.node(m.home()).tell(new Admitted(m.request(), null, null));
      return;
    }
    ledger(m.tenant()).onAdmit(m.request(), m.bytes(), m.home(), m.failFast());
  }

  void onSettle(Settle m) {
    QuotaLedger l = m.tenant() == null ? null : ledgers.get(m.tenant());
    if (l != null) l.onSettle(m.request(), m.placed());
  }

  void onReport(UsageReport m) {
    QuotaLedger l = m.usage() == null ? null : ledgers.get(m.usage().tenant());
    if (l != null) l.onReport(m.query(), m.node(), m.usage());
  }

  void onTimer(Timer t) {
    if (t instanceof AdmitTimedOut a) {
      AllocSpec spec = admitting.get(a.request());
      if (spec != null) askAdmission(a.request(), spec); // the same request: never admitted twice
    } else if (t instanceof DrainTimedOut d) {
      QuotaLedger l = ledgers.get(d.tenant());
      if (l != null) l.onDrainTimeout();
    } else if (t instanceof RefreshTimedOut r) {
      QuotaLedger l = ledgers.get(r.tenant());
      if (l != null) {
        l.onRefreshTimeout(r.query());
        if (l.currentQuery() == r.query() && !l.idle()) {
          c.timers.startSingleTimer(r, r, c.settings.askTimeout());
        }
      }
    }
  }

  /** A synchronous purge a ledger asked for finished (or timed out: {@code done} null). */
  void onPurgeAnswered(Internal.PurgeAnswered m) {
    String tenant = purges.remove(m.tag());
    if (tenant == null) return;
    c.timers.cancel(new PurgeTimer(m.tag()));
    QuotaLedger l = ledgers.get(tenant);
    if (l != null) l.onPurged();
  }

  /** Whether {@code tag} names a purge of this gate (the home's purges have non-negative tags). */
  static boolean isQuotaPurge(long tag) {
    return tag < 0;
  }

  private record PurgeTimer(long tag) {}

  private QuotaLedger ledger(String tenant) {
    return ledgers.computeIfAbsent(tenant, t -> new QuotaLedger(t, quotas.of(t), c.geometry.nodes(), grantLeaseMillis,
        new QuotaLedger.Effects() {
          @Override
          public void verdict(int home, RequestKey request, io.vmap.state.ErrorCode refusal, String reason) {
            c.peers.node(home).tell(new Admitted(request, refusal, reason));
          }

          @Override
          public void queryUsage(String tenant, long query, Set<Integer> nodes) {
            for (int k : nodes) c.peers.node(k).tell(new UsageQuery(tenant, query, c.node));
            RefreshTimedOut r = new RefreshTimedOut(tenant, query);
            c.timers.startSingleTimer(r, r, c.settings.askTimeout());
          }

          @Override
          public void purge(String tenant) {
            long tag = nextPurgeTag--;
            purges.put(tag, tenant);
            c.coordinator.tell(new PurgeProtocol.PurgeSync(tag, c.purgesDone));
            // No answer in time counts as done: the next refresh shows what is left.
            c.timers.startSingleTimer(new PurgeTimer(tag), new Internal.PurgeAnswered(tag, null), c.settings.askTimeout());
          }

          @Override
          public void startDrainTimer(String tenant) {
            DrainTimedOut d = new DrainTimedOut(tenant);
            c.timers.startSingleTimer(d, d, c.settings.askTimeout());
          }

          @Override
          public void cancelDrainTimer(String tenant) {
            c.timers.cancel(new DrainTimedOut(tenant));
          }

          @Override
          public long nowMillis() {
            return System.nanoTime() / 1_000_000;
          }
        }));
  }

  // ------------------------------------------------------------------ every node's side

  /** What the tenant holds here, sent once everything applied so far is stored. */
  void onUsageQuery(UsageQuery m) {
    if (m.tenant() == null || m.asker() < 0 || m.asker() >= c.geometry.nodes()) return;
    TenantUsage u = c.state.ownership().usage(m.tenant());
    UsageReport r = new UsageReport(m.query(), c.node, u);
    c.durability.afterStored(() -> c.peers.node(m.asker()).tell(r));
  }
}
