package io.vmap.runner;

import com.typesafe.config.Config;
import io.vmap.cli.UsageException;
import io.vmap.http.HttpSecurity;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * {@code vmap node}'s start-up check of TLS between members. Akka builds its TLS context only when
 * a member first connects, so a missing key store or a wrong password would otherwise show as
 * handshake failures in the log of a member that has started (and, as the first seed, formed a
 * cluster of one). With {@code transport = tls-tcp}, this opens the key store and the trust store
 * before anything starts, then builds a server engine with Akka's own {@code
 * ConfigSSLEngineProvider} from the member's configuration, and refuses to start with a usage error
 * naming the file and the password variable. It warns when the member's certificate expires within
 * {@link #WARN_BEFORE}, and refuses one that has expired (no peer would accept it).
 */
final class MemberTlsCheck {

  static final Duration WARN_BEFORE = Duration.ofDays(30);

  private static final String ENGINE = "akka.remote.artery.ssl.config-ssl-engine";

  private MemberTlsCheck() {}

  /**
   * Checks the member's TLS configuration at {@code now}; returns the warnings to print.
   *
   * @throws UsageException naming the file, the key and the environment variable to fix
   */
  static List<String> check(Config c, Instant now) {
    if (!c.hasPath("akka.remote.artery.transport") || !"tls-tcp".equals(c.getString("akka.remote.artery.transport"))) {
      return List.of();
    }
    if (!c.hasPath(ENGINE)) throw new UsageException("akka.remote.artery.transport is tls-tcp but " + ENGINE + " is missing");
    Config ssl = c.getConfig(ENGINE);
    Path keyStore = Path.of(ssl.getString("key-store"));
    Path trustStore = Path.of(ssl.getString("trust-store"));
    KeyStore keys = open(keyStore, ssl.getString("key-store-password"), "key store",
        "vmap.tls.key-store (VMAP_TLS_KEY_STORE, or VMAP_TLS_DIR and VMAP_TLS_MEMBER)", "VMAP_TLS_KEY_STORE_PASSWORD");
    KeyStore trust = open(trustStore, ssl.getString("trust-store-password"), "trust store",
        "vmap.tls.trust-store (VMAP_TLS_TRUST_STORE, or VMAP_TLS_DIR)", "VMAP_TLS_TRUST_STORE_PASSWORD");
    List<String> warnings = new ArrayList<>();
    X509Certificate member = memberCertificate(keys, keyStore);
    try {
      if (trust.size() == 0) throw new UsageException("TLS trust store " + trustStore.toAbsolutePath() + " trusts no CA");
    } catch (KeyStoreException e) {
      throw new UsageException("TLS trust store " + trustStore.toAbsolutePath() + ": " + e.getMessage());
    }
    Instant notAfter = member.getNotAfter().toInstant();
    String who = member.getSubjectX500Principal().getName() + " in " + keyStore.toAbsolutePath();
    if (now.isAfter(notAfter)) {
      throw new UsageException("TLS member certificate " + who + " expired on " + notAfter
          + ": no member would accept it; renew it (scripts/tls.sh renew NAME)");
    }
    if (now.isBefore(member.getNotBefore().toInstant())) {
      throw new UsageException("TLS member certificate " + who + " is not valid before " + member.getNotBefore().toInstant());
    }
    Duration left = Duration.between(now, notAfter);
    if (left.compareTo(WARN_BEFORE) < 0) {
      warnings.add("TLS member certificate " + who + " expires on " + notAfter + " (in " + left.toDays()
          + " days): renew it (scripts/tls.sh renew NAME) and restart this member");
    }
    // Akka's own engine from the same settings: key password, protocol and cipher suites too.
    try {
      new akka.remote.artery.tcp.ConfigSSLEngineProvider(ssl, akka.event.NoMarkerLogging$.MODULE$)
          .createServerSSLEngine(c.getString("akka.remote.artery.canonical.hostname"),
              c.getInt("akka.remote.artery.canonical.port"));
    } catch (RuntimeException e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) root = root.getCause();
      throw new UsageException("TLS between members: Akka cannot build its TLS engine from " + ENGINE + " (key store "
          + keyStore.toAbsolutePath() + "): " + root.getMessage()
          + " (the key's password is VMAP_TLS_KEY_STORE_PASSWORD too)");
    }
    return warnings;
  }

  private static KeyStore open(Path file, String password, String what, String pathKey, String passwordVariable) {
    try {
      return HttpSecurity.loadPkcs12(file, password.toCharArray(), "TLS " + what + " " + pathKey, passwordVariable);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  private static X509Certificate memberCertificate(KeyStore keys, Path file) {
    try {
      for (String alias : Collections.list(keys.aliases())) {
        if (!keys.isKeyEntry(alias)) continue;
        Certificate cert = keys.getCertificate(alias);
        if (cert instanceof X509Certificate x) return x;
      }
    } catch (KeyStoreException e) {
      throw new UsageException("TLS key store " + file.toAbsolutePath() + ": " + e.getMessage());
    }
    throw new UsageException("TLS key store " + file.toAbsolutePath()
        + " holds no private key with a certificate (make one with scripts/tls.sh member NAME)");
  }
}
