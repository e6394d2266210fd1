package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The bookkeeping of {@link DroppedFrameLogger}: once per sender, then once per interval with a count. */
class MalformedFramesTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void theFirstFrameOfASenderIsLoggedThenOneLinePerIntervalCountingTheDropped() {
    MalformedFrames f = new MalformedFrames(Duration.ofSeconds(60));
    MalformedFrames.Verdict first = f.offer("akka://vmap@a:1", 0);
    assertTrue(first.log());
    assertTrue(first.first());
    for (int i = 1; i <= 999; i++) assertFalse(f.offer("akka://vmap@a:1", i * 50_000_000L).log(), "frame " + i);
    // Another sender is logged at once: one noisy peer does not hide another.
    assertTrue(f.offer("akka://vmap@b:2", 10 * SECOND).first());
    MalformedFrames.Verdict later = f.offer("akka://vmap@a:1", 61 * SECOND);
    assertTrue(later.log());
    assertFalse(later.first());
    assertEquals(1000, later.droppedSince(), "999 quiet ones and this one");
    assertEquals(61 * SECOND, later.sinceNanos());
    assertFalse(f.offer("akka://vmap@a:1", 62 * SECOND).log());
  }

  @Test
  void sendersAreForgottenLeastRecentlySeenFirst() {
    MalformedFrames f = new MalformedFrames(Duration.ofSeconds(60));
    for (int i = 0; i <= MalformedFrames.MAX_SENDERS; i++) assertTrue(f.offer("s" + i, i).first());
    // s0 was pushed out by the MAX_SENDERS + 1st sender: it is new again. s2 is still known.
    assertTrue(f.offer("s0", 100).first());
    assertFalse(f.offer("s" + MalformedFrames.MAX_SENDERS, 101).log());
  }
}
