package io.vmap.protocol;

import akka.actor.typed.ActorRef;
import io.vmap.space.Area;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.HeldPart;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.Principal;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import io.vmap.state.TenantUsage;
import io.vmap.protocol.WireMessage;
import java.util.List;

/**
 * What clients send a vmap node, and its answers: batches of allocs, frees and finds, info and
 * inspection.
 *
 * <p>A client (a {@code VmapClient}: one session) sends each node one batch at a time and queues
 * what comes meanwhile, so under load requests travel many to a message. Each request carries its
 * {@link RequestKey}; the node answers each exactly once per arrival (a retry gets the first
 * answer), in one {@link Replies} for everything it could answer in the batch's turn, and later,
 * alone, for a request it had to place elsewhere or wait for (a walk, a spanning allocation, a
 * purge, a check with another node).
 */
public final class ClientProtocol {

  private ClientProtocol() {}

  /** A client's message to one node. */
  public sealed interface Command extends NodeMessage permits Batch, GetInfo, Inspect, GetTenants {}

  /**
   * Requests to one node, handled in one turn in list order; each gets the answer it would get
   * alone at that point in the order.
   *
   * @param batch echoed by the {@link Replies} that acknowledges it (the client's next batch to this
   *     node waits for it); -1 for a batch that needs no acknowledgement (forwarded by a node)
   * @param session the client's session with this node (its requests' {@link RequestKey#session})
   * @param ackFloor the lowest sequence number of {@code session} the client still waits for an
   *     answer to from this node (one past its last request if none): the node may drop the answers
   *     below it and refuses those requests from then on; negative when not known (a forwarded
   *     batch, a test acting as client), so the node keeps what it has
   */
  public record Batch(long batch, List<Request> requests, ActorRef<Replies> replyTo, long session, long ackFloor)
      implements Command {

    /** A batch that acknowledges nothing. */
    public Batch(long batch, List<Request> requests, ActorRef<Replies> replyTo) {
      this(batch, requests, replyTo, 0, -1);
    }
  }

  /** One request of a batch. */
  public sealed interface Request permits AllocRequest, FreeRequest, FindRequest {
    RequestKey key();
  }

  /** Allocate, with this node as home, for the spec's tenant. */
  public record AllocRequest(RequestKey key, AllocSpec spec) implements Request {}

  /**
   * Free the area starting at {@code addr} (lazily), if {@code by} may see it: another tenant's
   * area is answered exactly like a missing one (ENOENT), an admin may free any.
   *
   * @param by who asks; null reads as {@link Principal#SYSTEM}
   */
  public record FreeRequest(RequestKey key, long addr, Principal by) implements Request {
    public FreeRequest {
      if (by == null) by = Principal.SYSTEM;
    }

    public FreeRequest(RequestKey key, long addr) {
      this(key, addr, Principal.SYSTEM);
    }
  }

  /**
   * The busy area containing {@code addr}, if {@code by} may see it (else none).
   *
   * @param by who asks; null reads as {@link Principal#SYSTEM}
   */
  public record FindRequest(RequestKey key, long addr, Principal by) implements Request {
    public FindRequest {
      if (by == null) by = Principal.SYSTEM;
    }

    public FindRequest(RequestKey key, long addr) {
      this(key, addr, Principal.SYSTEM);
    }
  }

  /**
   * Answers to requests of one client.
   *
   * @param batch the batch this acknowledges: every request of it is answered here or will be
   *     alone later; -1 when it acknowledges none (answers of requests that had to wait)
   */
  public record Replies(long batch, List<Reply> replies) implements WireMessage {}

  /** The answer to one request. */
  public sealed interface Reply permits Allocated, Freed, Found, Failed {
    RequestKey key();
  }

  /** @param node the node whose busy tree holds the area ({@code nodeOf(area.start)}) */
  public record Allocated(RequestKey key, Area area, int node) implements Reply {}

