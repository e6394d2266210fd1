package io.vmap.protocol;

import akka.actor.typed.ActorRef;
import io.vmap.space.Area;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.HeldPart;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.RequestId;
import io.vmap.state.ReservationId;
import io.vmap.wire.WireMessage;
import java.util.List;

/** What clients send a vmap node, and its answers: alloc, free, find, info and inspection. */
public final class ClientProtocol {

  private ClientProtocol() {}

  /** A client's request to one node. */
  public sealed interface Command extends NodeMessage permits Alloc, Free, Find, GetInfo, Inspect {}

  /** Allocate, with this node as home. Retrying with the same id returns the first answer. */
  public record Alloc(RequestId requestId, AllocSpec spec, ActorRef<AllocReply> replyTo) implements Command {}

  /** Free the area starting at {@code addr} (lazily). Retrying with the same id returns the first answer. */
  public record Free(RequestId requestId, long addr, ActorRef<FreeReply> replyTo) implements Command {}

  /** The busy area containing {@code addr}. */
  public record Find(long addr, ActorRef<FindReply> replyTo) implements Command {}

  /** This node's areas and counters, for {@code info}. */
  public record GetInfo(ActorRef<NodeInfo> replyTo) implements Command {}

  /** This node's books, for an fsck: free blocks, areas, parts, reservations and their ages. */
  public record Inspect(ActorRef<NodeReport> replyTo) implements Command {}

  /** Answer to {@link Alloc}. */
  public sealed interface AllocReply extends WireMessage permits Allocated, AllocFailed {
    RequestId requestId();
  }

  /** @param node the node whose busy tree holds the area ({@code nodeOf(area.start)}) */
  public record Allocated(RequestId requestId, Area area, int node) implements AllocReply {}

  public record AllocFailed(RequestId requestId, ErrorCode code, String reason) implements AllocReply {}

  /** Answer to {@link Free}. */
  public sealed interface FreeReply extends WireMessage permits Freed, FreeFailed {
    RequestId requestId();
  }

  public record Freed(RequestId requestId, Area area) implements FreeReply {}

  public record FreeFailed(RequestId requestId, ErrorCode code, String reason) implements FreeReply {}

  /** Answer to {@link Find} (and to a peer's {@link PeerProtocol.FindHere}): {@code area} is null when none contains {@code addr}. */
  public record FindReply(long addr, Area area, int node) implements WireMessage {
    public boolean found() {
      return area != null;
    }
  }

  /** A node's view for {@code info}: busy and unpurged areas in no particular order. */
  public record NodeInfo(
      int node,
      List<Area> busy,
      List<LazyArea> lazy,
      long freeBytes,
      int freeBlocks,
      long largestFreeBlock,
      int reservations,
      long reservedBytes,
      int heldParts)
      implements WireMessage {}

  /**
   * Answer to {@link Inspect}.
   *
   * @param freeStarts starts of the free shard's blocks, ascending; {@code freeEnds} their ends
   * @param spanning busy areas of this node that span zones, with every part (on any node)
   * @param unpurged lazily freed areas of this node not released yet, with their parts
   * @param held pieces of other nodes' spanning areas that lie in this node's zones
   */
  public record NodeReport(
      int node,
      long[] freeStarts,
      long[] freeEnds,
      List<Area> busy,
      List<LazyArea> spanning,
      List<LazyArea> unpurged,
      List<HeldPart> held,
      List<ReservationAge> reservations)
      implements WireMessage {}

  /** A spanning reservation held by the inspected node, how long ago it was made and its lease. */
  public record ReservationAge(
      ReservationId id, Area area, int startOwner, List<Part> myParts, long ageMillis, long leaseMillis)
      implements WireMessage {}
}
