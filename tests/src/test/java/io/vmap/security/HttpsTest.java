package io.vmap.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import io.vmap.http.HttpSecurity;
import io.vmap.http.Metrics;
import io.vmap.http.Readiness;
import io.vmap.http.TokenStore;
import io.vmap.http.VmapHttpServer;
import io.vmap.space.Geometry;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP API over HTTPS with the key material {@code scripts/tls.sh} makes, switched on by
 * configuration ({@code vmap.http.https}, the keys cluster-config/tls.conf fills in): a client
 * trusting the cluster's CA (truststore.p12) makes real requests, with hostname verification; a
 * client that does not trust it fails the handshake; and the port does not speak plain HTTP.
 * Authentication is on too, as in multi-machine-tls.conf.
 */
@Tag("integration")
class HttpsTest {

  @TempDir static Path dir;
  static ActorSystem<Void> system;
  static Vmap vmap;
  static ServerBinding binding;
  static int port;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    // The member is named by its address: its certificate then names 127.0.0.1 (ip: SAN).
    TlsScript.run("init", "--dir", dir.toString(), "127.0.0.1");
    token = TokenStore.newToken();
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, TokenStore.sha256Hex(token) + " a tenant\n");
    Config c = ConfigFactory.parseString(
            "vmap.tls.dir = \"" + dir + "\"\n"
                + "vmap.tls.member = \"127.0.0.1\"\n"
                + "vmap.http.https.enabled = on\n"
                + "vmap.http.auth { enabled = on, tokens-file = \"" + tokens + "\" }\n"
                + "akka.logger-startup-timeout = 60s\n")
        // The member's key material as tls.conf names it (the system itself is local: Artery is unused).
        .withFallback(ConfigFactory.parseFile(TlsScript.repo().resolve("cluster-config/tls.conf").toFile()));
    Config full = ConfigFactory.load(c);
    system = ActorSystem.create(Behaviors.empty(), "vmap-https-test", full);
    vmap = Vmap.embed(system, VmapSettings.defaults().withGeometry(new Geometry(0x100000, 0x200000, 4096, 0x10000, 2), null));
    binding = VmapHttpServer.start(system, vmap.client(), "127.0.0.1", 0, Readiness.initiallyReady(), new Metrics(),
            HttpSecurity.from(full))
        .toCompletableFuture().get(20, TimeUnit.SECONDS);
    port = binding.localAddress().getPort();
  }

  @AfterAll
  static void stop() throws Exception {
    if (binding != null) binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    if (vmap != null) vmap.close();
    if (system != null) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  static HttpClient trusting(Path trustStore) throws Exception {
    KeyStore ts = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(trustStore)) {
      ts.load(in, "changeit".toCharArray());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ts);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(10)).build();
  }

  @Test
  void aClientTrustingTheClusterCaUsesTheApiOverHttps() throws Exception {
    HttpClient client = trusting(dir.resolve("truststore.p12"));
    HttpResponse<String> created = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/v1/areas"))
            .header("Authorization", "Bearer " + token)
            .POST(HttpRequest.BodyPublishers.ofString("{\"size\":8192,\"tag\":\"over-tls\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(201, created.statusCode(), created.body());
    assertTrue(created.body().contains("\"tag\":\"over-tls\""), created.body());
    HttpResponse<String> unauthenticated = client.send(
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/v1/info")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, unauthenticated.statusCode());
  }

  @Test
  void aClientThatDoesNotTrustTheCaFailsTheHandshake() throws Exception {
    // Another CA's trust store: the server's certificate is not signed by anything it trusts.
    Path other = dir.resolve("other");
    TlsScript.run("init", "--dir", other.toString(), "127.0.0.1");
    HttpClient client = trusting(other.resolve("truststore.p12"));
    assertThrows(SSLHandshakeException.class, () -> client.send(
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/health/alive")).build(),
        HttpResponse.BodyHandlers.ofString()));
  }

  @Test
  void plainHttpIsNotServedOnThePort() throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write("GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      byte[] answer = s.getInputStream().readNBytes(5);
      String text = new String(answer, StandardCharsets.ISO_8859_1);
      // The TLS server closes the connection, at most after a TLS alert record (type 21): never an HTTP answer.
      assertFalse(text.startsWith("HTTP/"), "plain HTTP was answered: " + text);
      assertTrue(answer.length == 0 || answer[0] == 21, "not a TLS alert or a close: " + text);
    }
  }
}
