package io.vmap.cluster;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.VmapSettings;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Durable cluster members as ActorSystems in the test's own JVM (the one-JVM cluster tests): the
 * operators' files with a small space, and every system stopped at the end.
 */
final class InJvmMembers implements AutoCloseable {

  /** Every member started so far, in order. */
  final List<ActorSystem<Void>> systems = new ArrayList<>();

  /**
   * A durable member listening on {@code port}, joining {@code seeds}, with its H2 journal under
   * {@code dataDir}: {@code extra} (HOCON lines), then cluster-common.conf and journal-h2.conf as an
   * operator would include them, 4 nodes over 4 MiB of 64 KiB zones.
   */
  static Config member(int port, List<Integer> seeds, Path dataDir, String extra) {
    StringBuilder s = new StringBuilder();
    for (int p : seeds) s.append(s.length() == 0 ? "" : ",").append("\"akka://vmap@127.0.0.1:").append(p).append('"');
    Path conf = LaunchedMembers.repo().resolve("cluster-config");
    return ConfigFactory.parseString(
            "akka.remote.artery.canonical.port = " + port + "\n"
                + "akka.cluster.seed-nodes = [" + s + "]\n"
                + "akka.coordinated-shutdown.exit-jvm = off\n"
                + "akka.logger-startup-timeout = 60s\n"
                + "vmap.data-dir = \"" + dataDir + "\"\n"
                + "vmap.space { start = \"0x100000\", end = \"0x500000\", page = 4096, zone = 65536, nodes = 4 }\n"
                + extra)
        .withFallback(ConfigFactory.parseFile(new File(conf.resolve("cluster-common.conf").toString())))
        .withFallback(ConfigFactory.parseFile(new File(conf.resolve("journal-h2.conf").toString())))
        .withFallback(ConfigFactory.load())
        .resolve();
  }

  /** A new ActorSystem on {@code c}, stopped by {@link #close}. */
  ActorSystem<Void> system(Config c) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "vmap", c);
    systems.add(system);
    return system;
  }

  /** A member on {@code c} hosting vmap nodes. */
  VmapCluster start(Config c) {
    return VmapCluster.start(system(c), VmapSettings.from(c));
  }

  /** Terminates every member and waits for each. */
  @Override
  public void close() {
    for (ActorSystem<Void> s : systems) s.terminate();
    for (ActorSystem<Void> s : systems) s.getWhenTerminated().toCompletableFuture().join();
  }
}
