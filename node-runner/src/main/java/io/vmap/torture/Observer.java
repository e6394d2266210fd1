package io.vmap.torture;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.ClusterSingletonSettings;
import akka.cluster.typed.SingletonActor;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.chaos.History;
import io.vmap.chaos.RecordingSubscriber;
import io.vmap.protocol.PurgeProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A cluster member in this JVM that hosts no vmap node and no singleton (it lacks the role {@value
 * LocalCluster#ROLE}): it watches the cluster's membership (which member is the oldest, so hosts
 * the purge coordinator and the shard coordinator; who is up or gone) and hosts the flush
 * subscriber whose acknowledgements go into the test's {@link History}: each is recorded before
 * the ack is sent, in the same sequence as the clients' operations.
 */
public final class Observer implements AutoCloseable {

  private final LocalCluster cluster;
  private final ActorSystem<Void> system;
  private final ActorRef<PurgeProtocol.Command> coordinator;

  private Observer(LocalCluster cluster, ActorSystem<Void> system) {
    this.cluster = cluster;
    this.system = system;
    // A proxy only: this member has not the singleton's role, so it never runs the coordinator
    // (the behavior given here is never started).
    this.coordinator = ClusterSingleton.get(system).init(
        SingletonActor.of(Behaviors.<PurgeProtocol.Command>empty(), "vmap-purge-coordinator")
            .withSettings(ClusterSingletonSettings.create(system).withRole(LocalCluster.ROLE)));
  }

  /** Joins {@code cluster} (its members' configuration, with role "observer") and waits until Up. */
  public static Observer join(LocalCluster cluster, Duration max) {
    int[] ports = cluster.observerPorts();
    Config overrides = ConfigFactory.parseString(
        "akka.remote.artery.canonical.port = " + ports[1] + "\n"
            + "akka.remote.artery.bind.port = " + ports[0] + "\n"
            + "akka.cluster.roles = [observer]\n"
            + "akka.cluster.singleton-proxy.singleton-identification-interval = 100ms\n"
            + "akka.actor.typed.extensions = []\n"
            // This JVM is the test's: being downed must not exit it.
            + "akka.coordinated-shutdown.exit-jvm = off\n"
            + "akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off\n");
    Config c = ConfigFactory.load(overrides.withFallback(ConfigFactory.parseFile(cluster.config().toFile())));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "vmap", c);
    Observer o = new Observer(cluster, system);
    o.await(max, "the observer to be Up", () -> Cluster.get(system).selfMember().status() == MemberStatus.up());
    return o;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /**
   * Starts a {@link RecordingSubscriber} named {@code name} and subscribes it (asking again until
   * the coordinator confirms); records the subscription in {@code history}.
   *
   * @param renew also send the subscription again every 100 ms, so that a successor of the purge
   *     coordinator (which knows no subscriber: README "Torture tests") gets it first thing: this
   *     member's singleton proxy holds what is sent while the coordinator moves and hands it over
   *     as soon as it finds the new one (it looks every 100 ms here)
   */
  public ActorRef<PurgeProtocol.Flush> subscribe(String name, History history, Duration max, boolean renew) {
    ActorRef<PurgeProtocol.Flush> ref = system.systemActorOf(RecordingSubscriber.create(name, history),
        "torture-" + name + "-" + UUID.randomUUID(), Props.empty());
    confirm(ref, max);
    history.subscribed(name);
    if (renew) {
      ActorRef<PurgeProtocol.Subscribed> ignore = system.systemActorOf(Behaviors.ignore(),
          "torture-" + name + "-renewals-" + UUID.randomUUID(), Props.empty());
      system.scheduler().scheduleWithFixedDelay(Duration.ofMillis(100), Duration.ofMillis(100),
          () -> coordinator.tell(new PurgeProtocol.Subscribe(ref, ignore)), system.executionContext());
    }
    return ref;
  }

  /** Subscribe {@code ref}, asking again until confirmed. */
  private void confirm(ActorRef<PurgeProtocol.Flush> ref, Duration max) {
    long deadline = System.nanoTime() + max.toNanos();
    while (true) {
      try {
        AskPattern.<PurgeProtocol.Command, PurgeProtocol.Subscribed>ask(coordinator,
                r -> new PurgeProtocol.Subscribe(ref, r), Duration.ofSeconds(5), system.scheduler())
            .toCompletableFuture().get(10, TimeUnit.SECONDS);
        return;
      } catch (Exception e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("subscription of " + ref + " not confirmed", e);
        }
      }
    }
  }

  /** The purge coordinator's status (through the singleton proxy). */
  public PurgeProtocol.Status purgeStatus(Duration max) throws Exception {
    return AskPattern.<PurgeProtocol.Command, PurgeProtocol.Status>ask(coordinator, PurgeProtocol.GetStatus::new, max,
        system.scheduler()).toCompletableFuture().get(max.toMillis() + 1000, TimeUnit.MILLISECONDS);
  }

  /** The members of {@link LocalCluster#ROLE} this member sees Up, oldest first (cluster member numbers). */
  public List<Integer> upOldestFirst() {
    List<Member> up = new ArrayList<>();
    for (Member m : Cluster.get(system).state().getMembers()) {
      if (m.status() == MemberStatus.up() && m.hasRole(LocalCluster.ROLE)) up.add(m);
    }
    up.sort((a, b) -> a.isOlderThan(b) ? -1 : b.isOlderThan(a) ? 1 : 0);
    List<Integer> out = new ArrayList<>();
    for (Member m : up) out.add(cluster.memberAt(m.address().getPort().orElse(-1)));
    return out;
  }

  /**
   * The oldest Up member with the role: where the purge coordinator singleton and the shard
   * coordinator run. -1 if none.
   */
  public int oldest() {
    List<Integer> up = upOldestFirst();
    return up.isEmpty() ? -1 : up.get(0);
  }

  /** Whether member {@code i}'s address is in this member's view of the cluster at all. */
  public boolean inCluster(int i) {
    String addr = cluster.address(i);
    for (Member m : Cluster.get(system).state().getMembers()) {
      if (m.address().toString().equals(addr) && m.status() != MemberStatus.removed()) return true;
    }
    return false;
  }

  public boolean isUp(int i) {
    return upOldestFirst().contains(i);
  }

  /** Waits until member {@code i} is out of the cluster (downed and removed, or left). */
  public void awaitGone(int i, Duration max) {
    await(max, "member " + i + " to leave the cluster", () -> !inCluster(i));
  }

  /** Waits until member {@code i} is Up. */
  public void awaitUp(int i, Duration max) {
    await(max, "member " + i + " to be Up", () -> isUp(i));
  }

  private void await(Duration max, String what, java.util.function.BooleanSupplier done) {
    long deadline = System.nanoTime() + max.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + max + " waiting for " + what + "; cluster: "
            + Cluster.get(system).state().getMembers() + "; unreachable: " + Cluster.get(system).state().getUnreachable());
      }
      LocalCluster.pause(100);
    }
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      // ending anyway
    }
  }
}
