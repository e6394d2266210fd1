package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.http.api.PurgeStatusJson;
import io.vmap.http.ui.PurgeView;
import io.vmap.protocol.PurgeProtocol;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The purge panel's "epochs over time": {@link PurgeView} samples the status at most once a second
 * of the times it is asked (given as {@code now}, so no clock and no sleeps here), keeps the last
 * {@link PurgeView#HISTORY} samples in order, and flags a holder past the grace.
 */
class PurgeViewTest {

  static final Instant T0 = Instant.parse("2026-11-27T21:00:00Z");
  static final Duration GRACE = Duration.ofSeconds(5);

  static PurgeProtocol.Status status(long epochsRun, long lazyPages, PurgeProtocol.Holder... holders) {
    return new PurgeProtocol.Status(epochsRun + 1, holders.length > 0 ? "flushing" : "idle", lazyPages, 1024, holders.length,
        List.of(holders), epochsRun, 10 * epochsRun);
  }

  @Test
  void oneSamplePerSecondWhateverTheViewersPollingRate() {
    PurgeView v = new PurgeView();
    assertEquals(List.of(1L), epochsRun(v.view(status(1, 10), T0, GRACE)), "the first look takes a sample");
    // Two viewers polling every 250 ms: the second of status changes within it are not sampled.
    assertEquals(List.of(1L), epochsRun(v.view(status(2, 20), T0.plusMillis(250), GRACE)));
    assertEquals(List.of(1L), epochsRun(v.view(status(3, 30), T0.plusMillis(999), GRACE)));
    PurgeStatusJson second = v.view(status(4, 40), T0.plusSeconds(1), GRACE);
    assertEquals(List.of(1L, 4L), epochsRun(second), "a second after the last sample: the next");
    PurgeStatusJson.Sample s = second.history().get(1);
    assertEquals(T0.plusSeconds(1).toString(), s.at());
    assertEquals(5, s.epoch());
    assertEquals(40, s.lazyPages());
    assertEquals(4, second.epochsRun(), "the view itself is the status asked for, sampled or not");
    assertEquals(List.of(1L, 4L), epochsRun(v.view(status(5, 50), T0.plusMillis(1999), GRACE)), "measured from the last sample");
    assertEquals(List.of(1L, 4L, 6L), epochsRun(v.view(status(6, 60), T0.plusMillis(2000), GRACE)));
    // Nobody watching for a minute: one sample when someone looks again, no gap filled in.
    assertEquals(List.of(1L, 4L, 6L, 7L), epochsRun(v.view(status(7, 70), T0.plusSeconds(62), GRACE)));
  }

  @Test
  void theHistoryKeepsTheLastSamplesInOrderWithEpochsRising() {
    PurgeView v = new PurgeView();
    int looks = PurgeView.HISTORY + 50;
    PurgeStatusJson last = null;
    for (int i = 0; i < looks; i++) last = v.view(status(i, i % 7), T0.plusSeconds(i), GRACE);
    List<PurgeStatusJson.Sample> h = last.history();
    assertEquals(PurgeView.HISTORY, h.size(), "capped at HISTORY");
    assertEquals(50, h.get(0).epochsRun(), "the oldest samples went first");
    assertEquals(looks - 1, h.get(h.size() - 1).epochsRun());
    for (int i = 1; i < h.size(); i++) {
      assertEquals(h.get(i - 1).epochsRun() + 1, h.get(i).epochsRun(), "sample " + i);
      assertTrue(Instant.parse(h.get(i - 1).at()).isBefore(Instant.parse(h.get(i).at())), "sample " + i);
    }
  }

  @Test
  void aHolderIsStuckOnceItsFlushIsOlderThanTheGraceAndOnlyThenIsThereAdvice() {
    Instant now = T0.plusSeconds(100);
    PurgeProtocol.Holder old = new PurgeProtocol.Holder("akka://vmap/user/cache", 3, now.minus(GRACE));
    PurgeProtocol.Holder fresh = new PurgeProtocol.Holder("akka://vmap/user/fresh", 3, now.minus(GRACE).plusMillis(100));
    PurgeProtocol.Holder notSent = new PurgeProtocol.Holder("akka://vmap/user/late", 3, null);
    PurgeStatusJson p = PurgeView.of(status(2, 99, old, fresh, notSent), now, GRACE, List.of());
    assertEquals(List.of(true, false, false), p.holders().stream().map(PurgeStatusJson.Holder::stuck).toList());
    assertEquals(5.0, p.holders().get(0).waitingSeconds());
    assertNull(p.holders().get(2).waitingSeconds(), "no flush sent yet: not waiting");
    assertEquals(PurgeView.ADVICE, p.advice());

    PurgeStatusJson calm = PurgeView.of(status(2, 99, fresh, notSent), now, GRACE, List.of());
    assertFalse(calm.holders().stream().anyMatch(PurgeStatusJson.Holder::stuck));
    assertNull(calm.advice(), "no advice while nobody is stuck");
  }

  static List<Long> epochsRun(PurgeStatusJson p) {
    return p.history().stream().map(PurgeStatusJson.Sample::epochsRun).toList();
  }
}
