package io.vmap.client;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.protocol.LazyTally;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.ReadIndexes;
import io.vmap.node.VmapNode;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.state.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An allocator running in one JVM: volatile (the space dies with the process, like the kernel's)
 * or, with {@code vmap.mode = durable}, event sourced through the configured Akka Persistence
 * journal so a restarted process recovers every acknowledged area.
 * {@link #start} brings its own ActorSystem; {@link #embed} runs inside an existing one.
 *
 * <pre>{@code
 * try (Vmap vmap = Vmap.start(ConfigFactory.load())) {
 *   Allocation a = vmap.client().alloc(AllocOptions.size(8192).tag("buf")).toCompletableFuture().join();
 * }
 * }</pre>
 */
public final class Vmap implements AutoCloseable {

  private static final AtomicInteger INSTANCES = new AtomicInteger();
  /** The vmap actors' own dispatcher ({@code vmap.dispatcher} in reference.conf). */
  public static final Props DISPATCHER = akka.actor.typed.DispatcherSelector.fromConfig("vmap.dispatcher");

  private final ActorSystem<?> system;
  private final boolean ownsSystem;
  private final VmapSettings settings;
  private final VmapClient client;
  private final NodeDirectory nodes;
  private final List<ActorRef<?>> actors;

  /**
   * Wraps the behaviors of an allocator's actors before they are spawned: fault injection
   * (the testkit's {@code io.vmap.chaos.Chaos#wrapping}), tracing, extra supervision. Each method gets the
   * behavior the allocator would spawn and returns the one to spawn instead (the same messages
   * must reach it). The default methods change nothing.
   */
  public interface Wrapping {
    /** Nothing wrapped: what {@link #start(Config)} and {@link #embed(ActorSystem, VmapSettings)} use by default. */
    Wrapping NONE = new Wrapping() {};

    /** Node {@code k}'s behavior; it waits for a {@link NodeMessage.Attach} message before serving. */
    default Behavior<NodeMessage> node(int k, Behavior<NodeMessage> node) {
      return node;
    }

    default Behavior<PurgeProtocol.Command> coordinator(Behavior<PurgeProtocol.Command> coordinator) {
      return coordinator;
    }
  }

  private Vmap(ActorSystem<?> system, boolean ownsSystem, VmapSettings settings) {
    this(system, ownsSystem, settings, Wrapping.NONE);
  }

  private Vmap(ActorSystem<?> system, boolean ownsSystem, VmapSettings settings, Wrapping wrapping) {
    this.system = system;
    this.ownsSystem = ownsSystem;
    this.settings = settings;
    String prefix = "vmap" + INSTANCES.incrementAndGet();
    var g = settings.geometry();
    List<ActorRef<NodeMessage>> nodeRefs = new ArrayList<>(g.nodes());
    ReadIndexes indexes = new ReadIndexes(g.nodes());
    // The nodes count their lazy pages straight into the coordinator's tally (no message per free).
    LazyTally tally = new LazyTally();
    for (int k = 0; k < g.nodes(); k++) {
      nodeRefs.add(system.systemActorOf(
          wrapping.node(k, VmapNode.create(k, g, settings.node(), settings.persistenceId(k), indexes, tally)),
          prefix + "-node-" + k, DISPATCHER));
    }
    NodeDirectory dir = NodeDirectory.of(nodeRefs);
    ActorRef<PurgeProtocol.Command> coordinator =
        system.systemActorOf(
            wrapping.coordinator(
                PurgeCoordinator.create(g, dir, settings.lazyMaxPages(), settings.releaseBatch(),
                    settings.node().askTimeout(), tally)),
            prefix + "-purge", DISPATCHER);
    // Nodes wait for this before serving (they stash anything earlier).
    for (ActorRef<NodeMessage> n : nodeRefs) n.tell(new NodeMessage.Attach(dir, coordinator));
    List<ActorRef<?>> all = new ArrayList<>(nodeRefs);
    all.add(coordinator);
    this.actors = List.copyOf(all);
    this.nodes = dir;
    this.client = new VmapClient(system, g, dir, coordinator, settings.clientTimeout(),
        system.settings().config().hasPath("vmap.client.retries") ? system.settings().config().getInt("vmap.client.retries") : 0,
        indexes, settings.node().quotas(), settings.isDurable());
  }

  /**
   * A standalone allocator with its own ActorSystem, configured from {@code config} (unresolved is
   * fine) under system properties and over reference.conf, like {@link ConfigFactory#load(Config)}.
   */
  public static Vmap start(Config config) {
    return start(config, Wrapping.NONE);
  }

  /** As {@link #start(Config)}, with the actors' behaviors wrapped by {@code wrapping}. */
  public static Vmap start(Config config, Wrapping wrapping) {
    Config full = ConfigFactory.load(config);
    return new Vmap(ActorSystem.create(Behaviors.empty(), "vmap", full), true, VmapSettings.from(full), wrapping);
  }

  /** A standalone allocator with these settings. */
  public static Vmap start(VmapSettings settings) {
    return new Vmap(ActorSystem.create(Behaviors.empty(), "vmap", ConfigFactory.load()), true, settings);
  }

  /** An allocator inside an existing ActorSystem; {@link #close} stops its actors, not the system. */
  public static Vmap embed(ActorSystem<?> system, VmapSettings settings) {
    return new Vmap(system, false, settings);
  }

  /** As {@link #embed(ActorSystem, VmapSettings)}, with the actors' behaviors wrapped by {@code wrapping}. */
  public static Vmap embed(ActorSystem<?> system, VmapSettings settings, Wrapping wrapping) {
    return new Vmap(system, false, settings, wrapping);
  }

  /**
   * The embedding system's own client: the default tenant with the admin role ({@link
   * Principal#SYSTEM}), which sees and frees every area, as before tenants existed.
   */
  public VmapClient client() {
    return client;
  }

  /**
   * A client for one component of the embedding system: what it allocates belongs to {@code tenant},
   * and it frees and finds only its own areas (another tenant's are as if they did not exist). It
   * shares {@link #client()}'s session; closing it does nothing.
   *
   * @throws IllegalArgumentException if {@code tenant} is not a valid tenant name
   */
  public VmapClient client(String tenant) {
    return client.as(Principal.tenant(tenant));
  }

  /** A client acting for {@code principal} (a tenant, with or without the admin role). */
  public VmapClient client(Principal principal) {
    return client.as(principal);
  }

  /**
   * Every message of every node, for the allocator's owner (tests, tools that inspect or drive the
   * protocol). Clients use {@link #client()}, which only sends client requests.
   */
  public NodeDirectory nodes() {
    return nodes;
  }

  public VmapSettings settings() {
    return settings;
  }

  public ActorSystem<?> system() {
    return system;
  }

  @Override
  public void close() {
    if (ownsSystem) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join();
    } else {
      client.close();
      for (ActorRef<?> a : actors) stop(a);
    }
  }

  private void stop(ActorRef<?> ref) {
    // System actors are stopped through the classic API: typed has no stop for non-children.
    akka.actor.typed.javadsl.Adapter.toClassic(ref).tell(akka.actor.PoisonPill.getInstance(), akka.actor.ActorRef.noSender());
  }
}
