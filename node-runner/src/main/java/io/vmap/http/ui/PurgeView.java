package io.vmap.http.ui;

import io.vmap.http.api.PurgeStatusJson;
import io.vmap.protocol.PurgeProtocol;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The purge coordinator's status as {@code GET /v1/purge/status} shows it: each holder with how
 * long it has withheld its ack, flagged {@code stuck} past {@link #STUCK_AFTER}, the advice of the
 * README's "Operating purges", and a history of samples (one per second at most, the last
 * {@link #HISTORY} kept) taken whenever the status is asked for. Thread-safe.
 */
public final class PurgeView {

  /** A flush normally takes milliseconds; a subscriber silent this long is holding its epoch. */
  public static final Duration STUCK_AFTER = Duration.ofSeconds(5);
  public static final int HISTORY = 600;

  public static final String ADVICE = "A subscriber that does not ack keeps its epoch's space quarantined (safety over "
      + "liveness). Unsubscribe it (VmapClient.unsubscribeFlush(ref)) or stop its actor (or remove its member from the "
      + "cluster); the epoch then releases its space. See the README, \"Operating purges\".";

  private final ArrayDeque<PurgeStatusJson.Sample> history = new ArrayDeque<>();
  private Instant lastSample = Instant.MIN;

  /** The status at {@code now}, after adding it to the history when a second has passed. */
  public synchronized PurgeStatusJson view(PurgeProtocol.Status s, Instant now, Duration stuckAfter) {
    if (Duration.between(lastSample, now).compareTo(Duration.ofSeconds(1)) >= 0) {
      history.addLast(new PurgeStatusJson.Sample(now.toString(), s.epoch(), s.phase(), s.epochsRun(), s.lazyPages(),
          s.holders().size()));
      if (history.size() > HISTORY) history.removeFirst();
      lastSample = now;
    }
    return of(s, now, stuckAfter, new ArrayList<>(history));
  }

  /** The pure part: {@code s} at {@code now} with {@code history}. */
  public static PurgeStatusJson of(PurgeProtocol.Status s, Instant now, Duration stuckAfter, List<PurgeStatusJson.Sample> history) {
    List<PurgeStatusJson.Holder> holders = new ArrayList<>();
    boolean anyStuck = false;
    for (PurgeProtocol.Holder h : s.holders()) {
      Double waiting = h.flushSentAt() == null ? null : Math.max(0, Duration.between(h.flushSentAt(), now).toMillis() / 1000.0);
      boolean stuck = waiting != null && waiting >= stuckAfter.toMillis() / 1000.0;
      anyStuck |= stuck;
      holders.add(new PurgeStatusJson.Holder(h.subscriber(), h.epoch(),
          h.flushSentAt() == null ? null : h.flushSentAt().toString(), waiting, stuck));
    }
    return new PurgeStatusJson(s.epoch(), s.phase(), s.lazyPages(), s.thresholdPages(), s.subscribers(), s.epochsRun(),
        s.areasReleased(), holders, stuckAfter.toMillis() / 1000.0, anyStuck ? ADVICE : null, List.copyOf(history),
        now.toString());
  }
}
