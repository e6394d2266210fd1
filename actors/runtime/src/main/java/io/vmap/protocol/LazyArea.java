package io.vmap.protocol;

import io.vmap.space.Area;
import io.vmap.wire.WireMessage;
import java.util.List;

/**
 * An area that was freed but whose space is not reusable yet (the kernel's purge list entry).
 *
 * @param node the node whose busy tree held it ({@code nodeOf(area.start)})
 * @param parts where its space lives: one part on {@code node} unless the area spans zones
 */
public record LazyArea(Area area, int node, List<Part> parts) implements WireMessage {}
