package io.vmap.runner;

import io.vmap.cli.Cli;
import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.http.javadsl.ServerBinding;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.VmapSettings;
import io.vmap.cluster.JournalRefused;
import io.vmap.cluster.VmapCluster;
import io.vmap.http.HttpSecurity;
import io.vmap.http.Metrics;
import io.vmap.http.Readiness;
import io.vmap.http.VmapHttpServer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmap node}: starts one member of a vmap cluster from a file in {@code cluster-config/},
 * with its HTTP API, and runs until the member leaves or the process is stopped.
 */
@Command(
    name = "node",
    header = "Starts a member of a vmap cluster, with its HTTP API.",
    description = {
      "Joins the cluster the configuration describes (seed nodes, journal), hosts its share",
      "of the sharded vmap nodes and may host the purge coordinator singleton. Serves the",
      "JSON API on --http-port; /health/ready answers 200 once the member is Up, its journal",
      "is the cluster's and every vmap node answers (recovered). Stops on SIGTERM (leaving the",
      "cluster gracefully).",
      "A durable member hosts vmap nodes only if its journal is the cluster's (the same",
      "--data-dir on one machine, the same database across machines); otherwise it says",
      "why, leaves the cluster and exits with status 78. A member whose journal holds the",
      "cluster's history never forms a new cluster (Akka's first seed node would, when no",
      "other seed answers in time): it joins the running members, retrying until one answers.",
      "When every member is down, start one of them with --form-cluster.",
      "With Artery over TLS it first opens the key store and trust store (exit 2 naming the",
      "file if one cannot be opened) and warns of certificates expiring within 30 days;",
      "vmap.http.https / vmap.http.auth protect the HTTP API."
    })
final class NodeCommand extends CliCommand {

  @Option(names = "--config", paramLabel = "FILE", required = true,
      description = "Cluster configuration, e.g. cluster-config/three-local.conf.")
  Path config;

  @Option(names = "--port", paramLabel = "P", description = "Artery (cluster) port of this member.")
  Integer port;

  @Option(names = "--http-port", paramLabel = "H", defaultValue = "8080",
      description = "HTTP API port (default ${DEFAULT-VALUE}; 0 = any free port).")
  int httpPort;

  @Option(names = "--http-host", paramLabel = "HOST", defaultValue = "127.0.0.1",
      description = "Interface the HTTP API binds (default ${DEFAULT-VALUE}).")
  String httpHost;

  @Option(names = "--data-dir", paramLabel = "D",
      description = "Directory of the embedded journal: every member on one machine passes the same one.")
  Path dataDir;

  @Option(names = "--form-cluster",
      description = {"Form the cluster again even though the journal holds its history (vmap.cluster.form-cluster):",
          "for a restart of the whole cluster, every member down; start one member with it, the others",
          "without. Without it, a member whose journal has history only ever joins running members."})
  boolean formCluster;

