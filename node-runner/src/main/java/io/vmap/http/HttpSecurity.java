package io.vmap.http;

import akka.http.javadsl.ConnectionContext;
import akka.http.javadsl.HttpsConnectionContext;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * How the HTTP API is protected ({@code vmap.http} in node-runner's reference.conf): HTTPS with a
 * PKCS12 key store (the member key stores of {@code scripts/tls.sh} serve), and bearer-token
 * {@link Authentication}.
 *
 * @param https null for plain HTTP
 */
public record HttpSecurity(Authentication auth, HttpsConnectionContext https) {

  /** Plain HTTP, no authentication: what the API was before issue 12. */
  public static HttpSecurity none() {
    return new HttpSecurity(Authentication.off(), null);
  }

  /**
   * {@code vmap.http.https} and {@code vmap.http.auth} of {@code root}: opens the key store and
   * reads the token file now, so a mistake stops a member at start.
   *
   * @throws IllegalArgumentException naming the key, the file and what is wrong
   */
  public static HttpSecurity from(Config root) {
    if (!root.hasPath("vmap.http")) return none();
    Config http = root.getConfig("vmap.http");
    try {
      HttpsConnectionContext https = http.getBoolean("https.enabled") ? https(http.getConfig("https")) : null;
      Authentication auth = http.getBoolean("auth.enabled") ? Authentication.bearer(tokens(http.getConfig("auth")),
          http.getString("auth.realm")) : Authentication.off();
      return new HttpSecurity(auth, https);
    } catch (ConfigException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static TokenStore tokens(Config auth) {
    List<TokenStore.Entry> fixed = new ArrayList<>();
    int i = 0;
    for (Config t : auth.getConfigList("tokens")) {
      try {
        fixed.add(new TokenStore.Entry(t.getString("sha256"), TokenStore.principal(t.getString("tenant"),
            t.hasPath("role") ? t.getString("role") : "tenant")));
      } catch (IllegalArgumentException | ConfigException e) {
        throw new IllegalArgumentException("vmap.http.auth.tokens[" + i + "]: " + e.getMessage());
      }
      i++;
    }
    String file = auth.getString("tokens-file").strip();
    if (file.isEmpty() && fixed.isEmpty()) {
      throw new IllegalArgumentException("vmap.http.auth is on but no token is configured: set vmap.http.auth.tokens-file"
          + " (VMAP_TOKENS_FILE) to a file of lines `vmap token --tenant NAME` prints");
    }
    return TokenStore.of(fixed, file.isEmpty() ? null : Path.of(file), auth.getDuration("check-interval"));
  }

  /** The HTTPS context of {@code vmap.http.https}: the key store opened and checked now. */
  static HttpsConnectionContext https(Config https) {
    String path = https.getString("key-store").strip();
    if (path.isEmpty()) {
      throw new IllegalArgumentException("vmap.http.https is on but vmap.http.https.key-store is not set"
          + " (a PKCS12 key store such as scripts/tls.sh's members/<name>.p12; cluster-config/tls.conf sets it)");
    }
    char[] password = https.getString("key-store-password").toCharArray();
    KeyStore ks = loadPkcs12(Path.of(path), password, "vmap.http.https.key-store",
        "vmap.http.https.key-store-password (VMAP_HTTP_KEY_STORE_PASSWORD, or VMAP_TLS_KEY_STORE_PASSWORD with tls.conf)");
    try {
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, new SecureRandom());
      String[] protocols = https.getStringList("protocols").toArray(String[]::new);
      SSLEngine probe = ctx.createSSLEngine();
      List<String> supported = List.of(probe.getSupportedProtocols());
      for (String p : protocols) {
        if (!supported.contains(p)) {
          throw new IllegalArgumentException("vmap.http.https.protocols: " + p + " is not supported by this JVM " + supported);
        }
      }
      return ConnectionContext.httpsServer(() -> {
        SSLEngine e = ctx.createSSLEngine();
        e.setUseClientMode(false);
        e.setEnabledProtocols(protocols);
        return e;
      });
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("vmap.http.https.key-store " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * A PKCS12 store from {@code file}.
   *
   * @throws IllegalArgumentException naming {@code key}, the file, and {@code passwordHint} when the
   *     password is wrong
   */
  public static KeyStore loadPkcs12(Path file, char[] password, String key, String passwordHint) {
    try (InputStream in = Files.newInputStream(file)) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, password);
      return ks;
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(key + ": " + file.toAbsolutePath() + ": no such file");
    } catch (IOException e) {
      if (e.getCause() instanceof java.security.UnrecoverableKeyException || String.valueOf(e.getMessage()).contains("password")) {
        throw new IllegalArgumentException(key + ": " + file.toAbsolutePath() + ": cannot open it: wrong password? (set "
            + passwordHint + ")");
      }
      throw new IllegalArgumentException(key + ": " + file.toAbsolutePath() + ": cannot read it as PKCS12: " + e.getMessage());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(key + ": " + file.toAbsolutePath() + ": " + e.getMessage());
    }
  }
}
