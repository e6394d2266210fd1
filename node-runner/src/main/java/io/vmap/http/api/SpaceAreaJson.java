package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;

/**
 * One range of the space map: a busy or lazily freed area, a spanning reservation's part, or a
 * free block. {@code node} is the node whose books hold it (for an area: {@code nodeOf(start)});
 * {@code tenant} is an area's tenant ("default" without tenants), null for a free block or a
 * reservation (its tenant is known at commit);
 * {@code spans} says it crosses a zone boundary, and {@code nodes} lists the owners of the zones it
 * covers (every node when it covers at least as many zones as there are nodes).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SpaceAreaJson(
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long start,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long end,
    @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long size,
    String state,
    int node,
    String tag,
    String tenant,
    boolean spans,
    List<Integer> nodes) {

  /** The values of {@code state}. */
  public static final List<String> STATES = List.of("busy", "lazy", "reserved", "free");
}
