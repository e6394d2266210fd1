package io.vmap.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A TLS handshake with a running member's Artery port over a real socket, as a peer would make it:
 * shows from outside that a process (e.g. a {@code vmap node}) speaks TLS there and requires a
 * client certificate from its CA.
 */
public final class TlsProbe {

  private TlsProbe() {}

  /**
   * Connects to host:port with the given trust store and, unless {@code keyStore} is null, that
   * client key store (both PKCS12 with {@code password}); empty if the handshake completed.
   */
  public static Optional<IOException> handshake(String host, int port, Path keyStore, Path trustStore, String password)
      throws GeneralSecurityException, IOException {
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keyStore == null ? null : load(keyStore, password), password.toCharArray());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(load(trustStore, password));
    SSLContext ctx = SSLContext.getInstance("TLSv1.2");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port)) {
      s.setSoTimeout(30_000);
      s.setEnabledProtocols(new String[] {"TLSv1.2"});
      s.startHandshake();
      // TLS 1.2: the server has checked the client's certificate before its Finished message.
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(e);
    }
  }

  private static KeyStore load(Path file, String password) throws GeneralSecurityException, IOException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(file)) {
      ks.load(in, password.toCharArray());
    }
    return ks;
  }
}
