package io.vmap.node;

import io.vmap.state.NodeState;
import io.vmap.state.Quotas;
import java.time.Duration;

/**
 * Tuning of a vmap node, from {@code vmap.node} and {@code vmap.spanning} in reference.conf.
 *
 * @param dedupWindow the hard cap on the sequence numbers of one client session whose answers a node
 *     keeps (a power of two, at least the client's largest batch): a node keeps every answer its
 *     client still waits for (at or above the floor the client acknowledges with each batch) up to
 *     this many behind the session's latest; a retry older than that is refused with ESTALE
 * @param dedupSessions client sessions a node remembers (and as many retired ones, whose old
 *     requests it refuses), least recently used retired first
 * @param dedupCapacity answers to caller-chosen request ids (and to requests answered after their
 *     session's window moved on) a node remembers, oldest forgotten first
 * @param decisionCapacity spanning commit decisions (and neighbour attempts) remembered
 * @param lease how long a spanning reservation holds space without a commit
 * @param spanWindowZones zones asked for edge runs in the first window of a spanning search
 * @param spanMaxAttempts spanning searches per request when a reservation loses a race (each loss
 *     means another request won, so the system progresses; concurrent requests for the same lowest
 *     fit lose one after another)
 * @param askTimeout how long a node waits for another node or the purge coordinator
 * @param stashCapacity requests a node holds while it waits to be attached or recovered
 * @param snapshotEvery a durable node snapshots after this many journal writes
 * @param maxBatchEvents most events in one journal write (group commit); 1 = one write per event
 * @param quotas every tenant's quota ({@code vmap.tenants}); a tenant's quota node decides with its own
 */
public record NodeSettings(
    int dedupWindow,
    int dedupSessions,
    int dedupCapacity,
    int decisionCapacity,
    Duration lease,
    int spanWindowZones,
    int spanMaxAttempts,
    Duration askTimeout,
    int stashCapacity,
    int snapshotEvery,
    int maxBatchEvents,
    Quotas quotas) {

  public NodeSettings {
    if (quotas == null) quotas = Quotas.NONE;
  }

  /** Settings without quotas. */
  public NodeSettings(int dedupWindow, int dedupSessions, int dedupCapacity, int decisionCapacity, Duration lease,
      int spanWindowZones, int spanMaxAttempts, Duration askTimeout, int stashCapacity, int snapshotEvery,
      int maxBatchEvents) {
    this(dedupWindow, dedupSessions, dedupCapacity, decisionCapacity, lease, spanWindowZones, spanMaxAttempts,
        askTimeout, stashCapacity, snapshotEvery, maxBatchEvents, Quotas.NONE);
  }

  public static NodeSettings defaults() {
    return new NodeSettings(65536, 1024, 16384, 16384, Duration.ofSeconds(5), 64, 64, Duration.ofSeconds(30), 100_000,
        1000, 1000);
  }

  /** What the node's state remembers for retries. */
  public NodeState.Memory memory() {
    return new NodeState.Memory(dedupWindow, dedupSessions, dedupCapacity, decisionCapacity);
  }

  public NodeSettings withDedupWindow(int n) {
    return new NodeSettings(n, dedupSessions, dedupCapacity, decisionCapacity, lease, spanWindowZones,
        spanMaxAttempts, askTimeout, stashCapacity, snapshotEvery, maxBatchEvents, quotas);
  }

  public NodeSettings withLease(Duration d) {
    return new NodeSettings(dedupWindow, dedupSessions, dedupCapacity, decisionCapacity, d, spanWindowZones,
        spanMaxAttempts, askTimeout, stashCapacity, snapshotEvery, maxBatchEvents, quotas);
  }

  public NodeSettings withSnapshotEvery(int n) {
    return new NodeSettings(dedupWindow, dedupSessions, dedupCapacity, decisionCapacity, lease, spanWindowZones,
        spanMaxAttempts, askTimeout, stashCapacity, n, maxBatchEvents, quotas);
  }

  public NodeSettings withMaxBatchEvents(int n) {
    return new NodeSettings(dedupWindow, dedupSessions, dedupCapacity, decisionCapacity, lease, spanWindowZones,
        spanMaxAttempts, askTimeout, stashCapacity, snapshotEvery, n, quotas);
  }

  public NodeSettings withQuotas(Quotas q) {
    return new NodeSettings(dedupWindow, dedupSessions, dedupCapacity, decisionCapacity, lease, spanWindowZones,
        spanMaxAttempts, askTimeout, stashCapacity, snapshotEvery, maxBatchEvents, q);
  }
}
