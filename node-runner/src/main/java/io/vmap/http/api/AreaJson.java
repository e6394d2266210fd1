package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.vmap.space.Area;

/** An area: {@code {"start":"0x…","end":"0x…","size":8192,"node":0,"tag":"buf"}}. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record AreaJson(
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long start,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long end,
    @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long size,
    int node,
    String tag) {

  public static AreaJson of(Area a, int node) {
    return new AreaJson(a.start(), a.end(), a.size(), node, a.tag());
  }

  /** The area; a missing start or end is {@link Api.BadJson}. */
  public Area toArea() {
    if (start == null || end == null) throw new Api.BadJson("area: needs start and end, got " + this);
    return new Area(start, end, tag == null ? "" : tag);
  }
}
