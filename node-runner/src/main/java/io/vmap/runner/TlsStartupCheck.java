package io.vmap.runner;

import io.vmap.cli.UsageException;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code vmap node} checks before it starts a member whose Artery transport is
 * {@code tls-tcp} with Akka's {@code ConfigSSLEngineProvider} (cluster-config/tls.conf). Akka
 * opens the key store and trust store only at the first connection, so without this a member with
 * a wrong path or password starts, logs {@code SslTransportException} per connection, and a first
 * seed even forms a cluster of one. Here it refuses to start instead, naming the file and where its
 * password comes from, and it warns about certificates that expire soon.
 *
 * <p>The stores are opened the way Akka opens them ({@code KeyStore.getDefaultType()}, the path as
 * given, relative to the working directory), so a store that passes here is one Akka can read.
 */
final class TlsStartupCheck {

  static final String SSL = "akka.remote.artery.ssl.config-ssl-engine";
  static final String CONFIG_PROVIDER = "akka.remote.artery.tcp.ConfigSSLEngineProvider";
  /** A certificate that expires within this is warned about at every start. */
  static final Duration EXPIRY_WARNING = Duration.ofDays(30);

  /** One store: its Akka keys, and the vmap.tls key and variable an operator sets (tls.conf). */
  private record Store(String what, String pathKey, String passwordKey, String tlsKey, String pathEnv, String passwordEnv) {
    String pathOrigin() {
      return SSL + "." + pathKey + "; in cluster-config/tls.conf vmap.tls." + tlsKey + " or " + pathEnv;
    }
  }

  private static final Store KEY_STORE = new Store("key store", "key-store", "key-store-password", "key-store",
      "VMAP_TLS_KEY_STORE", "VMAP_TLS_KEY_STORE_PASSWORD");
  private static final Store TRUST_STORE = new Store("trust store", "trust-store", "trust-store-password",
      "trust-store", "VMAP_TLS_TRUST_STORE", "VMAP_TLS_TRUST_STORE_PASSWORD");

  private TlsStartupCheck() {}

  /** Whether {@code c} runs Artery over TLS with the engine this check knows how to read. */
  static boolean applies(Config c) {
    return "tls-tcp".equals(c.getString("akka.remote.artery.transport"))
        && CONFIG_PROVIDER.equals(c.getString("akka.remote.artery.ssl.ssl-engine-provider"));
  }

  /**
   * Opens the key store and trust store {@code c} names, as of {@code now}; {@code env} tells
   * whether a password came from its variable. Returns warnings (certificates that expire within
   * {@link #EXPIRY_WARNING}, a trusted CA already expired); throws {@link UsageException} when the
   * member could not make a single TLS connection. Nothing if TLS is not configured.
   */
  static List<String> check(Config c, Map<String, String> env, Instant now) {
    if (!applies(c)) return List.of();
    List<String> warnings = new ArrayList<>();

    KeyStore keys = open(c, KEY_STORE, env);
    Path keyPath = path(c, KEY_STORE);
    String keyPassword = c.getString(SSL + ".key-password");
    int privateKeys = 0;
    for (String alias : aliases(keys, keyPath)) {
      if (!entry(keys, alias, KeyStore.PrivateKeyEntry.class, keyPath)) continue;
      privateKeys++;
      try {
        Key k = keys.getKey(alias, keyPassword.toCharArray());
        if (k == null) throw new UnrecoverableKeyException("no key");
      } catch (UnrecoverableKeyException e) {
        throw new UsageException("TLS key store '" + keyPath + "': the key '" + alias + "' does not open with "
            + SSL + ".key-password (in cluster-config/tls.conf the key store's password, "
            + passwordSource(KEY_STORE, env) + "; keytool's PKCS12 stores have one password)");
      } catch (GeneralSecurityException e) {
        throw new UsageException("TLS key store '" + keyPath + "': cannot read the key '" + alias + "': " + e.getMessage());
      }
      Certificate cert = certificate(keys, alias, keyPath);
      if (cert instanceof X509Certificate x) {
        Instant end = x.getNotAfter().toInstant();
        if (!end.isAfter(now)) {
          throw new UsageException("TLS key store '" + keyPath + "': the certificate of " + subject(x) + " expired on "
              + day(end) + ", every peer would refuse it; renew it (scripts/tls.sh renew NAME, README \"Rotating certificates\")");
        }
        if (x.getNotBefore().toInstant().isAfter(now)) {
          warnings.add("TLS key store '" + keyPath + "': the certificate of " + subject(x) + " is valid only from "
              + day(x.getNotBefore().toInstant()) + "; until then peers refuse it (is this machine's clock right?)");
        }
        expiresSoon(x, "TLS key store '" + keyPath + "': the certificate of ", now)
            .map(w -> w + "; renew it (scripts/tls.sh renew NAME, README \"Rotating certificates\")")
            .ifPresent(warnings::add);
      }
    }
    if (privateKeys == 0) {
      throw new UsageException("TLS key store '" + keyPath + "': holds no private key, which a member proves who it is "
          + "with (is it a trust store? " + KEY_STORE.pathOrigin() + ")");
    }

    KeyStore trust = open(c, TRUST_STORE, env);
    Path trustPath = path(c, TRUST_STORE);
    int trusted = 0;
    int current = 0;
    for (String alias : aliases(trust, trustPath)) {
      if (!entry(trust, alias, KeyStore.TrustedCertificateEntry.class, trustPath)) continue;
      trusted++;
      if (!(certificate(trust, alias, trustPath) instanceof X509Certificate x)) continue;
      Instant end = x.getNotAfter().toInstant();
      if (!end.isAfter(now)) {
        warnings.add("TLS trust store '" + trustPath + "': the CA certificate of " + subject(x) + " expired on "
            + day(end) + "; no certificate it signed is accepted any more (retire it: scripts/tls.sh retire-ca)");
        continue;
      }
      current++;
      expiresSoon(x, "TLS trust store '" + trustPath + "': the CA certificate of ", now)
          .map(w -> w + "; rotate to a new CA (scripts/tls.sh new-ca, README \"Rotating certificates\")")
          .ifPresent(warnings::add);
    }
    if (trusted == 0) {
      throw new UsageException("TLS trust store '" + trustPath + "': holds no trusted certificate, so this member "
          + "would accept no peer (" + TRUST_STORE.pathOrigin() + "; scripts/tls.sh init makes truststore.p12)");
    }
    if (current == 0) {
      throw new UsageException("TLS trust store '" + trustPath + "': every CA certificate in it has expired, so this "
          + "member would accept no peer (scripts/tls.sh new-ca, README \"Rotating certificates\")");
    }
    return Collections.unmodifiableList(warnings);
  }

