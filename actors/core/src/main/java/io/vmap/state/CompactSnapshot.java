package io.vmap.state;

import io.vmap.space.FreeRuns;
import java.util.List;

/**
 * What the snapshot store keeps of a node: its state ({@link NodeSnapshot}, whose block lists are
 * left empty), its free space as entries ({@link FreeRuns}: a run of untouched zones is one entry,
 * so a node of the 12.5 PiB five-level space stores a few entries, not one per zone), and the owners
 * of its areas ({@link Ownership}). Written since free runs exist; {@link NodeSnapshot} and {@link
 * OwnedSnapshot}, which list free blocks one by one, are still read ({@link OwnedSnapshot#restore}).
 *
 * @param ownedStarts starts of the areas (busy or unpurged) owned by tenants other than the default
 *     one; {@code owners} their tenants, same order
 */
public record CompactSnapshot(NodeSnapshot state, FreeRuns free, List<Long> ownedStarts, List<String> owners) {}
