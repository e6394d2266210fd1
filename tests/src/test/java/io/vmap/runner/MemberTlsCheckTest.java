package io.vmap.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.cli.Cli;
import io.vmap.cli.UsageException;
import io.vmap.security.TlsScript;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vmap node}'s start-up check of TLS between members, on the shipped three-local-tls.conf and
 * key material from scripts/tls.sh: a good member passes, a wrong password or a missing store is a
 * usage error naming the file and the variable to set, a certificate near its end is a warning,
 * an expired one a refusal; and the real command refuses to start, before it joins anything.
 */
@Tag("integration")
class MemberTlsCheckTest {

  @TempDir static Path dir;

  @BeforeAll
  static void keys() {
    TlsScript.run("init", "--dir", dir.toString());
  }

  /** three-local-tls.conf for the member on port 2551, with {@code overrides}. */
  static Config config(String overrides) {
    return ConfigFactory.load(ConfigFactory.parseString(
            "akka.remote.artery.canonical.port = 2551\nvmap.tls.dir = \"" + dir + "\"\n" + overrides)
        .withFallback(ConfigFactory.parseFile(TlsScript.repo().resolve("cluster-config/three-local-tls.conf").toFile())));
  }

  static X509Certificate memberCertificate() throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(dir.resolve("members/local-2551.p12").toFile())) {
      ks.load(in, "changeit".toCharArray());
    }
    for (String alias : java.util.Collections.list(ks.aliases())) {
      if (ks.isKeyEntry(alias)) return (X509Certificate) ks.getCertificate(alias);
    }
    throw new AssertionError("no key entry");
  }

  @Test
  void aMemberWithItsKeysPassesAndWithoutTlsThereIsNothingToCheck() {
    assertEquals(List.of(), MemberTlsCheck.check(config(""), Instant.now()));
    assertEquals(List.of(), MemberTlsCheck.check(config("akka.remote.artery.transport = tcp\n"
        + "vmap.tls.key-store-password = wrong"), Instant.now()));
  }

  @Test
  void aWrongPasswordOrAMissingStoreIsAUsageErrorNamingTheFileAndTheVariable() {
    UsageException keyPassword = assertThrows(UsageException.class,
        () -> MemberTlsCheck.check(config("vmap.tls.key-store-password = wrong"), Instant.now()));
    assertTrue(keyPassword.getMessage().contains(dir.resolve("members/local-2551.p12").toString()), keyPassword.getMessage());
    assertTrue(keyPassword.getMessage().contains("VMAP_TLS_KEY_STORE_PASSWORD"), keyPassword.getMessage());

    UsageException trustPassword = assertThrows(UsageException.class,
        () -> MemberTlsCheck.check(config("vmap.tls.trust-store-password = wrong"), Instant.now()));
    assertTrue(trustPassword.getMessage().contains(dir.resolve("truststore.p12").toString()), trustPassword.getMessage());
    assertTrue(trustPassword.getMessage().contains("VMAP_TLS_TRUST_STORE_PASSWORD"), trustPassword.getMessage());

    UsageException missing = assertThrows(UsageException.class,
        () -> MemberTlsCheck.check(config("vmap.tls.member = nobody"), Instant.now()));
    assertTrue(missing.getMessage().contains(dir.resolve("members/nobody.p12") + ": no such file"), missing.getMessage());
    assertTrue(missing.getMessage().contains("VMAP_TLS_KEY_STORE"), missing.getMessage());
  }

  @Test
  void aCertificateNearItsEndIsAWarningAndAnExpiredOneARefusal() throws Exception {
    Instant end = memberCertificate().getNotAfter().toInstant();
    assertEquals(List.of(), MemberTlsCheck.check(config(""), end.minus(Duration.ofDays(31))));
    List<String> warnings = MemberTlsCheck.check(config(""), end.minus(Duration.ofDays(10)));
    assertEquals(1, warnings.size(), warnings::toString);
    assertTrue(warnings.get(0).contains("expires on " + end), warnings.get(0));
    assertTrue(warnings.get(0).contains("in 10 days"), warnings.get(0));
    assertTrue(warnings.get(0).contains("local-2551.p12"), warnings.get(0));
    UsageException expired = assertThrows(UsageException.class,
        () -> MemberTlsCheck.check(config(""), end.plus(Duration.ofDays(1))));
    assertTrue(expired.getMessage().contains("expired on " + end), expired.getMessage());
  }

  @Test
  void vmapNodeRefusesToStartWithAKeyStoreItCannotOpen() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", cp,
        "io.vmap.runner.VmapCommand", "node", "--config",
        TlsScript.repo().resolve("cluster-config/three-local-tls.conf").toString(), "--port", "2551", "--http-port", "0",
        "--data-dir", dir.resolve("data").toString());
    pb.environment().put("VMAP_TLS_DIR", dir.toString());
    pb.environment().put("VMAP_TLS_KEY_STORE_PASSWORD", "not-the-password");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    p.getOutputStream().close();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "vmap node did not stop");
    assertEquals(Cli.USAGE, p.exitValue(), output);
    assertTrue(output.contains("vmap node: "), output);
    assertTrue(output.contains(dir.resolve("members/local-2551.p12").toString()), output);
    assertTrue(output.contains("VMAP_TLS_KEY_STORE_PASSWORD"), output);
    assertTrue(!Files.exists(dir.resolve("data")) || !output.contains("Cluster Node"), "it never started a member: " + output);
  }
}
