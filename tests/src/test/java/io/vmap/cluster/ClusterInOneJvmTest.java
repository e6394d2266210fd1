package io.vmap.cluster;

import io.vmap.protocol.PurgeProtocol;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three cluster members in one JVM on loopback, with the shipped cluster-common.conf: every
 * message between them goes through Kryo (remote messages are always serialized). The allocator
 * answers the same from every member: an area allocated through one is found, freed and purged
 * through the others, spanning allocations cross members, and a flush subscriber on one member is
 * reached by the coordinator singleton wherever it runs.
 */
@org.junit.jupiter.api.Tag("integration")
class ClusterInOneJvmTest {

  private static final List<ActorSystem<Void>> members = new ArrayList<>();
  private static final List<VmapClient> clients = new ArrayList<>();
  private static ActorTestKit probes;

  static Config memberConfig(int port, List<Integer> seeds) {
    StringBuilder s = new StringBuilder();
    for (int p : seeds) s.append(s.length() == 0 ? "" : ",").append("\"akka://vmap@127.0.0.1:").append(p).append('"');
    String overrides =
        "akka.remote.artery.canonical.port = " + port + "\n"
            + "akka.cluster.seed-nodes = [" + s + "]\n"
            + "akka.coordinated-shutdown.exit-jvm = off\n"
            + "akka.cluster.sharding.number-of-shards = 30\n"
            + "vmap.mode = volatile\n"
            + "vmap.space { start = \"0x100000\", end = \"0x500000\", page = 4096, zone = 65536, nodes = 4 }\n"
            + "vmap.purge.lazy-max-pages = 1000000\n";
    Config common = ConfigFactory.parseFile(new File("../cluster-config/cluster-common.conf"));
    return ConfigFactory.parseString(overrides).withFallback(common).withFallback(ConfigFactory.load()).resolve();
  }

  static int freePort() throws IOException {
    return io.vmap.torture.FreePorts.next();
  }

  @BeforeAll
  static void startCluster() throws IOException {
    List<Integer> ports = List.of(freePort(), freePort(), freePort());
    for (int p : ports) {
      Config c = memberConfig(p, ports);
      ActorSystem<Void> sys = ActorSystem.create(Behaviors.empty(), "vmap", c);
      members.add(sys);
      clients.add(VmapCluster.start(sys, VmapSettings.from(c)).client());
    }
    probes = ActorTestKit.create(members.get(0));
    probes.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
      for (ActorSystem<Void> m : members) {
        long up = StreamSupport.stream(Cluster.get(m).state().getMembers().spliterator(), false)
            .filter(x -> x.status() == MemberStatus.up()).count();
        assertEquals(3, up, "members up as seen by " + Cluster.get(m).selfMember().address());
      }
      return null;
    });
  }

  @AfterAll
  static void stopCluster() {
    for (ActorSystem<Void> m : members) m.terminate();
    for (ActorSystem<Void> m : members) m.getWhenTerminated().toCompletableFuture().join();
  }

  private static <T> T join(java.util.concurrent.CompletionStage<T> s) {
    return s.toCompletableFuture().join();
  }

  @Test
  void everyMemberServesTheSameSpace() {
    VmapClient a = clients.get(0);
    VmapClient b = clients.get(1);
    VmapClient c = clients.get(2);
    List<Allocation> areas = new ArrayList<>();
    for (int home = 0; home < 4; home++) {
      areas.add(join(a.alloc(AllocOptions.size(8192).home(home).tag("m0"))));
    }
    for (Allocation x : areas) {
      assertEquals(Optional.of(x.area()), join(b.find(x.start() + 4096)), "found through another member");
      assertEquals(x.node(), a.geometry().nodeOf(x.start()));
    }
    Area freed = join(c.free(areas.get(2).start()));
    assertEquals(areas.get(2).area(), freed);
    assertEquals(Optional.empty(), join(a.find(freed.start())));
    VmapInfo info = join(b.info());
    assertEquals(3, info.busy().stream().filter(i -> i.area().tag().equals("m0")).count());
    assertEquals(1, info.lazy().size());
    assertTrue(info.accountsForSpace());
    assertEquals(1, join(c.purge()));
    assertTrue(join(a.info()).lazy().isEmpty());
  }

  @Test
  void aSpanningAreaCrossesMembersAndAFlushReachesASubscriberOnAnotherMember() {
    VmapClient a = clients.get(0);
    // 3 zones: owned by 3 different nodes, which sharding spreads over the members.
    Allocation big = join(a.alloc(AllocOptions.size(3 * 65536).home(1).tag("span")));
    assertEquals(0, big.start() % 4096);
    for (long off = 0; off < 3 * 65536; off += 65536) {
      assertEquals(Optional.of(big.area()), join(clients.get(2).find(big.start() + off)));
    }
    ActorTestKit onMember3 = ActorTestKit.create(members.get(2));
    TestProbe<PurgeProtocol.Flush> subscriber = onMember3.createTestProbe();
    join(clients.get(2).subscribeFlush(subscriber.getRef()));
    join(clients.get(1).free(big.start()));
    var purge = clients.get(0).purge().toCompletableFuture();
    PurgeProtocol.Flush flush = subscriber.expectMessageClass(PurgeProtocol.Flush.class, Duration.ofSeconds(20));
    assertTrue(flush.ranges().contains(big.area()), "flush names the freed area: " + flush.ranges());
    flush.ackTo().tell(flush.ack(subscriber.getRef()));
    assertTrue(purge.join() >= 1);
    clients.get(2).unsubscribeFlush(subscriber.getRef());
    assertTrue(join(a.info()).accountsForSpace());
  }
}
