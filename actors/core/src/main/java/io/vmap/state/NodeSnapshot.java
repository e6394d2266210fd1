package io.vmap.state;

import io.vmap.space.Area;
import java.util.List;

/**
 * Everything in a {@link NodeState}, immutable: what the snapshot store keeps and what a recovered
 * node is rebuilt from ({@link NodeState#restore}).
 *
 * @param freeStarts starts of the free shard's blocks, ascending; {@code freeEnds} their ends
 * @param spanStarts starts of this node's busy spanning areas; {@code spanParts} their parts
 * @param allocKeys keys of the remembered allocation answers, oldest first; {@code allocs} the answers
 * @param freeKeys keys of the remembered free answers, oldest first; {@code frees} the answers
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
    List<AnswerKey> allocKeys,
    List<Outcome> allocs,
    List<AnswerKey> freeKeys,
    List<Outcome> frees) {}
