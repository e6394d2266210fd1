package io.vmap.cluster;

import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import com.typesafe.config.Config;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.LazyTally;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.ReadIndexes;
import io.vmap.node.VmapNode;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Geometry;
import io.vmap.state.ErrorCode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The allocator on an Akka cluster: each vmap node is a Cluster Sharding entity (entity id = node
 * id; a fixed set, never passivated, remembered so a rebalance or a crash restarts it) and the
 * purge coordinator is a cluster singleton. Every member runs the same {@link #start} with the same
 * configuration and gets a {@link VmapClient} that routes by {@code nodeOf} through sharding.
 *
 * <p>A durable member hosts vmap nodes only once its journal is known to be the cluster's
 * ({@link JournalIdentityCheck}, DESIGN.md "Journal identity"): until then it starts no sharding
 * region, so no node can be moved to it. A member whose journal is another one fails {@link
 * #hosting()} with a {@link JournalMismatch}, logs why and leaves the cluster ({@link
 * JournalRefused}).
 *
 * <p>A member whose ActorSystem was made with {@link #memberConfig} joins the seed nodes through
 * {@link SeedJoin}: once its journal holds a cluster's history it never forms a new cluster (as
 * Akka's first seed node would when the others are slow to answer), unless {@code
 * vmap.cluster.form-cluster} is on.
 */
public final class VmapCluster {

  public static final EntityTypeKey<NodeMessage> NODE =
      EntityTypeKey.create(NodeMessage.class, "vmap-node");

  /** Messages the purge coordinator singleton may receive before its member hosts vmap nodes. */
  private static final int COORDINATOR_STASH = 10_000;

  private final ActorSystem<?> system;
  private final VmapSettings settings;
  private final VmapClient client;
  private final HostedNodes nodes;
  private final CompletableFuture<Done> hosting = new CompletableFuture<>();
  private volatile JournalIdentity journalIdentity;
  /**
   * This member's nodes count their lazy pages here while the coordinator singleton runs on this
   * member (it opens the tally); elsewhere it stays closed and they send messages.
   */
  private final LazyTally tally = new LazyTally();

  private VmapCluster(ActorSystem<?> system, VmapSettings settings, HostedNodes nodes, ReadIndexes indexes) {
    this.system = system;
    this.settings = settings;
    this.nodes = nodes;
    Geometry g = settings.geometry();
    ActorRef<PurgeProtocol.Command> coordinator =
        ClusterSingleton.get(system)
            .init(
                SingletonActor.of(
                    WhenHosting.create(hosting,
                        Behaviors.supervise(
                                PurgeCoordinator.create(g, nodes, settings.lazyMaxPages(), settings.releaseBatch(),
                                    settings.node().askTimeout(), tally))
                            .onFailure(SupervisorStrategy.restart()),
                        COORDINATOR_STASH),
                    "vmap-purge-coordinator")
                    .withProps(io.vmap.client.Vmap.DISPATCHER));
    // Finds of this member's own nodes read their index; the rest travel to the node.
    com.typesafe.config.Config config = system.settings().config();
    int retries = config.hasPath("vmap.client.retries") ? config.getInt("vmap.client.retries") : 0;
    this.client = new VmapClient(system, g, nodes, coordinator, settings.clientTimeout(), retries, indexes,
        settings.node().quotas(), settings.isDurable());
  }

  /**
   * Joins this member's share of the allocator (the ActorSystem must be cluster-enabled). Returns at
   * once; a volatile member hosts vmap nodes at once, a durable one after its journal identity
   * check ({@link #hosting()}).
   */
  public static VmapCluster start(ActorSystem<?> system, VmapSettings settings) {
    ClusterSharding sharding = ClusterSharding.get(system);
    ReadIndexes indexes = new ReadIndexes(settings.geometry().nodes());
    VmapCluster cluster = new VmapCluster(system, settings, new HostedNodes(sharding, settings.geometry().nodes()), indexes);
    Config c = system.settings().config();
    Duration timeout = c.hasPath("vmap.cluster.identity-timeout")
        ? c.getDuration("vmap.cluster.identity-timeout") : Duration.ofMinutes(2);
    String journal = JournalIdentity.location(c);
    String identityId = JournalIdentityStore.persistenceId(settings.persistencePrefix());
    if (c.hasPath(SeedJoin.SEED_NODES) && !c.getStringList(SeedJoin.SEED_NODES).isEmpty()) {
      boolean form = c.hasPath(SeedJoin.FORM_CLUSTER) && c.getBoolean(SeedJoin.FORM_CLUSTER);
      system.systemActorOf(SeedJoin.create(c.getStringList(SeedJoin.SEED_NODES), form, settings.isDurable(), identityId,
          journal, timeout, cluster::refuse), "vmap-seed-join", Props.empty());
    } else if (settings.isDurable() && !c.getStringList("akka.cluster.seed-nodes").isEmpty()) {
      system.log().warn("vmap: akka.cluster.seed-nodes is set, so Akka joins by itself: restarted while no other seed "
          + "node answers, the first seed node forms a second cluster on this journal. Start the ActorSystem with "
          + "VmapCluster.memberConfig(config) (vmap node does) to join by the journal's rule.");
    }
    if (!settings.isDurable()) {
      cluster.host(sharding, indexes);
      return cluster;
    }
    CompletableFuture<JournalIdentity> checked = new CompletableFuture<>();
    system.systemActorOf(
        JournalIdentityCheck.create(identityId, journal, timeout, checked),
        "vmap-journal-identity", Props.empty());
    checked.whenComplete((identity, failure) -> {
      if (failure == null) {
        cluster.journalIdentity = identity;
        system.log().info("vmap: this member's journal is the cluster's, {}; hosting vmap nodes", identity.describe());
        cluster.host(sharding, indexes);
      } else {
        cluster.refuse(failure);
      }
    });
    return cluster;
  }