  /** The store opened as Akka opens it, or a {@link UsageException} saying why not. */
  private static KeyStore open(Config c, Store s, Map<String, String> env) {
    Path p = path(c, s);
    String password = c.getString(SSL + "." + s.passwordKey());
    try (InputStream in = Files.newInputStream(p)) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(in, password.toCharArray());
      return ks;
    } catch (NoSuchFileException e) {
      throw new UsageException("TLS " + s.what() + " '" + p + "': no such file (" + s.pathOrigin()
          + "; relative to the directory the member starts in; scripts/tls.sh init or member NAME makes it)");
    } catch (AccessDeniedException e) {
      throw new UsageException("TLS " + s.what() + " '" + p + "': permission denied (" + s.pathOrigin() + ")");
    } catch (IOException e) {
      if (e.getCause() instanceof UnrecoverableKeyException) {
        throw new UsageException("TLS " + s.what() + " '" + p + "': wrong password (" + SSL + "." + s.passwordKey()
            + "; " + passwordSource(s, env) + ")");
      }
      throw new UsageException("TLS " + s.what() + " '" + p + "': cannot read it as a " + KeyStore.getDefaultType()
          + " store: " + e.getMessage() + " (" + s.pathOrigin() + ")");
    } catch (GeneralSecurityException e) {
      throw new UsageException("TLS " + s.what() + " '" + p + "': cannot read it: " + e.getMessage());
    }
  }

  /** Where the password came from, without saying what it is. */
  private static String passwordSource(Store s, Map<String, String> env) {
    String v = env.get(s.passwordEnv());
    return v != null
        ? "from " + s.passwordEnv() + ", which is set: is it the password scripts/tls.sh made the store with?"
        : s.passwordEnv() + " is not set, so vmap.tls." + s.tlsKey() + "-password's value in the configuration "
            + "(\"changeit\" in cluster-config/tls.conf) was used: export the store's password as " + s.passwordEnv();
  }

  private static Path path(Config c, Store s) {
    return Path.of(c.getString(SSL + "." + s.pathKey())).toAbsolutePath().normalize();
  }

  private static Optional<String> expiresSoon(X509Certificate x, String what, Instant now) {
    Instant end = x.getNotAfter().toInstant();
    if (end.isAfter(now.plus(EXPIRY_WARNING))) return Optional.empty();
    long days = Duration.between(now, end).toDays();
    return Optional.of(what + subject(x) + " expires on " + day(end) + " (in " + days
        + (days == 1 ? " day" : " days") + ", less than " + EXPIRY_WARNING.toDays() + ")");
  }

  private static List<String> aliases(KeyStore ks, Path p) {
    try {
      return Collections.list(ks.aliases());
    } catch (GeneralSecurityException e) {
      throw new UsageException("TLS store '" + p + "': cannot list it: " + e.getMessage());
    }
  }

  private static boolean entry(KeyStore ks, String alias, Class<? extends KeyStore.Entry> type, Path p) {
    try {
      return ks.entryInstanceOf(alias, type);
    } catch (GeneralSecurityException e) {
      throw new UsageException("TLS store '" + p + "': cannot read the entry '" + alias + "': " + e.getMessage());
    }
  }

  private static Certificate certificate(KeyStore ks, String alias, Path p) {
    try {
      return ks.getCertificate(alias);
    } catch (GeneralSecurityException e) {
      throw new UsageException("TLS store '" + p + "': cannot read the certificate '" + alias + "': " + e.getMessage());
    }
  }

  private static String subject(X509Certificate x) {
    return "'" + x.getSubjectX500Principal().getName() + "'";
  }

  private static String day(Instant t) {
    return t.atOffset(ZoneOffset.UTC).toLocalDate().toString();
  }
}
