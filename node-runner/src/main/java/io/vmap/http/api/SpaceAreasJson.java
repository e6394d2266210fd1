package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.util.List;

/**
 * {@code GET /v1/space/areas}: every range overlapping {@code [from, to)} in address order (busy
 * and lazy areas, reserved parts, free blocks), at most {@code limit}; {@code truncated} when there
 * were more.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SpaceAreasJson(
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long from,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long to,
    @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long zone,
    int limit,
    boolean truncated,
    List<SpaceAreaJson> areas,
    String takenAt) {}