  /** Starts this member's sharding region (it may host vmap nodes from now on) and wakes every node. */
  private void host(ClusterSharding sharding, ReadIndexes indexes) {
    Geometry g = settings.geometry();
    sharding.init(
        Entity.of(
            NODE,
            ctx -> {
              int k = Integer.parseInt(ctx.getEntityId());
              return VmapNode.create(k, g, settings.node(), nodes, client.coordinator(), settings.persistenceId(k), indexes,
                  tally);
            })
            .withEntityProps(io.vmap.client.Vmap.DISPATCHER));
    nodes.hosting = true;
    hosting.complete(Done.getInstance());
    // Start every node now (recovering it, if durable) rather than on the first request.
    for (int k = 0; k < g.nodes(); k++) nodes.node(k).tell(new NodeMessage.Wake());
  }

  /**
   * The configuration to create a member's ActorSystem with: Akka's seed nodes moved to {@code
   * vmap.cluster.seed-nodes}, so that {@link #start} joins them by the journal's rule ({@link
   * SeedJoin}: a member whose journal holds a cluster's history never forms a new cluster unless
   * {@code vmap.cluster.form-cluster} is on) instead of Akka joining by itself.
   */
  public static Config memberConfig(Config config) {
    return SeedJoin.manualJoin(config);
  }

  /** This member's journal is not the cluster's (or that could not be found out): leave, host nothing. */
  private void refuse(Throwable why) {
    if (hosting.isDone()) return;
    String reason = why instanceof JournalMismatch || why instanceof SeedJoin.Refused ? why.getMessage()
        : "this member's journal could not be checked against the cluster's, so it hosts no vmap node and leaves "
            + "the cluster: " + why.getMessage();
    system.log().error("vmap: {}", reason);
    hosting.completeExceptionally(why instanceof JournalMismatch || why instanceof SeedJoin.Refused ? why
        : new IllegalStateException(reason, why));
    CoordinatedShutdown.get(system).run(JournalRefused.INSTANCE);
  }

  /** Node k is the entity with id "k". */
  public static NodeDirectory sharded(ClusterSharding sharding, int count) {
    return new NodeDirectory() {
      @Override
      public RecipientRef<NodeMessage> node(int k) {
        return sharding.entityRefFor(NODE, Integer.toString(k));
      }

      @Override
      public int size() {
        return count;
      }
    };
  }

  /**
   * The sharded nodes, which this member can reach only once its region is started: before, {@link
   * #node} fails with EAGAIN, and {@link #client} (which a client resolves once, when it is made)
   * gives a ref that does the same until then.
   */
  private static final class HostedNodes implements NodeDirectory {
    private final NodeDirectory sharded;
    private volatile boolean hosting;

    HostedNodes(ClusterSharding sharding, int count) {
      this.sharded = sharded(sharding, count);
    }

    @Override
    public RecipientRef<NodeMessage> node(int k) {
      if (!hosting) throw notYet();
      return sharded.node(k);
    }

    @Override
    public RecipientRef<ClientProtocol.Command> client(int k) {
      if (hosting) return sharded.client(k);
      return new RecipientRef<>() {
        private volatile RecipientRef<ClientProtocol.Command> target;

        @Override
        public void tell(ClientProtocol.Command m) {
          RecipientRef<ClientProtocol.Command> t = target;
          if (t == null) {
            if (!hosting) throw notYet();
            t = target = sharded.client(k);
          }
          t.tell(m);
        }
      };
    }

    private static VmapException notYet() {
      return new VmapException(ErrorCode.EAGAIN, "this member does not host vmap nodes yet (checking its journal)");
    }

    @Override
    public int size() {
      return sharded.size();
    }
  }

  public VmapClient client() {
    return client;
  }

  public NodeDirectory nodes() {
    return nodes;
  }

  /**
   * Completes once this member hosts its share of the vmap nodes (at once when volatile; after the
   * journal identity check when durable). Fails with {@link JournalMismatch} if this member's
   * journal is not the cluster's, or an IllegalStateException if that could not be found out in
   * {@code vmap.cluster.identity-timeout}; the member then leaves the cluster.
   */
  public CompletionStage<Done> hosting() {
    return hosting;
  }

  public boolean isHosting() {
    return nodes.hosting;
  }

  /** The cluster's journal identity this member verified, or null (volatile, or not verified yet). */
  public JournalIdentity journalIdentity() {
    return journalIdentity;
  }
}
