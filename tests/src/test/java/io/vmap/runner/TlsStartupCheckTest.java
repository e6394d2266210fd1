package io.vmap.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.cli.UsageException;
import io.vmap.security.TlsScript;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-up check of {@code vmap node} with TLS: the shipped three-local-tls.conf over key
 * material made by scripts/tls.sh, then each way an operator gets it wrong.
 */
class TlsStartupCheckTest {

  @TempDir static Path dir;

  /** A member whose certificate lasts 825 days (the script's default), and one of 10 days. */
  @BeforeAll
  static void keys() {
    TlsScript.run("init", "--dir", dir.toString(), "good");
    TlsScript.run(Map.of("VMAP_TLS_VALIDITY_DAYS", "10"), "member", "--dir", dir.toString(), "soon")
        .orThrow(List.of("member", "soon"));
  }

  /** three-local-tls.conf for {@code member}, with {@code overrides} of vmap.tls keys; no environment. */
  private static Config config(String file, String member, Map<String, String> overrides) {
    Map<String, String> tls = new HashMap<>();
    // Every vmap.tls key explicitly, so a developer's VMAP_TLS_* variables change nothing here.
    tls.put("vmap.tls.dir", dir.toString());
    tls.put("vmap.tls.member", member);
    tls.put("vmap.tls.key-store", dir.resolve("members/" + member + ".p12").toString());
    tls.put("vmap.tls.key-store-password", "changeit");
    tls.put("vmap.tls.trust-store", dir.resolve("truststore.p12").toString());
    tls.put("vmap.tls.trust-store-password", "changeit");
    tls.putAll(overrides);
    Config shipped = ConfigFactory.parseFile(TlsScript.repo().resolve("cluster-config").resolve(file).toFile());
    return ConfigFactory.parseMap(tls).withFallback(shipped).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  private static Config config(String member, Map<String, String> overrides) {
    return config("three-local-tls.conf", member, overrides);
  }

  private static String refused(Config c, Map<String, String> env) {
    return assertThrows(UsageException.class, () -> TlsStartupCheck.check(c, env, Instant.now())).getMessage();
  }

  private static X509Certificate certificate(String member) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(dir.resolve("members/" + member + ".p12"))) {
      ks.load(in, "changeit".toCharArray());
    }
    return (X509Certificate) ks.getCertificate(ks.aliases().nextElement());
  }

  @Test
  void storesFromTheScriptPassWithoutAWarning() {
    assertEquals(List.of(), TlsStartupCheck.check(config("good", Map.of()), Map.of(), Instant.now()));
  }

  @Test
  void withoutTlsNothingIsOpened() {
    Config plain = config("three-local.conf", "good", Map.of("vmap.tls.key-store", "/nowhere/at/all.p12"));
    assertFalse(TlsStartupCheck.applies(plain));
    assertEquals(List.of(), TlsStartupCheck.check(plain, Map.of(), Instant.now()));
  }

  @Test
  void aMissingKeyStoreIsNamedWithTheVariableThatSetsIt() {
    String reason = refused(config("nobody", Map.of()), Map.of());
    assertTrue(reason.startsWith("TLS key store '" + dir.resolve("members/nobody.p12") + "': no such file"), reason);
    assertTrue(reason.contains("VMAP_TLS_KEY_STORE"), reason);
  }

  @Test
  void aMissingTrustStoreIsNamedWithTheVariableThatSetsIt() {
    Path missing = dir.resolve("elsewhere/truststore.p12");
    String reason = refused(config("good", Map.of("vmap.tls.trust-store", missing.toString())), Map.of());
    assertTrue(reason.startsWith("TLS trust store '" + missing + "': no such file"), reason);
    assertTrue(reason.contains("VMAP_TLS_TRUST_STORE"), reason);
  }

  @Test
  void aWrongKeyStorePasswordNamesItsVariableAndNotThePassword() {
    Config c = config("good", Map.of("vmap.tls.key-store-password", "not-the-password"));
    String unset = refused(c, Map.of());
    assertTrue(unset.startsWith("TLS key store '" + dir.resolve("members/good.p12") + "': wrong password"), unset);
    assertTrue(unset.contains("VMAP_TLS_KEY_STORE_PASSWORD is not set"), unset);
    String set = refused(c, Map.of("VMAP_TLS_KEY_STORE_PASSWORD", "not-the-password"));
    assertTrue(set.contains("from VMAP_TLS_KEY_STORE_PASSWORD, which is set"), set);
    assertFalse(unset.contains("not-the-password") || set.contains("not-the-password"), set);
  }

  @Test
  void aWrongTrustStorePasswordNamesItsVariable() {
    String reason = refused(config("good", Map.of("vmap.tls.trust-store-password", "not-the-password")), Map.of());
    assertTrue(reason.startsWith("TLS trust store '" + dir.resolve("truststore.p12") + "': wrong password"), reason);
    assertTrue(reason.contains("VMAP_TLS_TRUST_STORE_PASSWORD is not set"), reason);
  }

  @Test
  void aKeyPasswordThatDoesNotOpenTheKeyIsRefused() {
    // tls.conf uses the store's password for the key (keytool's PKCS12 stores have one password).
    Config c = config("good", Map.of()).withValue(TlsStartupCheck.SSL + ".key-password",
        com.typesafe.config.ConfigValueFactory.fromAnyRef("not-the-password"));
    String reason = refused(c, Map.of());
    assertTrue(reason.contains("does not open with " + TlsStartupCheck.SSL + ".key-password"), reason);
    assertTrue(reason.contains("VMAP_TLS_KEY_STORE_PASSWORD"), reason);
  }

  @Test
  void theTrustStoreInPlaceOfTheKeyStoreIsRefused() {
    String reason = refused(config("good", Map.of("vmap.tls.key-store", dir.resolve("truststore.p12").toString())), Map.of());
    assertTrue(reason.contains("holds no private key"), reason);
  }

  @Test
  void aCertificateExpiringWithinThirtyDaysIsWarnedAbout() throws Exception {
    List<String> warnings = TlsStartupCheck.check(config("soon", Map.of()), Map.of(), Instant.now());
    assertEquals(1, warnings.size(), warnings.toString());
    String w = warnings.get(0);
    String end = certificate("soon").getNotAfter().toInstant().atOffset(java.time.ZoneOffset.UTC).toLocalDate().toString();
    assertTrue(w.startsWith("TLS key store '" + dir.resolve("members/soon.p12") + "': the certificate of 'CN=soon"), w);
    assertTrue(w.contains("expires on " + end), w);
    assertTrue(w.contains("scripts/tls.sh renew"), w);
  }

  @Test
  void theThirtyDaysAreCountedFromNow() throws Exception {
    Instant end = certificate("good").getNotAfter().toInstant();
    Config c = config("good", Map.of());
    assertEquals(List.of(), TlsStartupCheck.check(c, Map.of(), end.minus(Duration.ofDays(31))));
    List<String> warnings = TlsStartupCheck.check(c, Map.of(), end.minus(Duration.ofDays(29)));
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("CN=good") && warnings.get(0).contains("(in 29 days"), warnings.get(0));
  }

  @Test
  void anExpiredCertificateIsRefused() throws Exception {
    Instant after = certificate("good").getNotAfter().toInstant().plus(Duration.ofDays(1));
    String reason = assertThrows(UsageException.class,
        () -> TlsStartupCheck.check(config("good", Map.of()), Map.of(), after)).getMessage();
    assertTrue(reason.contains("the certificate of 'CN=good") && reason.contains("expired on"), reason);
  }

  /** The same check through the command: exit 2, one line naming the file, no member started. */
  @Test
  void vmapNodeRefusesToStartWithoutItsKeyStore() {
    Path nowhere = dir.resolve("nowhere");
    System.setProperty("vmap.tls.dir", nowhere.toString());
    try {
      VmapCommandTest.Run r = VmapCommandTest.vmap("node", "--config",
          TlsScript.repo().resolve("cluster-config/three-local-tls.conf").toString(), "--port", "0", "--http-port", "0");
      assertEquals(2, r.exit(), r.err());
      String key = nowhere.resolve("members/local-0.p12").toString();
      assertTrue(r.err().startsWith("vmap node: TLS key store '" + key + "': no such file"), r.err());
      assertTrue(r.err().contains("VMAP_TLS_KEY_STORE"), r.err());
      assertEquals("", r.out());
    } finally {
      System.clearProperty("vmap.tls.dir");
      System.clearProperty("akka.remote.artery.canonical.port");
      ConfigFactory.invalidateCaches();
    }
  }
}
