package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmap.client.VmapSettings;
import io.vmap.space.Geometry;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The home node of an HTTP allocation that names no node and has no id ({@code
 * VmapClient#anyHome}; one per batch for POST /v1/areas/batch): requests made one at a time take the
 * nodes in turn, not the server pool thread's home, so one client's requests reach every node
 * (embedded {@code vmap top} with 4 nodes showed no traffic on a node the pool's hot threads did not
 * happen to have). What concurrent requests do is {@code AnyHomeTest}'s. 4 nodes, 64 KiB zones: an
 * empty space places a small area on its home node.
 */
class HomeNodesTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;

  LiveMember m;

  @BeforeEach
  void start() throws Exception {
    m = new LiveMember("home-nodes", VmapSettings.defaults().withGeometry(new Geometry(BASE, BASE + 32 * ZONE, 4096, ZONE, 4), null));
  }

  @AfterEach
  void stop() throws Exception {
    m.close();
  }

  @Test
  void anonymousAllocationsTakeTheNodesInTurn() throws Exception {
    int[] perNode = new int[4];
    int previous = -1;
    for (int i = 0; i < 8; i++) {
      LiveMember.Resp r = m.send("POST", "/v1/areas", "{\"size\":4096}");
      assertEquals(201, r.status(), r.body());
      int node = r.json().get("node").asInt();
      if (previous >= 0) assertEquals((previous + 1) % 4, node, "the next node in turn after " + previous);
      previous = node;
      perNode[node]++;
    }
    assertEquals("[2, 2, 2, 2]", java.util.Arrays.toString(perNode));
    // The Nodes panel's figures: every node served requests.
    JsonNode nodes = m.get("/v1/nodes").get("nodes");
    for (JsonNode n : nodes) {
      assertTrue(n.get("traffic").get("requests").asLong() >= 2, "node " + n.get("node") + " shows its traffic: " + n);
    }
  }

  @Test
  void aNamedNodeOrAnIdKeepsItsHome() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertEquals(2, m.send("POST", "/v1/areas", "{\"size\":4096,\"node\":2}").json().get("node").asInt());
    }
    // With an id the id decides (only its home remembers the first answer), whatever the turn.
    for (String id : new String[] {"home-a", "home-b", "home-c", "home-d", "home-e"}) {
      m.send("POST", "/v1/areas", "{\"size\":4096}");
      assertEquals(Math.floorMod(id.hashCode(), 4),
          m.send("POST", "/v1/areas", "{\"size\":4096,\"requestId\":\"" + id + "\"}").json().get("node").asInt(), id);
    }
  }

  @Test
  void aBatchSharesOneHomeAndTheNextBatchTakesTheNext() throws Exception {
    String ops = "{\"ops\":[{\"op\":\"alloc\",\"size\":4096},{\"op\":\"alloc\",\"size\":4096},{\"op\":\"alloc\",\"size\":4096}]}";
    Set<Integer> homes = new HashSet<>();
    int previous = -1;
    for (int b = 0; b < 4; b++) {
      JsonNode results = m.send("POST", "/v1/areas/batch", ops).json().get("results");
      Set<Integer> nodes = new HashSet<>();
      for (JsonNode r : results) nodes.add(r.get("area").get("node").asInt());
      assertEquals(1, nodes.size(), "one home for the batch: " + results);
      int node = nodes.iterator().next();
      if (previous >= 0) assertNotEquals(previous, node, "the next batch, the next node");
      previous = node;
      homes.add(node);
    }
    assertEquals(Set.of(0, 1, 2, 3), homes);
  }
}
