package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.vmap.space.Area;

/**
 * An area: {@code {"start":"0x…","end":"0x…","size":8192,"node":0,"tag":"buf"}}; in {@code
 * /v1/info} also its {@code "tenant"}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record AreaJson(
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long start,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long end,
    @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long size,
    int node,
    String tag,
    @JsonInclude(JsonInclude.Include.NON_NULL) String tenant) {

  public AreaJson(Long start, Long end, Long size, int node, String tag) {
    this(start, end, size, node, tag, null);
  }

  public static AreaJson of(Area a, int node) {
    return new AreaJson(a.start(), a.end(), a.size(), node, a.tag());
  }

  /** An area of {@code info}, with its tenant. */
  public static AreaJson of(io.vmap.client.VmapInfo.AreaInfo a) {
    return new AreaJson(a.area().start(), a.area().end(), a.area().size(), a.node(), a.area().tag(), a.tenant());
  }

  /** The area; a missing start or end is {@link Api.BadJson}. */
  public Area toArea() {
    if (start == null || end == null) throw new Api.BadJson("area: needs start and end, got " + this);
    return new Area(start, end, tag == null ? "" : tag);
  }
}
