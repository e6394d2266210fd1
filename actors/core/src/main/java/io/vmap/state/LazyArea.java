package io.vmap.state;

import io.vmap.space.Area;
import java.util.List;

/**
 * An area that was freed but whose space is not reusable yet (the kernel's purge list entry).
 *
 * @param node the node whose busy tree held it ({@code nodeOf(area.start)})
 * @param parts where its space lives: one part on {@code node} unless the area spans zones
 */
public record LazyArea(Area area, int node, List<Part> parts) {}
