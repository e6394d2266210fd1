package io.vmap.protocol;

import akka.actor.NoSerializationVerificationNeeded;
import akka.actor.typed.ActorRef;
import io.vmap.space.Area;
import io.vmap.state.LazyArea;
import io.vmap.state.ReleasePiece;
import io.vmap.protocol.WireMessage;
import java.time.Instant;
import java.util.List;

/**
 * The purge: lazy accounting, splice, flush, release and re-driving what a crashed coordinator left
 * unreleased. {@link Command} is what the purge coordinator accepts (from nodes, clients and flush
 * subscribers); {@link ToNode} is what it sends the nodes.
 */
public final class PurgeProtocol {

  private PurgeProtocol() {}

  // =================================================================== to the coordinator

  /** Everything the purge coordinator accepts. */
  public sealed interface Command extends WireMessage
      permits LazyFreed, PurgeSync, AwaitIdle, FlushAck, Subscribe, Unsubscribe, GetStatus, Spliced, Released,
          Unreleased, Local {}

  /** The coordinator's own timers and watches: never leave its JVM. */
  public non-sealed interface Local extends Command, NoSerializationVerificationNeeded {}

  /** A node freed an area of {@code pages} pages (it joined that node's lazy list). */
  public record LazyFreed(int node, long pages) implements Command {}

  /**
   * Purge now and answer when an epoch that started after this request has finished.
   *
   * @param tag echoed in the answer, so a sender with several waiting can tell them apart
   */
  public record PurgeSync(long tag, ActorRef<PurgeDone> replyTo) implements Command {
    public PurgeSync(ActorRef<PurgeDone> replyTo) {
      this(0, replyTo);
    }
  }

  /** @param released areas whose space became reusable in the epoch that answered */
  public record PurgeDone(long epoch, int released, long tag) implements WireMessage {}

  /** Answer when no epoch is running. */
  public record AwaitIdle(ActorRef<Idle> replyTo) implements Command {}

  public record Idle(long lastEpoch) implements WireMessage {}

  public record FlushAck(long epoch, ActorRef<Flush> subscriber) implements Command {}

  public record Subscribe(ActorRef<Flush> subscriber, ActorRef<Subscribed> replyTo) implements Command {}

  public record Subscribed(ActorRef<Flush> subscriber) implements WireMessage {}

  /** Stops flushes to {@code subscriber}; an epoch waiting only for it goes on. */
  public record Unsubscribe(ActorRef<Flush> subscriber) implements Command {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /**
   * A node's lazy list for {@code epoch}, in free order: the list the node handed over, not a copy
   * (the node never changes it again; in one JVM it is passed as is).
   */
  public record Spliced(long epoch, int node, List<LazyArea> areas) implements Command {}

  /**
   * A node merged one release batch back into its shard.
   *
   * @param batch the id of the {@link ReleasePieces} answered, or -1 (answers whichever batch of
   *     {@code node} is outstanding)
   */
  public record Released(long epoch, int node, int areas, long bytes, long batch) implements Command {
    /** An answer without a batch id. */
    public Released(long epoch, int node, int areas, long bytes) {
      this(epoch, node, areas, bytes, -1);
    }
  }

  /**
   * A node's answer to {@link ReportUnreleased}: areas an earlier epoch spliced but never released,
   * and every unpurged page whose area starts there.
   */
  public record Unreleased(int node, long spliceEpoch, List<LazyArea> purging, long unpurgedPages)
      implements Command {}

  // =================================================================== to subscribers and askers

  /**
   * Sent to a subscriber: drop translations of these ranges, then ack to {@code ackTo}.
   *
   * @param ranges the epoch's freed areas, grouped by the node that held them, in no particular
   *     order (sorting a big epoch would cost the coordinator more than the flush itself)
   */
  public record Flush(long epoch, List<Area> ranges, ActorRef<FlushAck> ackTo) implements WireMessage {
    /** The acknowledgement a subscriber sends for this flush. */
    public FlushAck ack(ActorRef<Flush> subscriber) {
      return new FlushAck(epoch, subscriber);
    }
  }

  /** A subscriber that has not acked the running epoch's flush yet, and since when. */
  public record Holder(String subscriber, long epoch, Instant flushSentAt) implements WireMessage {}

  /**
   * @param phase idle, recovering, splicing, flushing or releasing
   * @param holders subscribers the running epoch waits for (quarantining its space)
   */
  public record Status(
      long epoch,
      String phase,
      long lazyPages,
      long thresholdPages,
      int subscribers,
      List<Holder> holders,
      long epochsRun,
      long areasReleased)
      implements WireMessage {}

  // =================================================================== to the nodes

  /** What the coordinator sends a vmap node. */
  public sealed interface ToNode extends NodeMessage permits SpliceLazy, ReleasePieces, ReportUnreleased {}

  /** Hand the lazy list to purge {@code epoch} ({@code llist_del_all}). */
  public record SpliceLazy(long epoch, ActorRef<Command> replyTo) implements ToNode {}

  /**
   * Merge flushed pieces back into the free shard; one bounded batch. Idempotent: pieces released
   * already are skipped. The answer echoes {@code batch} so that the coordinator, which resends a
   * batch until it is answered, can tell a late or duplicate answer from the current batch's.
   *
   * @param areas the area each piece belongs to (same order), or empty: a piece is released only
   *     if what lies there now is that area's, so a late copy never frees a newer area's space
   */
  public record ReleasePieces(
      long epoch, List<ReleasePiece> pieces, ActorRef<Command> replyTo, long batch, List<Area> areas)
      implements ToNode {
    /** A batch without an id (answered with batch -1) nor areas. */
    public ReleasePieces(long epoch, List<ReleasePiece> pieces, ActorRef<Command> replyTo) {
      this(epoch, pieces, replyTo, -1, List.of());
    }
  }

  /** A (new) purge coordinator asks for what an interrupted epoch left: spliced, never released. */
  public record ReportUnreleased(ActorRef<Command> replyTo) implements ToNode {}
}
