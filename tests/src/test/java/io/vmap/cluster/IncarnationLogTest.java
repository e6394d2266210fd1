package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.chaos.Checker;
import io.vmap.space.Geometry;
import io.vmap.torture.IncarnationLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Incarnation files as the members' recorder writes them, read back and checked with the owner rule. */
class IncarnationLogTest {

  private static final Geometry G = new Geometry(0x100000000L, 0x100800000L, 4096, 64 * 1024, 8);

  @TempDir Path dir;

  @Test
  void aNodeRunningInTwoProcessesAtOnceBreaksTheOwnerRule() throws IOException {
    write(100, "start 1000 0", "stop 2000 0");
    write(200, "start 1500 0", "stop 2500 0");
    List<Checker.Violation> v = IncarnationLog.read(dir, Map.of()).check(G);
    assertEquals(1, v.size(), v.toString());
    assertEquals(Checker.OWNER, v.get(0).rule());
    assertTrue(v.get(0).detail().contains("pid 200") && v.get(0).detail().contains("pid 100"), v.toString());
  }

  @Test
  void oneAfterTheOtherIsFineEvenWhenTheyTouch() throws IOException {
    write(100, "start 1000 0", "stop 2000 0", "start 1000 1", "stop 1800 1");
    write(200, "start 2000 0", "start 1900 1");
    IncarnationLog log = IncarnationLog.read(dir, Map.of());
    assertEquals(4, log.count());
    assertEquals(List.of(), log.check(G));
  }

  @Test
  void aKilledProcessRanUntilItWasLastSeen() throws IOException {
    write(100, "start 1000 3", "seen 1100", "seen 4500"); // SIGKILL: no stop line
    write(200, "start 4000 3", "stop 6000 3");
    assertEquals(1, IncarnationLog.read(dir, Map.of(100L, 5000L)).check(G).size(), "still hosting node 3 at 4500, after 4000");
    assertEquals(1, IncarnationLog.read(dir, Map.of()).check(G).size(), "not dead: running now");
  }

  /**
   * A torture run's round 1: the coordinator's member hands node 1 off (stop at 12,063-12,397 ms),
   * the next member starts it (its start stamped at 12,397), and the kill of the first member falls
   * before its poller writes the stop; the kill returns at 12,500. Closed at the death, the two
   * intervals overlapped (a false owner violation); closed at its last seen stamp (11,998) they do not.
   */
  @Test
  void aKillThatCutsOffAHandOffsStopIsNoOverlap() throws IOException {
    write(100, "start 1000 1", "seen 11890", "seen 11998", "seen 1201"); // the last line cut short by SIGKILL
    write(200, "seen 12300", "start 12397 1", "seen 12400");
    assertEquals(List.of(), IncarnationLog.read(dir, Map.of(100L, 12_500L)).check(G));
    assertEquals(2, IncarnationLog.read(dir, Map.of(100L, 12_500L)).count());
  }

  @Test
  void aNodeSeenInASinglePollSaysNothingAndATornLineIsSkipped() throws IOException {
    // Seen once: its start (the answer) after its stop (when that poll was asked).
    write(100, "start 1500 2", "stop 1490 2", "start 17");
    write(200, "start 1000 2", "stop 3000 2");
    IncarnationLog log = IncarnationLog.read(dir, Map.of());
    assertEquals(2, log.count());
    assertEquals(List.of(), log.check(G));
  }

  /**
   * Node 0 handed from pid 100 to pid 200: 200's poller has written the start while 100's has not
   * yet written the stop. Read then, the files show both running (what a torture run once reported
   * as an owner violation); read once 100 has written its view of a moment after the read began,
   * they do not.
   */
  @Test
  void aHandOffIsReadOnceEveryLiveMemberHasPolledSinceTheReadBegan() throws Exception {
    write(100, "start 1000 0", "seen 2000");
    write(200, "start 2600 0");
    assertEquals(1, IncarnationLog.readWhenCurrent(dir, Map.of(), List.of(100L), java.time.Duration.ZERO).check(G).size(),
        "100's last view is older than the read: read as it is, node 0 still open there");

    // 100's next poll (a question asked after the read began) closes it.
    Thread poller = new Thread(() -> append(100, "stop 2500 0", "seen " + (System.currentTimeMillis() + 60_000)));
    poller.start();
    IncarnationLog log = IncarnationLog.readWhenCurrent(dir, Map.of(), List.of(100L), java.time.Duration.ofSeconds(30));
    poller.join();
    assertEquals(List.of(), log.check(G));
    assertEquals(2, log.count());
  }

  private void append(long pid, String... lines) {
    try {
      Files.write(dir.resolve(pid + ".incarnations"), String.join("\n", lines).concat("\n").getBytes(),
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private void write(long pid, String... lines) throws IOException {
    Files.write(dir.resolve(pid + ".incarnations"),
        java.util.stream.Stream.concat(java.util.stream.Stream.of("# member test pid " + pid), java.util.Arrays.stream(lines))
            .toList());
  }
}
