package io.vmap.protocol;

import akka.actor.typed.ActorRef;
import io.vmap.space.Area;
import io.vmap.state.AllocSpec;
import io.vmap.state.AttemptId;
import io.vmap.state.Decision;
import io.vmap.state.ErrorCode;
import io.vmap.state.Part;
import io.vmap.state.PlacementId;
import io.vmap.state.Principal;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import io.vmap.state.ZoneEdge;
import io.vmap.protocol.WireMessage;
import java.util.List;

/**
 * What vmap nodes send each other: the neighbour walk, lookups of spanning areas, the spanning
 * allocator's edge runs, reservations and commits, and placement confirmation.
 */
public final class PeerProtocol {

  private PeerProtocol() {}

  /** A node-to-node request. */
  public sealed interface Command extends NodeMessage
      permits AllocHere, FindHere, CheckAddress, GetEdgeRuns, Reserve, CommitArea, CommitPart, CancelReservation,
          ResolveReservation, Resolution, PlacementQuery, PlacementAnswer {}

  // ---- the neighbour walk

  /** Try this node's shard only; the outcome, success or not, is remembered by {@code attempt}. */
  public record AllocHere(AttemptId attempt, AllocSpec spec, ActorRef<AttemptReply> replyTo) implements Command {}

  /** Answer to {@link AllocHere}. */
  public sealed interface AttemptReply extends WireMessage permits AttemptPlaced, AttemptFailed {
    AttemptId attempt();
  }

  /** @param node the node whose busy tree holds the area */
  public record AttemptPlaced(AttemptId attempt, Area area, int node) implements AttemptReply {}

  public record AttemptFailed(AttemptId attempt, ErrorCode code, String reason) implements AttemptReply {}

  /**
   * A client's lookup of {@code addr}, forwarded to the node holding the start of the spanning area
   * whose piece covers it: look it up in this node's busy tree only and answer the client.
   */
  public record FindHere(RequestKey key, long addr, ActorRef<ClientProtocol.Replies> replyTo, Principal by)
      implements Command {
    public FindHere {
      if (by == null) by = Principal.SYSTEM;
    }
  }

  /** Is {@code addr} inside one of this node's busy areas? (A free of an address in a piece held elsewhere.) */
  public record CheckAddress(long addr, ActorRef<AddressChecked> replyTo) implements Command {}

  /**
   * @param area the busy area of the answering node containing {@code addr}, or null
   * @param owner the tenant {@code area} belongs to
   */
  public record AddressChecked(long addr, Area area, String owner) implements WireMessage {
    public AddressChecked {
      if (owner == null) owner = Principal.DEFAULT_TENANT;
    }
  }

  // ---- spanning allocation (SpanningAllocator)

  /** Edge runs of this node's zones in {@code [firstZone, lastZone]}; {@code query} is echoed. */
  public record GetEdgeRuns(long query, long firstZone, long lastZone, ActorRef<EdgeRuns> replyTo) implements Command {}

  public record EdgeRuns(long query, int node, List<ZoneEdge> edges) implements WireMessage {}

  /** Phase one: carve {@code myParts} out of the shard for at most {@code leaseMillis}. */
  public record Reserve(
      ReservationId id,
      int startOwner,
      List<Part> myParts,
      List<Part> allParts,
      long leaseMillis,
      ActorRef<ReserveReply> replyTo)
      implements Command {}

  public record ReserveReply(ReservationId id, int node, boolean ok, String reason) implements WireMessage {}

  /**
   * Phase two on the start owner: the commit point.
   *
   * @param tenant the tenant the area will belong to (null reads as the default tenant)
   */
  public record CommitArea(ReservationId id, ActorRef<CommitReply> replyTo, String tenant) implements Command {
    public CommitArea {
      if (tenant == null) tenant = Principal.DEFAULT_TENANT;
    }

    public CommitArea(ReservationId id, ActorRef<CommitReply> replyTo) {
      this(id, replyTo, Principal.DEFAULT_TENANT);
    }
  }

  public record CommitReply(ReservationId id, boolean committed) implements WireMessage {}

  /** Phase two on the other owners, sent only after the start owner committed. */
  public record CommitPart(ReservationId id) implements Command {}

  /** Give a reservation's space back (the spanning allocator gave up). */
  public record CancelReservation(ReservationId id) implements Command {}

  /** A part owner whose lease ran out asks the start owner what was decided. */
  public record ResolveReservation(ReservationId id, int asker) implements Command {}

  public record Resolution(ReservationId id, Decision decision) implements Command {}

  // ---- placement confirmation

  /**
   * A node that placed an area for another node's request (a neighbour's {@link AllocHere}, or
   * the start owner of a committed spanning area) asks the request's home, a lease later and then
   * every lease until answered, whether it kept that area. The home answers once what it answered
   * for the request is stored: kept (its answer is this area; or it has no answer at all, having
   * restarted since, and adopts the area as its answer so a retry finds it), or not kept (it
   * answered otherwise: the area was never given to anyone, and the placing node frees it). While
   * the request is still being placed it does not answer.
   */
  public record PlacementQuery(RequestKey request, PlacementId placement, Area area, int asker) implements Command {}

  public record PlacementAnswer(PlacementId placement, boolean kept) implements Command {}
}
