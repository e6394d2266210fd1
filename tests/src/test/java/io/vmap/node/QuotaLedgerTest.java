package io.vmap.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.state.ErrorCode;
import io.vmap.state.Quota;
import io.vmap.state.RequestKey;
import io.vmap.state.TenantUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A tenant's quota ledger on its quota node, as plain logic (its effects recorded): it grants what
 * fits its upper bound at once, never refuses without first asking every node what the tenant
 * holds, waits for pending grants before counting, purges when lazily freed areas are all that is
 * over, and drops a grant only after its lease.
 */
class QuotaLedgerTest {

  static final int NODES = 3;
  static final String T = "storage-a";

  record Verdict(int home, RequestKey request, ErrorCode refusal, String reason) {
    boolean granted() {
      return refusal == null;
    }
  }

  /** Records what the ledger asks its node to do. */
  static final class Fx implements QuotaLedger.Effects {
    final List<Verdict> verdicts = new ArrayList<>();
    final List<Long> queries = new ArrayList<>();
    int purges;
    int drainTimers;
    long now;

    @Override
    public void verdict(int home, RequestKey request, ErrorCode refusal, String reason) {
      verdicts.add(new Verdict(home, request, refusal, reason));
    }

    @Override
    public void queryUsage(String tenant, long query, Set<Integer> nodes) {
      queries.add(query);
    }

    @Override
    public void purge(String tenant) {
      purges++;
    }

    @Override
    public void startDrainTimer(String tenant) {
      drainTimers++;
    }

    @Override
    public void cancelDrainTimer(String tenant) {}

    @Override
    public long nowMillis() {
      return now;
    }

    Verdict last() {
      return verdicts.get(verdicts.size() - 1);
    }
  }

  static RequestKey r(int i) {
    return new RequestKey(7, i);
  }

  /** Every node answers the ledger's latest query with what the tenant holds there. */
  static void report(QuotaLedger l, Fx fx, TenantUsage... perNode) {
    long q = fx.queries.get(fx.queries.size() - 1);
    for (int k = 0; k < perNode.length; k++) l.onReport(q, k, perNode[k]);
  }

  static TenantUsage held(long liveBytes, long liveAreas, long lazyBytes, long lazyAreas) {
    return new TenantUsage(T, liveBytes, liveAreas, lazyBytes, lazyAreas);
  }

  static final TenantUsage NONE = TenantUsage.none(T);

  @Test
  void theFirstAdmissionCountsEveryNodeThenAdmissionsThatFitAreGrantedWithoutMessages() {
    Fx fx = new Fx();
    QuotaLedger l = new QuotaLedger(T, new Quota(Quota.UNLIMITED, 3), NODES, 60_000, fx);
    l.onAdmit(r(1), 4096, 0);
    assertEquals(1, fx.queries.size(), "a new quota node asks every node first");
    assertTrue(fx.verdicts.isEmpty());
    report(l, fx, held(4096, 1, 0, 0), NONE, NONE);
    assertEquals(new Verdict(0, r(1), null, null), fx.last());
    l.onAdmit(r(2), 4096, 1);
    assertEquals(new Verdict(1, r(2), null, null), fx.last());
    assertEquals(1, fx.queries.size(), "within the bound: no refresh");
    // A repeat of an admitted request (its answer was lost) is answered again, counted once.
    l.onAdmit(r(2), 4096, 1);
    assertEquals(new Verdict(1, r(2), null, null), fx.last());
    assertEquals(new TenantUsage(T, 3 * 4096, 3, 0, 0), l.counted());
  }

  @Test
  void overTheBoundItCountsAgainAndRefusesOnlyWhatTheFreshCountDoesNotAdmit() {
    Fx fx = new Fx();
    QuotaLedger l = new QuotaLedger(T, new Quota(Quota.UNLIMITED, 2), NODES, 60_000, fx);
    l.onAdmit(r(1), 4096, 0);
    report(l, fx, NONE, NONE, NONE);
    l.onAdmit(r(2), 4096, 0);
    l.onSettle(r(1), true);
    l.onSettle(r(2), true);
    assertEquals(2, fx.verdicts.size());
    // Over the bound: the ledger does not refuse from its count, it asks again...
    l.onAdmit(r(3), 4096, 2);
    assertEquals(2, fx.queries.size());
    assertEquals(2, fx.verdicts.size());
    // ...and a request arriving meanwhile waits behind it, in order.
    l.onAdmit(r(4), 4096, 1);
    // Meanwhile area 1 was freed and purged on node 0: one area is left.
    report(l, fx, NONE, held(4096, 1, 0, 0), NONE);
    assertEquals(new Verdict(2, r(3), null, null), fx.verdicts.get(2));
    Verdict refused = fx.verdicts.get(3);
    assertEquals(r(4), refused.request());
    assertFalse(refused.granted());
    assertTrue(refused.reason().contains("tenant storage-a is over its quota (max-bytes unlimited, max-areas 2)"),
        refused.reason());
    assertTrue(l.idle());
  }