  @Override
  protected int run() throws Exception {
    if (port != null && (port < 0 || port > 65535)) throw new UsageException("port " + port + " is not in 0..65535");
    if (httpPort < 0 || httpPort > 65535) throw new UsageException("http-port " + httpPort + " is not in 0..65535");
    // System properties override the file (RunnerConfig), and the journal file refers to vmap.data-dir.
    if (port != null) System.setProperty("akka.remote.artery.canonical.port", Integer.toString(port));
    if (dataDir != null) System.setProperty("vmap.data-dir", dataDir.toAbsolutePath().normalize().toString());
    if (formCluster) System.setProperty("vmap.cluster.form-cluster", "on");
    ConfigFactory.invalidateCaches();
    RunnerConfig rc = RunnerConfig.load(config);
    Config c = rc.config();
    if (!"cluster".equals(c.getString("akka.actor.provider"))) {
      throw new UsageException(config + " does not set akka.actor.provider = cluster (use ./vmap demo for one JVM)");
    }
    VmapSettings settings = rc.settings();
    // Akka opens the TLS stores only at the first connection: a member that could not make one
    // must not start at all (a first seed would form a cluster of one).
    for (String warning : TlsStartupCheck.check(c, System.getenv(), Instant.now())) {
      err().println("vmap node: warning: " + warning);
    }
    err().flush();
    // The HTTP API's key store and token file too: a usage error now rather than failures later.
    HttpSecurity security;
    try {
      security = HttpSecurity.from(c);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }

    // A start that fails ends the JVM through coordinated shutdown (exit-jvm): with status 1, not 0.
    Config withExit = ConfigFactory.parseString(
        "akka.coordinated-shutdown.reason-overrides.\"" + StartFailed.class.getName() + "\".exit-code = " + Cli.FAILED)
        .withFallback(VmapCluster.memberConfig(c));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "vmap", withExit);
    Readiness ready = Readiness.notReady("joining the cluster");
    VmapCluster cluster;
    ServerBinding binding;
    try {
      cluster = VmapCluster.start(system, settings);
      binding = VmapHttpServer.start(system, cluster.client(), httpHost, httpPort, ready, new Metrics(), security)
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception | LinkageError e) {
      // A member that cannot serve must not linger in the cluster holding shards. Said before the
      // shutdown, which may end the JVM (exit-jvm).
      err().println("vmap node: could not start: " + e);
      err().flush();
      akka.actor.CoordinatedShutdown.get(system).run(StartFailed.INSTANCE);
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      return Cli.FAILED;
    }
    out().printf("vmap node: member %s, HTTP %s://%s:%d (authentication %s), %s, %s%n",
        Cluster.get(system).selfMember().address(), security.https() != null ? "https" : "http", httpHost,
        binding.localAddress().getPort(), security.auth().enabled() ? "on" : "off",
        settings.isDurable() ? "durable" : "volatile", rc.source());
    out().flush();
    AtomicBoolean refused = new AtomicBoolean();
    cluster.hosting().whenComplete((done, failure) -> {
      if (failure == null) return;
      // The member leaves the cluster now (VmapCluster runs coordinated shutdown): say why first.
      refused.set(true);
      ready.markNotReady("refused: " + failure.getMessage().lines().findFirst().orElse(""));
      err().println("vmap node: " + failure.getMessage());
      err().flush();
    });
    watchReadiness(system, cluster, ready);
    system.getWhenTerminated().toCompletableFuture().join();
    return refused.get() ? JournalRefused.EXIT_STATUS : 0;
  }

  /** Why a member that could not start leaves (exit status {@link Cli#FAILED}). */
  enum StartFailed implements akka.actor.CoordinatedShutdown.Reason { INSTANCE }

  /** Ready once this member is Up and every vmap node answers (so each has recovered). */
  private static void watchReadiness(ActorSystem<?> system, VmapCluster cluster, Readiness ready) {
    AtomicBoolean asking = new AtomicBoolean();
    system.scheduler().scheduleWithFixedDelay(Duration.ofMillis(200), Duration.ofMillis(500), () -> {
      if (ready.ready() || asking.get()) return;
      if (Cluster.get(system).selfMember().status() != MemberStatus.up()) return;
      if (!cluster.isHosting()) {
        if (!cluster.hosting().toCompletableFuture().isDone()) ready.markNotReady("checking this member's journal");
        return;
      }
      ready.markNotReady("recovering vmap nodes");
      asking.set(true);
      cluster.client().info().whenComplete((info, failure) -> {
        if (failure == null) ready.markReady();
        asking.set(false);
      });
    }, system.executionContext());
    akka.actor.CoordinatedShutdown.get(system).addTask(
        akka.actor.CoordinatedShutdown.PhaseBeforeServiceUnbind(), "vmap-not-ready", () -> {
          ready.markNotReady("shutting down");
          return java.util.concurrent.CompletableFuture.completedFuture(akka.Done.getInstance());
        });
  }
}
