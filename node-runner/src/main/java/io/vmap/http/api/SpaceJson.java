package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;

/**
 * {@code GET /v1/space}: the zones of {@code [from, to)} as cells, each cell {@code zonesPerCell}
 * consecutive zones (one zone per cell when the range has at most {@code cells} zones). The cell
 * columns are parallel arrays: cell {@code i} covers zones {@code firstZone + i * zonesPerCell}
 * onwards and its bytes are {@code busy[i] + lazy[i] + reserved[i] + free[i]} (= {@code bytes[i]}
 * when the books are consistent). {@code node[i]} is the owner of the cell's zone, null when the
 * cell holds zones of several nodes. {@code spanning} lists the areas in the range that cross a
 * zone boundary (at most {@code spanningLimit}).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SpaceJson(
    InfoJson.GeometryJson geometry,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long from,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long to,
    long firstZone,
    long zones,
    long zonesPerCell,
    int cells,
    Cells columns,
    Totals totals,
    List<SpaceAreaJson> spanning,
    boolean spanningTruncated,
    String takenAt) {

  /** Parallel arrays, one entry per cell; bytes as JSON numbers. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Cells(
      @JsonSerialize(contentUsing = Wire.HexOut.class) @JsonDeserialize(contentUsing = Wire.AddressIn.class) List<Long> start,
      long[] bytes, long[] busy, long[] lazy, long[] reserved, long[] free, List<Integer> node) {}

  /** Bytes of the whole range by state. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Totals(
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long bytes,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long busy,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long lazy,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long reserved,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) long free) {}
}