  @Test
  void itWaitsForPendingGrantsBeforeCountingSoNothingIsCountedTwice() {
    Fx fx = new Fx();
    QuotaLedger l = new QuotaLedger(T, new Quota(3 * 4096, Quota.UNLIMITED), NODES, 60_000, fx);
    l.onAdmit(r(1), 4096, 0);
    report(l, fx, NONE, NONE, NONE);
    l.onAdmit(r(2), 8192, 0);            // pending: its home is still placing it
    l.onAdmit(r(3), 4096, 1);            // over the bound: wait for r(2) to settle
    assertEquals(1, fx.queries.size());
    assertEquals(1, fx.drainTimers);
    l.onSettle(r(1), true);
    assertEquals(1, fx.queries.size(), "r(2) is still pending");
    l.onSettle(r(2), false);             // its allocation failed (ENOSPC): nothing placed
    assertEquals(2, fx.queries.size());
    report(l, fx, held(4096, 1, 0, 0), NONE, NONE);
    assertEquals(new Verdict(1, r(3), null, null), fx.last());
  }

  @Test
  void overOnlyBecauseOfLazilyFreedAreasItPurgesFirst() {
    Fx fx = new Fx();
    QuotaLedger l = new QuotaLedger(T, new Quota(Quota.UNLIMITED, 2), NODES, 60_000, fx);
    l.onAdmit(r(1), 4096, 0);
    // Two areas, one freed lazily: the new area fits only once the lazy one is released.
    report(l, fx, held(4096, 1, 4096, 1), NONE, NONE);
    assertEquals(1, fx.purges);
    assertTrue(fx.verdicts.isEmpty());
    l.onPurged();
    assertEquals(2, fx.queries.size(), "counted again after the purge");
    report(l, fx, held(4096, 1, 0, 0), NONE, NONE);
    assertEquals(new Verdict(0, r(1), null, null), fx.last());

    // Still over after the purge (a subscriber holds the epoch): refused, and no second purge.
    l.onAdmit(r(2), 4096, 0);
    l.onSettle(r(1), true);
    l.onAdmit(r(3), 4096, 0);
    report(l, fx, held(4096, 1, 4096, 1), NONE, NONE);
    assertEquals(2, fx.purges);
    l.onPurged();
    report(l, fx, held(4096, 1, 4096, 1), NONE, NONE);
    assertEquals(2, fx.purges);
    assertFalse(fx.last().granted());
    assertEquals(r(3), fx.last().request());
  }

  @Test
  void aLostSettleDelaysTheCountOnlyUntilTheDrainTimeoutAndAGrantExpiresAfterItsLease() {
    Fx fx = new Fx();
    QuotaLedger l = new QuotaLedger(T, new Quota(Quota.UNLIMITED, 2), NODES, 10_000, fx);
    l.onAdmit(r(1), 4096, 0);
    report(l, fx, NONE, NONE, NONE);
    l.onAdmit(r(2), 4096, 0);            // both pending; their settles are lost
    l.onAdmit(r(3), 4096, 0);
    assertEquals(1, fx.queries.size());
    l.onDrainTimeout();                  // count anyway, the pending grants still counted
    report(l, fx, held(8192, 2, 0, 0), NONE, NONE);
    assertFalse(fx.last().granted(), "2 areas held + 2 pending: no room");
    // A lease later the pending grants are dropped: only what the nodes hold counts.
    fx.now = 10_001;
    l.onAdmit(r(4), 4096, 0);
    assertEquals(3, fx.queries.size());
    report(l, fx, held(4096, 1, 0, 0), NONE, NONE);
    assertEquals(new Verdict(0, r(4), null, null), fx.last());
  }

  @Test
  void aFailFastRequestIsNotWorthAPurge() {
    Fx fx = new Fx();
    QuotaLedger l = new QuotaLedger(T, new Quota(Quota.UNLIMITED, 1), NODES, 60_000, fx);
    l.onAdmit(r(1), 4096, 0, true);
    report(l, fx, held(0, 0, 4096, 1), NONE, NONE);
    assertEquals(0, fx.purges);
    assertEquals(ErrorCode.EAGAIN, fx.last().refusal());
    assertTrue(fx.last().reason().contains("retry with the normal policy"), fx.last().reason());
    // The normal policy purges, and then fits.
    l.onAdmit(r(2), 4096, 0, false);
    report(l, fx, held(0, 0, 4096, 1), NONE, NONE);
    assertEquals(1, fx.purges);
    l.onPurged();
    report(l, fx, NONE, NONE, NONE);
    assertEquals(new Verdict(0, r(2), null, null), fx.last());
  }

  @Test
  void anAnswerToAnOldQueryIsIgnored() {
    Fx fx = new Fx();
    QuotaLedger l = new QuotaLedger(T, new Quota(Quota.UNLIMITED, 1), NODES, 60_000, fx);
    l.onAdmit(r(1), 4096, 0);
    long first = fx.queries.get(0);
    l.onReport(first, 0, NONE);
    l.onReport(first, 0, held(4096, 1, 0, 0)); // a duplicate of node 0's answer: not counted twice
    l.onReport(first + 1, 1, NONE);            // not this query
    assertTrue(fx.verdicts.isEmpty());
    l.onReport(first, 1, NONE);
    l.onReport(first, 2, NONE);
    assertEquals(new Verdict(0, r(1), null, null), fx.last());
  }
}
