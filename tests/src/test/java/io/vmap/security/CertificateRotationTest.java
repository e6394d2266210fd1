package io.vmap.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.remote.artery.tcp.ConfigSSLEngineProvider;
import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/tls.sh's rotation, step by step as README "Security" tells it (new-ca, renew,
 * retire-ca; each rolled out to every member before the next), checked with TLS handshakes between
 * members configured by cluster-config/three-local-tls.conf: members at neighbouring steps (the
 * states a rolling restart mixes) always connect, and the shortcuts the order forbids fail.
 * Also: init is idempotent, and the script refuses what would cut members off.
 */
@Tag("integration")
class CertificateRotationTest {

  @TempDir Path tmp;

  @Test
  void theDocumentedRotationConnectsNeighbouringStepsAndRefusesTheShortcuts() throws IOException {
    Path dir = tmp.resolve("tls");
    String d = dir.toString();

    TlsScript.Result first = TlsScript.run("init", "--dir", d, "a");
    assertTrue(first.out().contains("created " + dir.resolve("truststore.p12") + " (trusts vmap-ca-1)"), first.out());
    assertTrue(first.out().contains("created " + dir.resolve("members/a.p12")), first.out());
    byte[] trustBefore = Files.readAllBytes(dir.resolve("truststore.p12"));
    byte[] keyBefore = Files.readAllBytes(dir.resolve("members/a.p12"));
    TlsScript.Result again = TlsScript.run("init", "--dir", d, "a");
    for (String line : again.out().strip().split("\n")) assertTrue(line.startsWith("kept "), "second init: " + again.out());
    assertArrayEquals(trustBefore, Files.readAllBytes(dir.resolve("truststore.p12")), "second init left the trust store alone");
    assertArrayEquals(keyBefore, Files.readAllBytes(dir.resolve("members/a.p12")), "second init left the key store alone");

    Path keyCa1 = copy(dir, "members/a.p12", "a-ca1.p12");
    Path trust0 = copy(dir, "truststore.p12", "trust-0.p12");

    // Step 1: a second CA, trusted alongside the first.
    TlsScript.Result newCa = TlsScript.run("new-ca", "--dir", d);
    assertTrue(newCa.out().contains("now also trusts vmap-ca-2"), newCa.out());
    TlsScript.Result early = TlsScript.run(Map.of(), "retire-ca", "--dir", d, "vmap-ca-1");
    assertNotEquals(0, early.exit());
    assertTrue(early.err().contains("member a is still signed by vmap-ca-1"), early.err());
    Path trust1 = copy(dir, "truststore.p12", "trust-1.p12");

    // Step 2: members' certificates from the new CA; a second run finds nothing to do.
    TlsScript.Result renew = TlsScript.run("renew", "--dir", d);
    assertTrue(renew.out().contains("replaced " + dir.resolve("members/a.p12") + " (key and certificate of a, signed by vmap-ca-2"), renew.out());
    TlsScript.Result renewAgain = TlsScript.run("renew", "--dir", d);
    assertTrue(renewAgain.out().contains("kept " + dir.resolve("members/a.p12") + " (already signed by vmap-ca-2)"), renewAgain.out());
    Path keyCa2 = copy(dir, "members/a.p12", "a-ca2.p12");

    // Step 3: the old CA out of the trust store (never the current one).
    TlsScript.Result current = TlsScript.run(Map.of(), "retire-ca", "--dir", d, "vmap-ca-2");
    assertNotEquals(0, current.exit());
    assertTrue(current.err().contains("vmap-ca-2 is the current CA"), current.err());
    TlsScript.Result retire = TlsScript.run("retire-ca", "--dir", d, "vmap-ca-1");
    assertTrue(retire.out().contains("no longer trusts vmap-ca-1"), retire.out());
    Path trust2 = copy(dir, "truststore.p12", "trust-2.p12");

    // A member at each step of the rollout: (key store, trust store) as it holds them.
    ConfigSSLEngineProvider before = member(keyCa1, trust0);
    ConfigSSLEngineProvider step1 = member(keyCa1, trust1);
    ConfigSSLEngineProvider step2 = member(keyCa2, trust1);
    ConfigSSLEngineProvider step3 = member(keyCa2, trust2);
    ConfigSSLEngineProvider notRenewed = member(keyCa1, trust2);

    // A rolling restart of each step mixes members of that step and of the one before.
    assertConnect(before, before);
    assertConnect(before, step1);
    assertConnect(step1, step2);
    assertConnect(step2, step3);
    assertConnect(step3, step3);
    // Why step 1 must reach every member before step 2 starts: a member still on the old trust
    // store refuses a renewed one, both ways.
    assertRefused(before, step2);
    // Why the old CA goes last: a member not yet renewed is cut off by the final trust store.
    assertRefused(step1, step3);
    assertRefused(notRenewed, step3);
  }

  private static Path copy(Path dir, String from, String to) throws IOException {
    Path target = dir.resolveSibling("snapshots").resolve(to);
    Files.createDirectories(target.getParent());
    return Files.copy(dir.resolve(from), target);
  }

  /** three-local-tls.conf with this key store and trust store. */
  private static ConfigSSLEngineProvider member(Path keyStore, Path trustStore) {
    Config c = TlsMembers.config("three-local-tls.conf", 2551, List.of(),
        "vmap.tls.key-store = \"" + keyStore + "\"\nvmap.tls.trust-store = \"" + trustStore + "\"\n");
    assertEquals("tls-tcp", c.getString("akka.remote.artery.transport"));
    assertTrue(c.getBoolean("akka.remote.artery.ssl.config-ssl-engine.require-mutual-authentication"));
    return TlsHandshake.provider(c);
  }

  private static void assertConnect(ConfigSSLEngineProvider x, ConfigSSLEngineProvider y) {
    assertEquals(Optional.empty(), TlsHandshake.connect(x, y, TlsMembers.HOST, 2551).map(Throwable::toString), "x connects to y");
    assertEquals(Optional.empty(), TlsHandshake.connect(y, x, TlsMembers.HOST, 2551).map(Throwable::toString), "y connects to x");
  }

  private static void assertRefused(ConfigSSLEngineProvider x, ConfigSSLEngineProvider y) {
    for (Optional<SSLException> failure : List.of(
        TlsHandshake.connect(x, y, TlsMembers.HOST, 2551), TlsHandshake.connect(y, x, TlsMembers.HOST, 2551))) {
      assertTrue(failure.isPresent(), "the handshake completed");
      // A certificate no trusted CA signed, or none offered: the client's key manager offers only
      // a certificate from a CA the server names as trusted.
      assertTrue(failure.get() instanceof SSLHandshakeException
          && String.valueOf(failure.get().getMessage()).matches("(?is).*(certif|pkix|cert chain).*"),
          "refused for its certificate: " + failure.get());
    }
  }
}
