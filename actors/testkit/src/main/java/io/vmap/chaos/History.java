package io.vmap.chaos;

import io.vmap.state.ErrorCode;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A history of client operations and of what the checker needs besides them, recorded while a
 * system runs and verified afterwards by {@link Checker}. Thread-safe: every record gets the next
 * number of one global sequence, so "recorded before" is a total order consistent with causality
 * (a reply is recorded after the request it answers was recorded, an ack before it is sent).
 *
 * <ul>
 *   <li>Client operations: {@link Invoke} when a call starts, then one {@link Complete} with
 *       {@link Outcome#OK} (the answer), {@link Outcome#FAIL} (a definite error) or {@link
 *       Outcome#TIMEOUT} (no answer: the operation may or may not have taken effect). An
 *       allocation retried later with the same request id is a new operation with the same id.
 *   <li>{@link FlushAcked}: a flush subscriber acknowledged an epoch's ranges (recorded before the
 *       ack is sent); {@link Subscribed}: a subscriber's subscription was confirmed.
 *   <li>{@link Incarnation}: an actor incarnation of a vmap node started or stopped.
 * </ul>
 *
 * <pre>{@code
 * History h = new History(geometry);
 * History.Op op = h.alloc("req-1", new History.AllocRequest(8192, 4096, null, null, "req-1"));
 * client.alloc(...).whenComplete((a, err) -> { if (err == null) op.ok(a.area()); else op.failed(err); });
 * }</pre>
 */
public final class History {

  public enum Kind { ALLOC, FREE, FIND, PURGE }

  public enum Outcome { OK, FAIL, TIMEOUT }

  /** One record; {@code seq} orders all records of a history. */
  public sealed interface Event permits Invoke, Complete, FlushAcked, Subscribed, Incarnation {
    long seq();
  }

  /** What an allocation asked for; null bounds mean the space's. */
  public record AllocRequest(long size, long align, Long vstart, Long vend, String tag) {}

  /**
   * A client call started.
   *
   * @param alloc the request, for ALLOC
   * @param addr the address, for FREE and FIND
   * @param target for FREE, the area the client means to free (it allocated it), or null
   */
  public record Invoke(long seq, long op, Kind kind, String requestId, AllocRequest alloc, long addr, Area target)
      implements Event {}

  /**
   * A client call ended.
   *
   * @param area OK: the allocated, freed or found area (null: find found nothing)
   * @param count OK of PURGE: areas released
   */
  public record Complete(long seq, long op, Outcome outcome, Area area, long count, ErrorCode code, String reason)
      implements Event {}

  public record FlushAcked(long seq, String subscriber, long epoch, List<Area> ranges) implements Event {}

  public record Subscribed(long seq, String subscriber) implements Event {}

  /** @param actor the actor's path and uid: one incarnation */
  public record Incarnation(long seq, int node, String actor, boolean started) implements Event {}

  /** One operation in flight: complete it exactly once (later completions are ignored). */
  public final class Op {
    private final long id;
    private final Kind kind;
    private boolean done;

    private Op(long id, Kind kind) {
      this.id = id;
      this.kind = kind;
    }

    public long id() {
      return id;
    }

    public Kind kind() {
      return kind;
    }

    /** The answer: the area allocated, freed or found (null: find found nothing). */
    public void ok(Area area) {
      complete(Outcome.OK, area, 0, null, null);
    }

    /** A purge's answer. */
    public void okCount(long count) {
      complete(Outcome.OK, null, count, null, null);
    }

    /** A definite error: the operation had no effect. */
    public void fail(ErrorCode code, String reason) {
      if (code == ErrorCode.ETIMEDOUT) {
        timeout(reason);
      } else {
        complete(Outcome.FAIL, null, 0, code, reason);
      }
    }

    /**
     * The failure of a client stage: a {@link io.vmap.client.VmapException} is a definite error
     * (or a timeout, for ETIMEDOUT); anything else counts as a timeout (outcome unknown).
     */
    public void failed(Throwable t) {
      Throwable c = t;
      while ((c instanceof java.util.concurrent.CompletionException
              || c instanceof java.util.concurrent.ExecutionException)
          && c.getCause() != null) {
        c = c.getCause();
      }
      if (c instanceof io.vmap.client.VmapException v) {
        fail(v.code(), v.reason());
      } else {
        timeout(String.valueOf(c));
      }
    }

    /** No answer in time: the operation may or may not have taken effect. */
    public void timeout(String reason) {
      complete(Outcome.TIMEOUT, null, 0, ErrorCode.ETIMEDOUT, reason);
    }