  public record Freed(RequestKey key, Area area) implements Reply {}

  /** @param area null when no busy area contains {@code addr} */
  public record Found(RequestKey key, long addr, Area area, int node) implements Reply {
    public boolean found() {
      return area != null;
    }
  }

  public record Failed(RequestKey key, ErrorCode code, String reason) implements Reply {}

  /** This node's areas and counters, for {@code info}. */
  public record GetInfo(ActorRef<NodeInfo> replyTo) implements Command {}

  /**
   * What each tenant holds on this node, without the areas themselves: the light view a dashboard
   * polls ({@code GET /v1/tenants}), where {@link GetInfo} would copy every area.
   */
  public record GetTenants(ActorRef<TenantsHere> replyTo) implements Command {}

  /** Answer to {@link GetTenants}: what each tenant holding something on {@code node} holds there. */
  public record TenantsHere(int node, List<TenantUsage> tenants) implements WireMessage {
    public TenantsHere {
      tenants = tenants == null ? List.of() : List.copyOf(tenants);
    }
  }

  /** This node's books, for an fsck: free blocks, areas, parts, reservations and their ages. */
  public record Inspect(ActorRef<NodeReport> replyTo) implements Command {}

  /**
   * A node's view for {@code info}: busy and unpurged areas in no particular order.
   *
   * @param owners the tenant of each busy or unpurged area that does not belong to the default
   *     tenant, by area start
   * @param tenants what each tenant holds on this node
   */
  public record NodeInfo(
      int node,
      List<Area> busy,
      List<LazyArea> lazy,
      long freeBytes,
      int freeBlocks,
      long largestFreeBlock,
      int reservations,
      long reservedBytes,
      int heldParts,
      java.util.Map<Long, String> owners,
      List<TenantUsage> tenants)
      implements WireMessage {

    public NodeInfo {
      if (owners == null) owners = java.util.Map.of();
      if (tenants == null) tenants = List.of();
    }

    /** A node's view where every area belongs to the default tenant. */
    public NodeInfo(int node, List<Area> busy, List<LazyArea> lazy, long freeBytes, int freeBlocks,
        long largestFreeBlock, int reservations, long reservedBytes, int heldParts) {
      this(node, busy, lazy, freeBytes, freeBlocks, largestFreeBlock, reservations, reservedBytes, heldParts,
          java.util.Map.of(), List.of());
    }

    /** The tenant of the area starting at {@code start}. */
    public String ownerOf(long start) {
      return owners.getOrDefault(start, Principal.DEFAULT_TENANT);
    }
  }

  /**
   * Answer to {@link Inspect}.
   *
   * @param freeStarts starts of the free shard's plain blocks, ascending; {@code freeEnds} their ends
   * @param spanning busy areas of this node that span zones, with every part (on any node)
   * @param unpurged lazily freed areas of this node not released yet, with their parts
   * @param held pieces of other nodes' spanning areas that lie in this node's zones
   * @param freeRuns the shard's runs of free blocks (untouched zones), one entry each: with
   *     {@code freeStarts}, every free block, never one per untouched zone
   * @param owners the tenant of each busy or unpurged area that does not belong to the default
   *     tenant, by area start (as in {@link NodeInfo})
   */
  public record NodeReport(
      int node,
      long[] freeStarts,
      long[] freeEnds,
      List<Area> busy,
      List<LazyArea> spanning,
      List<LazyArea> unpurged,
      List<HeldPart> held,
      List<ReservationAge> reservations,
      io.vmap.space.FreeRuns freeRuns,
      java.util.Map<Long, String> owners)
      implements WireMessage {

    public NodeReport {
      if (owners == null) owners = java.util.Map.of();
    }
  }

  /** A spanning reservation held by the inspected node, how long ago it was made and its lease. */
  public record ReservationAge(
      ReservationId id, Area area, int startOwner, List<Part> myParts, long ageMillis, long leaseMillis)
      implements WireMessage {}
}
