package io.vmap.node;

import io.vmap.state.ErrorCode;
import io.vmap.state.Quota;
import io.vmap.state.RequestKey;
import io.vmap.state.TenantUsage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One tenant's quota on its quota node: which allocations to admit. Plain logic; the node's {@link
 * QuotaGate} carries its messages and timers ({@link Effects}).
 *
 * <p>The ledger counts an upper bound of what the tenant holds: the usage every node reported at
 * the last refresh ({@code base}), plus every admission since, pending ({@code grants}) or settled
 * with an area ({@code settled}). It sees every admission of the tenant, so nothing is missed; it
 * does not see frees and releases, which only lower the true usage. So while the bound plus a new
 * area stays within the quota, an admission is granted at once, without a message to anyone.
 *
 * <p>Otherwise the ledger decides exactly, before it refuses: it queues the request (and every
 * later one, in order), waits until no grant is pending (each settles when its home answers; at
 * most {@code drainTimeout}, after which the pending ones stay counted), asks every node what the
 * tenant holds there ({@code refresh}: the usage each node derives from its stored areas, live and
 * lazily freed), and then goes through the queue. A request that fits is granted; one that fits
 * only without the tenant's lazily freed areas first waits for a synchronous purge and one more
 * refresh (once per round, as for ENOSPC), unless it is fail-fast (EAGAIN: the caller falls back
 * to the normal policy, the kvmalloc lesson); the others are refused with EDQUOT.
 *
 * <p>What it can miss: a grant whose home never settles is dropped after {@code grantLease} (the
 * home died, or took longer than that to place the area); if that area is placed after the next
 * refresh it is not counted. A new quota node (the old one's member died) starts from a refresh,
 * and an area admitted by its predecessor and placed after that refresh is not counted either. So
 * a tenant can exceed its quota by at most the allocations in flight when its quota node stopped,
 * or held longer than the grant lease.
 */
final class QuotaLedger {

  /** What the ledger asks its node to do. */
  interface Effects {
    /** Answer {@code request}'s home: granted ({@code refusal} null), or refused with that code. */
    void verdict(int home, RequestKey request, ErrorCode refusal, String reason);

    /** Ask every node what {@code tenant} holds; answers come to {@link #onReport} with {@code query}. */
    void queryUsage(String tenant, long query, Set<Integer> nodes);

    /** Run a synchronous purge; answer with {@link #onPurged}. */
    void purge(String tenant);

    /** Call {@link #onDrainTimeout} after the drain timeout, unless cancelled. */
    void startDrainTimer(String tenant);

    void cancelDrainTimer(String tenant);

    /** Monotonic time in milliseconds. */
    long nowMillis();
  }

  private enum Phase { NORMAL, DRAINING, REFRESHING, PURGING }

  private record Grant(long bytes, int home, long at) {}

  private record Waiting(RequestKey request, long bytes, int home, boolean failFast) {}

  private final String tenant;
  private final Quota quota;
  private final int nodes;
  private final long grantLeaseMillis;
  private final Effects fx;

  private Phase phase = Phase.NORMAL;
  /** Whether {@link #base} holds a refresh's result (false until the first). */
  private boolean known;
  private TenantUsage base;
  private long settledBytes;
  private long settledAreas;
  private final Map<RequestKey, Grant> grants = new LinkedHashMap<>();
  private final ArrayDeque<Waiting> queue = new ArrayDeque<>();
  /** Whether this round of decisions purged already (one synchronous purge per round). */
  private boolean purged;
  private long query;
  private final Set<Integer> awaiting = new HashSet<>();
  private TenantUsage sum;

  QuotaLedger(String tenant, Quota quota, int nodes, long grantLeaseMillis, Effects fx) {
    this.tenant = tenant;
    this.quota = quota;
    this.nodes = nodes;
    this.grantLeaseMillis = grantLeaseMillis;
    this.fx = fx;
    this.base = TenantUsage.none(tenant);
  }

  /** A home asks to place one more area of {@code bytes}. */
  void onAdmit(RequestKey request, long bytes, int home) {
    onAdmit(request, bytes, home, false);
  }

  /** As above; {@code failFast}: never purge for it. */
  void onAdmit(RequestKey request, long bytes, int home, boolean failFast) {
    if (grants.containsKey(request)) {
      fx.verdict(home, request, null, null); // a repeat: the first answer was lost
      return;
    }
    for (Waiting w : queue) if (w.request().equals(request)) return; // answered when decided
    expireGrants();
    if (phase == Phase.NORMAL && known && queue.isEmpty() && fits(bytes, false)) {
      grant(request, bytes, home);
      return;
    }
    queue.add(new Waiting(request, bytes, home, failFast));
    if (phase == Phase.NORMAL) drain();
  }

  /** The home answered a granted request. */
  void onSettle(RequestKey request, boolean placed) {
    Grant g = grants.remove(request);
    if (g == null) return;
    if (placed) {
      settledBytes += g.bytes();
      settledAreas++;
    }
    if (phase == Phase.DRAINING && grants.isEmpty()) {
      fx.cancelDrainTimer(tenant);
      refresh();
    }
  }

  /** Grants still pending after the drain timeout stay counted; decide anyway. */
  void onDrainTimeout() {
    if (phase == Phase.DRAINING) refresh();
  }

  /** A node's answer to the refresh {@code q}. */
  void onReport(long q, int node, TenantUsage usage) {
    if (phase != Phase.REFRESHING || q != query || !awaiting.remove(node)) return;
    sum = sum.plus(new TenantUsage(tenant, usage.liveBytes(), usage.liveAreas(), usage.lazyBytes(), usage.lazyAreas()));
    if (!awaiting.isEmpty()) return;
    base = sum;
    known = true;
    decide();
  }

  /** No answer from some nodes in time: ask them again. */
  void onRefreshTimeout(long q) {
    if (phase == Phase.REFRESHING && q == query && !awaiting.isEmpty()) fx.queryUsage(tenant, query, Set.copyOf(awaiting));
  }

  /** The synchronous purge finished (or timed out): count again. */
  void onPurged() {
    if (phase == Phase.PURGING) drain();
  }

  /** What the ledger counts now: the last refresh plus every admission since (for info and tests). */
  TenantUsage counted() {
    long pendingBytes = 0;
    for (Grant g : grants.values()) pendingBytes += g.bytes();
    return new TenantUsage(tenant, base.liveBytes() + settledBytes + pendingBytes, base.liveAreas() + settledAreas + grants.size(),
        base.lazyBytes(), base.lazyAreas());
  }

  boolean idle() {
    return phase == Phase.NORMAL && queue.isEmpty();
  }

  long currentQuery() {
    return query;
  }

  // ------------------------------------------------------------------ the decision

  private void drain() {
    phase = Phase.DRAINING;
    expireGrants();
    if (grants.isEmpty()) {
      refresh();
    } else {
      fx.startDrainTimer(tenant);
    }
  }

  private void refresh() {
    phase = Phase.REFRESHING;
    query++;
    settledBytes = 0;
    settledAreas = 0;
    sum = TenantUsage.none(tenant);
    awaiting.clear();
    for (int k = 0; k < nodes; k++) awaiting.add(k);
    fx.queryUsage(tenant, query, Set.copyOf(awaiting));
  }

  private void decide() {
    phase = Phase.NORMAL;
    List<Waiting> todo = new ArrayList<>(queue);
    queue.clear();
    for (int i = 0; i < todo.size(); i++) {
      Waiting w = todo.get(i);
      if (fits(w.bytes(), false)) {
        grant(w.request(), w.bytes(), w.home());
      } else if (w.failFast() && base.lazyAreas() > 0 && fits(w.bytes(), true)) {
        fx.verdict(w.home(), w.request(), ErrorCode.EAGAIN, "tenant " + tenant + " fits its quota only once its lazily"
            + " freed areas are purged, which a fail-fast request does not wait for: retry with the normal policy");
      } else if (!purged && base.lazyAreas() > 0 && fits(w.bytes(), true)) {
        // Over only because of lazily freed areas: purge them, then count again (DESIGN.md "Tenants").
        purged = true;
        queue.addAll(todo.subList(i, todo.size()));
        phase = Phase.PURGING;
        fx.purge(tenant);
        return;
      } else {
        fx.verdict(w.home(), w.request(), ErrorCode.EDQUOT, refusal(w.bytes()));
      }
    }
    purged = false;
  }

  /** Whether one more area of {@code bytes} fits the quota, over the counted usage (without lazily freed areas). */
  private boolean fits(long bytes, boolean withoutLazy) {
    TenantUsage c = counted();
    long usedBytes = withoutLazy ? c.liveBytes() : c.bytes();
    long usedAreas = withoutLazy ? c.liveAreas() : c.areas();
    return quota.admits(usedBytes, usedAreas, bytes);
  }

  private void grant(RequestKey request, long bytes, int home) {
    grants.put(request, new Grant(bytes, home, fx.nowMillis()));
    fx.verdict(home, request, null, null);
  }

  private void expireGrants() {
    if (grants.isEmpty()) return;
    long now = fx.nowMillis();
    grants.values().removeIf(g -> now - g.at() > grantLeaseMillis);
  }

  private String refusal(long bytes) {
    TenantUsage c = counted();
    return "tenant " + tenant + " is over its quota (" + quota.describe() + "): it holds " + c.bytes() + " bytes in "
        + c.areas() + " areas (" + c.lazyBytes() + " bytes in " + c.lazyAreas()
        + " areas freed lazily, not purged yet) and asks for " + Long.toUnsignedString(bytes) + " more bytes";
  }
}
