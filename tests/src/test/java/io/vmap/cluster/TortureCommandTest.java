package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.runner.VmapCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code vmap torture}'s bad input: one line naming the value, status 2, nothing started. */
class TortureCommandTest {

  @Test
  void badScenarioJournalAndRoundsAreUsageErrors() {
    assertUsage("scenario 'crash': must be kill, partition, rolling or mixed", "torture", "crash");
    assertUsage("journal 'mysql': must be h2 or postgres", "torture", "kill", "--journal", "mysql");
    assertUsage("rounds 0 < 1", "torture", "kill", "--rounds", "0");
    assertUsage("clients 0 < 1", "torture", "rolling", "--clients", "0");
  }

  private static void assertUsage(String reason, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = VmapCommand.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
    String e = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, status, e);
    assertTrue(e.contains(reason), e);
    assertEquals("", out.toString(StandardCharsets.UTF_8));
  }
}
