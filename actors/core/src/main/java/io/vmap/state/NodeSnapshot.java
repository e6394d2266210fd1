package io.vmap.state;

import io.vmap.space.Area;
import java.util.List;

/**
 * Everything in a {@link NodeState}, immutable: what the snapshot store keeps and what a recovered
 * node is rebuilt from ({@link NodeState#restore}).
 *
 * @param freeStarts starts of the free shard's blocks, ascending; {@code freeEnds} their ends
 * @param spanStarts starts of this node's busy spanning areas; {@code spanParts} their parts
 * @param clientKeys keys of the remembered answers to clients, in {@link ClientAnswers#forEach}
 *     order; {@code clientAnswers} the answers
 * @param attemptKeys keys of the remembered answers to neighbour attempts, oldest first; {@code
 *     attemptAnswers} the answers
 * @param abandonedKeys placements freed because their home did not keep them; {@code abandoned}
 *     the areas freed
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
    List<Answer> abandoned) {}
