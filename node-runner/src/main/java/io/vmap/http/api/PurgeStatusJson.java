package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * {@code GET /v1/purge/status}: the purge coordinator's state, the subscribers the running epoch
 * waits for (each flagged {@code stuck} once it has held the epoch for {@code stuckAfterSeconds}),
 * what to do about a stuck one, and samples of the coordinator taken while this route is watched.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PurgeStatusJson(
    long epoch,
    String phase,
    long lazyPages,
    long thresholdPages,
    int subscribers,
    long epochsRun,
    long areasReleased,
    List<Holder> holders,
    double stuckAfterSeconds,
    String advice,
    List<Sample> history,
    String takenAt) {

  /** A subscriber holding epoch {@code epoch}: no ack for {@code waitingSeconds} (null: unknown). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Holder(String subscriber, long epoch, String flushSentAt, Double waitingSeconds, boolean stuck) {}

  /** The coordinator at {@code at} (ISO-8601). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Sample(String at, long epoch, String phase, long epochsRun, long lazyPages, int holders) {}
}
