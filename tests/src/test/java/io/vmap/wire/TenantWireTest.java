package io.vmap.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.PeerProtocol;
import io.vmap.protocol.QuotaProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.NodeEvent;
import io.vmap.state.NodeState;
import io.vmap.state.OwnedSnapshot;
import io.vmap.state.Policy;
import io.vmap.state.Principal;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import io.vmap.state.TenantUsage;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What tenants add to the wire and the journal goes through the Kryo serializer Akka binds to it
 * and comes back equal: the allocation events that carry a tenant, a snapshot with owners, the
 * principal of frees and finds, and the quota protocol.
 */
class TenantWireTest {

  private static ActorTestKit kit;
  private static Serialization serialization;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create("TenantWireTest");
    serialization = SerializationExtension.get(kit.system());
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  static Object roundTrip(Object o) {
    Serializer s = serialization.findSerializerFor(o);
    assertEquals(KryoSerializer.IDENTIFIER, s.identifier(), o.getClass().getName() + " goes through Kryo");
    byte[] bytes = s.toBinary(o);
    Object back = serialization.deserialize(bytes, s.identifier(), akka.serialization.Serializers.manifestFor(s, o)).get();
    assertEquals(o, back);
    return back;
  }

  @Test
  void tenantEventsAndMessagesRoundTrip() {
    Area a = new Area(0x100000, 0x102000, "buf");
    RequestKey k = new RequestKey(5, 6);
    roundTrip(new NodeEvent.AreaAllocatedFor(a, k, "storage-a"));
    roundTrip(new NodeEvent.SpanCommittedFor(new ReservationId(k, 1, a, 9), "storage-a"));
    roundTrip(new NodeEvent.Batch(List.of(new NodeEvent.AreaAllocatedFor(a, k, "b"), new NodeEvent.AreaFreed(a.start(), k))));
    roundTrip(new ClientProtocol.Batch(3, List.of(new ClientProtocol.FreeRequest(k, a.start(), Principal.tenant("b")),
        new ClientProtocol.FindRequest(k, a.start(), Principal.admin("ops")),
        new ClientProtocol.AllocRequest(k, AllocSpec.of(new Geometry(0x100000, 0x200000, 4096, 0x10000, 1), 4096, 4096, null,
            null, 0, "", Policy.NORMAL).withTenant("t"))), kit.createTestProbe(ClientProtocol.Replies.class).getRef()));
    roundTrip(new PeerProtocol.AddressChecked(a.start(), a, "storage-a"));
    roundTrip(new ClientProtocol.NodeInfo(0, List.of(a), List.of(), 1, 1, 1, 0, 0, 0,
        new java.util.HashMap<>(Map.of(a.start(), "storage-a")), List.of(new TenantUsage("storage-a", 8192, 1, 0, 0))));
    roundTrip(new QuotaProtocol.Admit("t", k, 4096, 2, true));
    roundTrip(new QuotaProtocol.Admitted(k, io.vmap.state.ErrorCode.EDQUOT, "over"));
    roundTrip(new QuotaProtocol.Admitted(k, null, null));
    roundTrip(new QuotaProtocol.Settle("t", k, true));
    roundTrip(new QuotaProtocol.UsageQuery("t", 7, 1));
    roundTrip(new QuotaProtocol.UsageReport(7, 1, new TenantUsage("t", 1, 2, 3, 4)));
    roundTrip(new ClientProtocol.GetTenants(kit.createTestProbe(ClientProtocol.TenantsHere.class).getRef()));
    roundTrip(new ClientProtocol.TenantsHere(3, List.of(new TenantUsage("t", 1, 2, 3, 4), TenantUsage.none("u"))));
  }

  @Test
  void aSnapshotWithOwnersIsStoredAndReadBack() {
    Geometry g = new Geometry(0x100000, 0x200000, 4096, 0x10000, 1);
    NodeState.Memory memory = new NodeState.Memory(256, 16, 1024, 1024);
    NodeState s = new NodeState(0, g, memory);
    s.allocate(new Area(0x100000, 0x101000, "x"), new RequestKey(1, 1), "a");
    s.allocate(new Area(0x101000, 0x103000, "y"), new RequestKey(1, 2), Principal.DEFAULT_TENANT);
    Object stored = OwnedSnapshot.of(s);
    Serializer ser = serialization.findSerializerFor(stored);
    Object back = serialization.deserialize(ser.toBinary(stored), ser.identifier(), "").get();
    NodeState restored = OwnedSnapshot.restore(assertInstanceOf(io.vmap.state.CompactSnapshot.class, back), g, memory);
    assertEquals("a", restored.ownership().ownerOf(0x100000));
    assertEquals(s.ownership().usages(), restored.ownership().usages());
  }
}