    private void complete(Outcome o, Area area, long count, ErrorCode code, String reason) {
      synchronized (History.this) {
        if (done) return;
        done = true;
        events.add(new Complete(nextSeq++, id, o, area, count, code, reason));
      }
    }
  }

  private final Geometry geometry;
  private final List<Event> events = new ArrayList<>();
  private long nextSeq;
  private long nextOp;

  public History(Geometry geometry) {
    this.geometry = geometry;
  }

  public Geometry geometry() {
    return geometry;
  }

  public Op alloc(String requestId, AllocRequest request) {
    return invoke(Kind.ALLOC, requestId, request, 0, null);
  }

  /** @param target the area being freed (the caller allocated it), or null if unknown */
  public Op free(String requestId, long addr, Area target) {
    return invoke(Kind.FREE, requestId, null, addr, target);
  }

  public Op find(long addr) {
    return invoke(Kind.FIND, null, null, addr, null);
  }

  public Op purge() {
    return invoke(Kind.PURGE, null, null, 0, null);
  }

  private synchronized Op invoke(Kind kind, String requestId, AllocRequest request, long addr, Area target) {
    Op op = new Op(nextOp++, kind);
    events.add(new Invoke(nextSeq++, op.id, kind, requestId, request, addr, target));
    return op;
  }

  /** Subscriber {@code name} acknowledges {@code epoch}'s flush of {@code ranges}: call before sending the ack. */
  public synchronized void flushAcked(String subscriber, long epoch, List<Area> ranges) {
    events.add(new FlushAcked(nextSeq++, subscriber, epoch, List.copyOf(ranges)));
  }

  /** Subscriber {@code name}'s subscription was confirmed by the coordinator. */
  public synchronized void subscribed(String subscriber) {
    events.add(new Subscribed(nextSeq++, subscriber));
  }

  public synchronized void incarnationStarted(int node, String actor) {
    events.add(new Incarnation(nextSeq++, node, actor, true));
  }

  /** Idempotent per actor: only the first stop of an incarnation is recorded. */
  public synchronized void incarnationStopped(int node, String actor) {
    for (int i = events.size() - 1; i >= 0; i--) {
      if (events.get(i) instanceof Incarnation in && in.node() == node && in.actor().equals(actor)) {
        if (!in.started()) return;
        break;
      }
    }
    events.add(new Incarnation(nextSeq++, node, actor, false));
  }

  /** Every record so far, in sequence order. */
  public synchronized List<Event> events() {
    return List.copyOf(events);
  }

  public synchronized int size() {
    return events.size();
  }

  /** One line per record, for a file to look at (or diff) after a run. */
  public void print(PrintStream out) {
    out.println("# vmap chaos history: " + geometry);
    for (Event e : events()) {
      out.println(line(e));
    }
  }

  static String line(Event e) {
    if (e instanceof Invoke i) {
      String what = switch (i.kind()) {
        case ALLOC -> "size=" + i.alloc().size() + " align=" + i.alloc().align()
            + (i.alloc().vstart() == null ? "" : " vstart=" + Unsigned.hex(i.alloc().vstart()))
            + (i.alloc().vend() == null ? "" : " vend=" + Unsigned.hex(i.alloc().vend()))
            + " tag=" + i.alloc().tag();
        case FREE, FIND -> Unsigned.hex(i.addr());
        case PURGE -> "";
      };
      return i.seq() + " invoke op" + i.op() + " " + i.kind().name().toLowerCase() + " "
          + (i.requestId() == null ? "" : "id=" + i.requestId() + " ") + what;
    }
    if (e instanceof Complete c) {
      return c.seq() + " " + c.outcome().name().toLowerCase() + " op" + c.op()
          + (c.area() != null ? " " + c.area() : "")
          + (c.code() != null ? " " + c.code() + " " + c.reason() : "")
          + (c.count() != 0 ? " count=" + c.count() : "");
    }
    if (e instanceof FlushAcked f) {
      StringBuilder r = new StringBuilder();
      for (Area a : f.ranges()) r.append(' ').append(Unsigned.hex(a.start())).append('-').append(Unsigned.hex(a.end()));
      return f.seq() + " flush-ack " + f.subscriber() + " epoch " + f.epoch() + r;
    }
    if (e instanceof Subscribed s) return s.seq() + " subscribed " + s.subscriber();
    Incarnation in = (Incarnation) e;
    return in.seq() + " node " + in.node() + (in.started() ? " started " : " stopped ") + in.actor();
  }
}
