package io.vmap.cluster;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.ReadIndexes;
import io.vmap.node.VmapNode;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Geometry;

/**
 * The allocator on an Akka cluster: each vmap node is a Cluster Sharding entity (entity id = node
 * id; a fixed set, never passivated, remembered so a rebalance or a crash restarts it) and the
 * purge coordinator is a cluster singleton. Every member runs the same {@link #start} with the same
 * configuration and gets a {@link VmapClient} that routes by {@code nodeOf} through sharding.
 */
public final class VmapCluster {

  public static final EntityTypeKey<NodeMessage> NODE =
      EntityTypeKey.create(NodeMessage.class, "vmap-node");

  private final VmapClient client;
  private final NodeDirectory nodes;

  private VmapCluster(VmapClient client, NodeDirectory nodes) {
    this.client = client;
    this.nodes = nodes;
  }

  /** Joins this member's share of the allocator (the ActorSystem must be cluster-enabled). */
  public static VmapCluster start(ActorSystem<?> system, VmapSettings settings) {
    Geometry g = settings.geometry();
    ClusterSharding sharding = ClusterSharding.get(system);
    NodeDirectory nodes = sharded(sharding, g.nodes());
    ReadIndexes indexes = new ReadIndexes(g.nodes());
    SingletonActor<PurgeProtocol.Command> purge =
        SingletonActor.of(
                Behaviors.supervise(
                        PurgeCoordinator.create(g, nodes, settings.lazyMaxPages(), settings.releaseBatch(),
                            settings.node().askTimeout()))
                    .onFailure(SupervisorStrategy.restart()),
                "vmap-purge-coordinator")
            .withProps(io.vmap.client.Vmap.DISPATCHER);
    // Sharding first: the coordinator's first act is to ask every node (nodes.node(k)), which throws
    // "Shard type [vmap-node] must be started first" if the singleton starts while sharding.init is
    // still starting the region (seen on a loaded machine), and a failure in its setup stops it for
    // good (restart does not apply to the initial start). The entities get the singleton's proxy
    // from init, which gives the same proxy however often it is called.
    ClusterSingleton singletons = ClusterSingleton.get(system);
    sharding.init(
        Entity.of(
            NODE,
            ctx -> {
              int k = Integer.parseInt(ctx.getEntityId());
              return VmapNode.create(k, g, settings.node(), nodes, singletons.init(purge), settings.persistenceId(k), indexes);
            })
            .withEntityProps(io.vmap.client.Vmap.DISPATCHER));
    ActorRef<PurgeProtocol.Command> coordinator = singletons.init(purge);
    // Start every node now (recovering it, if durable) rather than on the first request.
    for (int k = 0; k < g.nodes(); k++) nodes.node(k).tell(new NodeMessage.Wake());
    // Finds of this member's own nodes read their index; the rest travel to the node.
    com.typesafe.config.Config config = system.settings().config();
    int retries = config.hasPath("vmap.client.retries") ? config.getInt("vmap.client.retries") : 0;
    return new VmapCluster(
        new VmapClient(system, g, nodes, coordinator, settings.clientTimeout(), retries, indexes, settings.node().quotas()),
        nodes);
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

  public VmapClient client() {
    return client;
  }

  public NodeDirectory nodes() {
    return nodes;
  }
}
