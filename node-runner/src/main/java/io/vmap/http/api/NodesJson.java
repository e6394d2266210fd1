package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;

/**
 * {@code GET /v1/nodes}: per vmap node, what its zones hold (busy, lazy, reserved and free bytes;
 * counts), its fragmentation (largest free block against free bytes, a histogram of free block
 * sizes) and the requests this member served for it over the last {@code windowSeconds}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record NodesJson(
    InfoJson.GeometryJson geometry,
    List<Node> nodes,
    Traffic unattributed,
    List<OpTraffic> ops,
    int windowSeconds,
    String takenAt) {

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Node(
      int node,
      long zones,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long zoneBytes,
      int busy,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long busyBytes,
      int lazy,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long lazyBytes,
      int reservations,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long reservedBytes,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long freeBytes,
      int freeBlocks,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long largestFreeBlock,
      int heldParts,
      List<FreeBucket> freeHistogram,
      Traffic traffic) {}

  /** Free blocks of {@code minBytes <= size < 2 * minBytes}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record FreeBucket(
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long minBytes,
      long blocks,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long bytes) {}

  /**
   * Requests over the window: {@code requests} and {@code errors} (answers of status 400 and up)
   * in the window, their rate, the latency percentiles in milliseconds (null without requests),
   * and {@code total} since the member started.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Traffic(long requests, long errors, double perSecond, Double p50Ms, Double p99Ms, long total) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record OpTraffic(String op, Traffic traffic) {}
}
