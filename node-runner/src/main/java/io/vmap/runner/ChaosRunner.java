package io.vmap.runner;

import io.vmap.protocol.PurgeProtocol;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmap.client.VmapInfo;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** What {@code vmap chaos} and {@code vmap check} share: JVM tuning and reading /v1/info JSON. */
final class ChaosRunner {

  private ChaosRunner() {}

  static final String PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  /**
   * On a machine with 2 CPUs the JVM's common pool has parallelism 1, and CompletableFuture then
   * runs every async continuation on a new thread. Akka's javadsl ask/pipeToSelf complete through
   * such continuations, so every answer to an ask between the allocator's actors would start a
   * thread: several times slower, and enough to make short timeouts fire. Raise it before the
   * pool exists (no effect if something already created it, or if it was set).
   */
  static void tuneCommonPool() {
    if (System.getProperty(PARALLELISM) == null) {
      System.setProperty(PARALLELISM, Integer.toString(Math.max(4, Runtime.getRuntime().availableProcessors())));
    }
  }

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** The JSON of {@code GET /v1/info?format=json} as a {@link VmapInfo}. */
  static VmapInfo infoFromJson(String body) throws java.io.IOException {
    JsonNode root = MAPPER.readTree(body);
    JsonNode geo = need(root, "geometry");
    Geometry g =
        new Geometry(
            Unsigned.parse(need(geo, "vstart").asText()),
            Unsigned.parse(need(geo, "vend").asText()),
            Long.parseUnsignedLong(need(geo, "page").asText()),
            Long.parseUnsignedLong(need(geo, "zone").asText()),
            need(geo, "nodes").asInt());
    List<VmapInfo.AreaInfo> busy = areas(need(root, "busy"));
    List<VmapInfo.AreaInfo> lazy = areas(need(root, "lazy"));
    List<VmapInfo.NodeStats> nodes = new ArrayList<>();
    for (JsonNode n : need(root, "nodes")) {
      nodes.add(new VmapInfo.NodeStats(
          n.path("node").asInt(), n.path("busy").asInt(), n.path("lazy").asInt(),
          Long.parseUnsignedLong(n.path("freeBytes").asText("0")), n.path("freeBlocks").asInt(),
          Long.parseUnsignedLong(n.path("largestFreeBlock").asText("0")), n.path("reservations").asInt(),
          Long.parseUnsignedLong(n.path("reservedBytes").asText("0")), n.path("heldParts").asInt()));
    }
    PurgeProtocol.Status purge = null;
    JsonNode p = root.path("purge");
    if (p.isObject()) {
      List<PurgeProtocol.Holder> holders = new ArrayList<>();
      for (JsonNode h : p.path("holders")) {
        String at = h.path("flushSentAt").asText(null);
        holders.add(new PurgeProtocol.Holder(h.path("subscriber").asText(), h.path("epoch").asLong(),
            at == null ? null : Instant.parse(at)));
      }
      purge = new PurgeProtocol.Status(p.path("epoch").asLong(), p.path("phase").asText(), p.path("lazyPages").asLong(),
          p.path("thresholdPages").asLong(), p.path("subscribers").asInt(), holders, p.path("epochsRun").asLong(),
          p.path("areasReleased").asLong());
    }
    return new VmapInfo(g, busy, lazy, nodes, purge);
  }

  private static List<VmapInfo.AreaInfo> areas(JsonNode list) {
    List<VmapInfo.AreaInfo> out = new ArrayList<>();
    for (JsonNode a : list) {
      out.add(new VmapInfo.AreaInfo(
          new Area(Unsigned.parse(need(a, "start").asText()), Unsigned.parse(need(a, "end").asText()), a.path("tag").asText("")),
          a.path("node").asInt()));
    }
    return out;
  }

  private static JsonNode need(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) throw new IllegalArgumentException("not vmap info JSON: no '" + field + "'");
    return v;
  }
}
