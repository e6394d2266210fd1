package io.vmap.security;

import akka.event.NoMarkerLogging$;
import akka.remote.artery.tcp.ConfigSSLEngineProvider;
import com.typesafe.config.Config;
import java.nio.ByteBuffer;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

/**
 * One TLS handshake between two members, in memory: the SSLEngines come from Akka's own
 * {@link ConfigSSLEngineProvider} built from each member's configuration, exactly as Artery's
 * tls-tcp transport makes them, so a handshake that completes here is one Artery would complete,
 * and one that fails here is refused by Artery before any Akka message. Milliseconds, where a
 * cluster join takes seconds: for checking many pairs of key material.
 */
final class TlsHandshake {

  private static final int MAX_STEPS = 10_000;

  private TlsHandshake() {}

  /** The engine provider of a member with this (resolved) configuration. */
  static ConfigSSLEngineProvider provider(Config member) {
    return new ConfigSSLEngineProvider(
        member.getConfig("akka.remote.artery.ssl.config-ssl-engine"), NoMarkerLogging$.MODULE$);
  }

  /**
   * {@code client} connects to {@code server} at host:port (the name the client checks with
   * hostname verification on); empty if the handshake completed on both sides, else the first
   * side's failure.
   */
  static Optional<SSLException> connect(ConfigSSLEngineProvider client, ConfigSSLEngineProvider server, String host, int port) {
    SSLEngine c = client.createClientSSLEngine(host, port);
    SSLEngine s = server.createServerSSLEngine(host, port);
    ByteBuffer toServer = ByteBuffer.allocate(1 << 16);
    ByteBuffer toClient = ByteBuffer.allocate(1 << 16);
    ByteBuffer app = ByteBuffer.allocate(1 << 16);
    try {
      c.beginHandshake();
      s.beginHandshake();
      for (int i = 0; i < MAX_STEPS; i++) {
        if (done(c) && done(s)) return Optional.empty();
        step(c, toServer, toClient, app);
        step(s, toClient, toServer, app);
      }
      return Optional.of(new SSLException("handshake made no progress in " + MAX_STEPS + " steps"));
    } catch (SSLException e) {
      return Optional.of(e);
    }
  }

  private static boolean done(SSLEngine e) {
    HandshakeStatus h = e.getHandshakeStatus();
    // A closed engine (it sent or received an alert) is not handshaking either, but not done.
    return (h == HandshakeStatus.NOT_HANDSHAKING || h == HandshakeStatus.FINISHED)
        && !e.isOutboundDone() && !e.isInboundDone();
  }

  /** Whatever the engine needs next: send, receive what the other side sent, or run a task. */
  private static void step(SSLEngine e, ByteBuffer out, ByteBuffer in, ByteBuffer app) throws SSLException {
    switch (e.getHandshakeStatus()) {
      case NEED_WRAP -> e.wrap(ByteBuffer.allocate(0), out);
      case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
        in.flip();
        e.unwrap(in, app);
        in.compact();
        app.clear();
      }
      case NEED_TASK -> {
        for (Runnable r = e.getDelegatedTask(); r != null; r = e.getDelegatedTask()) r.run();
      }
      default -> {}
    }
  }
}
