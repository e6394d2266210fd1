package io.vmap.state;

import io.vmap.space.Area;
import java.util.List;

/**
 * Everything in a {@link NodeState} but its free space, immutable ({@link NodeState#snapshot}); the
 * snapshot store keeps it inside a {@link CompactSnapshot}, with the free space as runs. Before free
 * runs it was stored alone (or in an {@link OwnedSnapshot}) with every free block listed, one per
 * untouched zone: such snapshots are still restored ({@link NodeState#restore(NodeSnapshot,
 * io.vmap.space.Geometry, NodeState.Memory)}). The format of this record never changes (Kryo id 207).
 *
 * @param freeStarts starts of the free shard's blocks, ascending, in snapshots stored before free
 *     runs; empty since ({@link CompactSnapshot#free()}); {@code freeEnds} their ends
 * @param spanStarts starts of this node's busy spanning areas; {@code spanParts} their parts
 * @param clientKeys keys of the remembered answers to clients, in {@link ClientAnswers#forEach}
 *     order; {@code clientAnswers} the answers
 * @param attemptKeys keys of the remembered answers to neighbour attempts, oldest first; {@code
 *     attemptAnswers} the answers
 * @param abandonedKeys placements freed because their home did not keep them; {@code abandoned}
 *     the areas freed
 * @param releaseEpoch the epoch of the last release; {@code releasedInEpoch} every piece released in it
 */
public record NodeSnapshot(
    int node,
    long spliceEpoch,
    long[] freeStarts,
    long[] freeEnds,
    List<Area> busy,
    List<Long> spanStarts,
    List<List<Part>> spanParts,
    List<HeldPart> held,
    List<Reservation> reservations,
    List<LazyArea> lazy,
    List<LazyArea> purging,
    List<ReservationId> decisionIds,
    List<Decision> decisions,
    List<RequestKey> clientKeys,
    List<Answer> clientAnswers,
    List<PlacementId> attemptKeys,
    List<Answer> attemptAnswers,
    List<PlacementId> abandonedKeys,
    List<Answer> abandoned,
    long releaseEpoch,
    List<ReleasePiece> releasedInEpoch) {}
