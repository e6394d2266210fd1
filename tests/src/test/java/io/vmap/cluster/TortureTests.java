package io.vmap.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.chaos.Checker;
import io.vmap.torture.Torture;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the torture tests share: their settings, the PostgreSQL requirement and the verdict. */
final class TortureTests {

  private TortureTests() {}

  /**
   * CI's short runs: a seed from the clock (printed first), a handful of clients, the cluster's
   * files (member logs, incarnations, history) kept in target/torture/{@code name}-{@code seed}/ for
   * a look after a failure.
   */
  static Torture.Settings settings(Torture.Journal journal, int rounds, String name) {
    long seed = System.currentTimeMillis();
    Path dir = Path.of("target", "torture", name + "-" + seed).toAbsolutePath();
    PrintWriter log = new PrintWriter(System.err, true);
    log.println("torture test: seed " + seed + ", files in " + dir);
    return new Torture.Settings(journal, rounds, seed, repo(), dir, 6, true, log);
  }

  /**
   * Fails unless a PostgreSQL server answers where journal-postgres.conf points (as
   * PostgresJournalTest): the tests module's build starts one before the integration tests
   * (scripts/postgres.sh start) and points VMAP_PG_* at it, so none skips for want of a server.
   */
  static void requirePostgres() {
    Config c = ConfigFactory.load(ConfigFactory.parseFile(repo().resolve("cluster-config/journal-postgres.conf").toFile()));
    String host = c.getString("vmap.postgres.host");
    int port = c.getInt("vmap.postgres.port");
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 2000);
    } catch (IOException e) {
      fail("PostgreSQL at " + host + ":" + port + " (vmap.postgres.host/port, VMAP_PG_HOST/VMAP_PG_PORT) is not reachable: "
          + e + ". mvn -B verify starts it (scripts/postgres.sh start); run that, or start it yourself.");
    }
  }

  /** Prints the report, then: no violation at all, and the run did real work. */
  static void assertClean(Torture.Report r) {
    StringWriter text = new StringWriter();
    r.print(new PrintWriter(text, true));
    System.err.print(text);
    assertEquals(List.<Checker.Violation>of(), r.violations(), "violations:\n" + text);
    assertTrue(r.allocated() >= 200, "only " + r.allocated() + " allocations answered:\n" + text);
    assertTrue(r.summary().flushAcks() > 0, "no purge was flushed to the subscriber:\n" + text);
    assertTrue(r.live() > 0, "no live area left to look up at the end:\n" + text);
    assertEquals(r.settings().rounds(), r.rounds().stream().filter(l -> l.startsWith("round")).count(), text.toString());
  }

  /** The repository root (tests run in tests/). */
  static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }
}
