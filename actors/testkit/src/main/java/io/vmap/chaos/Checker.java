package io.vmap.chaos;

import io.vmap.chaos.History.Complete;
import io.vmap.chaos.History.Event;
import io.vmap.chaos.History.FlushAcked;
import io.vmap.chaos.History.Incarnation;
import io.vmap.chaos.History.Invoke;
import io.vmap.chaos.History.Kind;
import io.vmap.chaos.History.Outcome;
import io.vmap.chaos.History.Subscribed;
import io.vmap.client.VmapInfo;
import io.vmap.state.ErrorCode;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Verifies, offline, a {@link History} recorded while the allocator ran (under faults or not), the
 * state it ended in, and an allocator's books (an fsck). Plain Java: no actors, no clocks; every
 * order comes from the history's sequence numbers.
 *
 * <p>History rules ({@link #check(History)}), each a {@link Violation#rule()} name:
 *
 * <ul>
 *   <li>{@value #BOUNDS}: every acknowledged area has the requested size (rounded up to pages),
 *       alignment and range.
 *   <li>{@value #DEDUP}: every answer to one request id is the same area (a retry never gets a
 *       second area).
 *   <li>{@value #OVERLAP}: no two areas overlap while both are certainly live (from the answer of
 *       their allocation to the call freeing them).
 *   <li>{@value #FLUSH}: an area's space is handed out again (the answer of the later allocation)
 *       only after every flush subscriber (subscribed before the free) acknowledged a flush
 *       covering the area, recorded after the free was called.
 *   <li>{@value #FREE}: freeing a live area (by the client that allocated it) never fails, and
 *       answers with that area.
 *   <li>{@value #FIND}: a lookup inside a certainly-live area finds it; what it finds contains the
 *       address. (It may find an area no client was answered: one placed for a request whose home
 *       restarted, before the placing node confirmed it; see {@link #leaks}.)
 *   <li>{@value #OWNER}: each vmap node id has one running incarnation at a time.
 * </ul>
 *
 * <p>{@link #leaks} checks the end state after every area a client knows of was freed and a purge
 * ran: nothing may remain allocated, unpurged or reserved, and all space must be free again, so an
 * operation that timed out is either found later (a retry with its request id answers its area,
 * which is then freed) or left nothing behind ({@value #LEAK}). {@link #fsck(VmapInfo)} and {@link
 * #fsck(Geometry, List, Duration)} check the books of a live allocator ({@value #FSCK}).
 */
public final class Checker {

  public static final String BOUNDS = "bounds";
  public static final String DEDUP = "dedup";
  public static final String OVERLAP = "overlap";
  public static final String FLUSH = "flush";
  public static final String FREE = "free";
  public static final String FIND = "find";
  public static final String OWNER = "owner";
  public static final String LEAK = "leak";
  public static final String FSCK = "fsck";

  /** One broken rule. */
  public record Violation(String rule, String detail) {
    @Override
    public String toString() {
      return rule + ": " + detail;
    }
  }

  /**
   * Operation counts of a history.
   *
   * @param foundLater allocations that timed out and whose area a later call with the same request
   *     id answered
   * @param unresolvedTimeouts allocations and frees that timed out and were never answered later
   */
  public record Summary(
      Map<Kind, Long> invoked,
      Map<Kind, Long> ok,
      Map<Kind, Long> failed,
      Map<Kind, Long> timedOut,
      long foundLater,
      long unresolvedTimeouts,
      long flushAcks,
      Map<ErrorCode, Long> errors) {}

  private Checker() {}

  // =================================================================== the history

  /** What the history says about the area of one allocation request. */
  private static final class Life {
    final String requestId;
    Area area;
    long allocInvoke = Long.MAX_VALUE;
    long allocOk = Long.MAX_VALUE;
    long okOp = -1;
    long freeInvoke = Long.MAX_VALUE;
    long freeOk = Long.MAX_VALUE;

    Life(String requestId) {
      this.requestId = requestId;
    }

    String name() {
      return area + " (request " + requestId + ")";
    }
  }

  public static List<Violation> check(History history) {
    return check(history.geometry(), history.events());
  }

  public static List<Violation> check(Geometry g, List<Event> events) {
    List<Violation> out = new ArrayList<>();
    Map<Long, Invoke> invokes = new LinkedHashMap<>();
    Map<Long, Complete> completes = new HashMap<>();
    Map<String, Long> subscribedAt = new LinkedHashMap<>();
    Map<String, Acks> acks = new LinkedHashMap<>();
    for (Event e : sorted(events)) {
      if (e instanceof Invoke i) invokes.put(i.op(), i);
      else if (e instanceof Complete c) completes.put(c.op(), c);
      else if (e instanceof Subscribed s) subscribedAt.putIfAbsent(s.subscriber(), s.seq());
      else if (e instanceof FlushAcked f) acks.computeIfAbsent(f.subscriber(), k -> new Acks()).add(f);
    }
    owners(events, out);

    // ---- allocations: one life per request id
    Map<String, Life> lives = new LinkedHashMap<>();
    List<Map.Entry<Invoke, Complete>> oks = new ArrayList<>();
    for (Invoke i : invokes.values()) {
      if (i.kind() != Kind.ALLOC) continue;
      String id = i.requestId() != null ? i.requestId() : "op" + i.op();
      Life l = lives.computeIfAbsent(id, Life::new);
      l.allocInvoke = Math.min(l.allocInvoke, i.seq());
      Complete c = completes.get(i.op());
      if (c != null && c.outcome() == Outcome.OK) oks.add(Map.entry(i, c));
    }
    oks.sort(Comparator.comparingLong(en -> en.getValue().seq()));
    for (Map.Entry<Invoke, Complete> en : oks) {
      Invoke i = en.getKey();
      Complete c = en.getValue();
      String id = i.requestId() != null ? i.requestId() : "op" + i.op();
      Life l = lives.get(id);
      bounds(g, i, c, out);
      if (c.area() == null) {
        out.add(new Violation(BOUNDS, "op " + i.op() + " (request " + id + ") succeeded without an area"));
      } else if (l.area == null) {
        l.area = c.area();
        l.allocOk = c.seq();
        l.okOp = i.op();
      } else if (!same(l.area, c.area())) {
        out.add(new Violation(DEDUP, "request " + id + " answered " + l.area + " (op " + l.okOp + ") and later "
            + c.area() + " (op " + i.op() + "): a retry got a second area"));
      }
    }
    List<Life> known = new ArrayList<>();
    for (Life l : lives.values()) if (l.area != null) known.add(l);
    AreaIndex index = new AreaIndex(known);

    // ---- frees, in call order
    for (Invoke i : invokes.values()) {
      if (i.kind() != Kind.FREE || i.target() == null) continue;
      Life l = index.lifeOf(i.target(), i.seq());
      if (l == null) continue;
      Complete c = completes.get(i.op());
      if (c == null || c.outcome() == Outcome.TIMEOUT) {
        l.freeInvoke = Math.min(l.freeInvoke, i.seq());
      } else if (c.outcome() == Outcome.OK) {
        l.freeInvoke = Math.min(l.freeInvoke, i.seq());
        l.freeOk = Math.min(l.freeOk, c.seq());
        if (c.area() != null && !same(c.area(), l.area)) {
          out.add(new Violation(FREE, "free of " + l.name() + " (op " + i.op() + ") answered " + c.area()));
        }
      } else if (l.allocOk < i.seq() && l.freeInvoke > i.seq()) {
        out.add(new Violation(FREE, "free of live " + l.name() + " (op " + i.op() + ") failed: " + c.code() + " "
            + c.reason()));
      }
    }

    // ---- lookups
    for (Invoke i : invokes.values()) {
      if (i.kind() != Kind.FIND) continue;
      Complete c = completes.get(i.op());
      if (c == null || c.outcome() != Outcome.OK) continue;
      if (c.area() != null) {
        if (!c.area().contains(i.addr())) {
          out.add(new Violation(FIND, "find " + Unsigned.hex(i.addr()) + " (op " + i.op() + ") answered " + c.area()
              + ", which does not contain it"));
        }
      } else {
        for (Life l : index.containing(i.addr())) {
          if (l.allocOk < i.seq() && l.freeInvoke > c.seq()) {
            out.add(new Violation(FIND, "find " + Unsigned.hex(i.addr()) + " (op " + i.op() + ") found nothing inside live "
                + l.name()));
          }
        }
      }
    }

    // ---- overlaps and reuse after flush
    List<Life> byStart = new ArrayList<>(known);
    byStart.sort((x, y) -> Long.compareUnsigned(x.area.start(), y.area.start()));
    for (int a = 0; a < byStart.size(); a++) {
      Life x = byStart.get(a);
      for (int b = a + 1; b < byStart.size(); b++) {
        Life y = byStart.get(b);
        if (!Unsigned.lt(y.area.start(), x.area.end())) break;
        Life first = x.allocOk <= y.allocOk ? x : y;
        Life second = first == x ? y : x;
        if (Math.max(first.allocOk, second.allocOk) < Math.min(first.freeInvoke, second.freeInvoke)) {
          out.add(new Violation(OVERLAP, first.name() + " and " + second.name() + " overlap while both are live"));
          continue;
        }
        for (Map.Entry<String, Long> s : subscribedAt.entrySet()) {
          if (s.getValue() > first.freeInvoke) continue;
          Acks ak = acks.get(s.getKey());
          if (ak == null || !ak.covered(first.area, first.freeInvoke, second.allocOk)) {
            out.add(new Violation(FLUSH, second.name() + " reuses space of " + first.name()
                + " before subscriber " + s.getKey() + " acknowledged a flush covering it"));
          }
        }
      }
    }
    return out;
  }

  private static void owners(List<Event> events, List<Violation> out) {
    Map<Integer, List<String>> running = new HashMap<>();
    for (Event e : sorted(events)) {
      if (!(e instanceof Incarnation in)) continue;
      List<String> r = running.computeIfAbsent(in.node(), k -> new ArrayList<>());
      if (in.started()) {
        if (!r.isEmpty()) {
          out.add(new Violation(OWNER, "node " + in.node() + ": " + in.actor() + " started while " + r + " still ran"));
        }
        r.add(in.actor());
      } else {
        r.remove(in.actor());
      }
    }
  }

  private static void bounds(Geometry g, Invoke i, Complete c, List<Violation> out) {
    History.AllocRequest r = i.alloc();
    Area a = c.area();
    if (r == null || a == null) return;
    String what = "request " + i.requestId() + " (op " + i.op() + ") got " + a;
    long size = g.pageRoundUp(r.size());
    long align = Unsigned.max(r.align() == 0 ? g.page() : r.align(), g.page());
    long lo = r.vstart() == null ? g.vstart() : r.vstart();
    long hi = r.vend() == null ? g.vend() : r.vend();
    if (a.size() != size) out.add(new Violation(BOUNDS, what + ": size " + a.size() + ", asked " + r.size()));
    if (Long.remainderUnsigned(a.start(), align) != 0) {
      out.add(new Violation(BOUNDS, what + ": not aligned to " + align));
    }
    if (Unsigned.lt(a.start(), lo) || Unsigned.lt(hi, a.end())) {
      out.add(new Violation(BOUNDS, what + ": outside " + Unsigned.hex(lo) + ":" + Unsigned.hex(hi)));
    }
    if (r.tag() != null && !r.tag().equals(a.tag())) {
      out.add(new Violation(BOUNDS, what + ": tag '" + a.tag() + "', asked '" + r.tag() + "'"));
    }
  }

  static boolean same(Area a, Area b) {
    return a.start() == b.start() && a.end() == b.end();
  }

  private static List<Event> sorted(List<Event> events) {
    List<Event> s = new ArrayList<>(events);
    s.sort(Comparator.comparingLong(Event::seq));
    return s;
  }

  /** One subscriber's flush acknowledgements, by range start. */
  private static final class Acks {
    private final TreeMap<Long, List<long[]>> byStart = new TreeMap<>(Long::compareUnsigned);
    private long largest;

    void add(FlushAcked f) {
      for (Area r : f.ranges()) {
        byStart.computeIfAbsent(r.start(), k -> new ArrayList<>()).add(new long[] {r.end(), f.seq()});
        largest = Math.max(largest, r.size());
      }
    }

    /** Whether a range containing {@code a} was acked with a sequence number in (after, before). */
    boolean covered(Area a, long after, long before) {
      long from = Unsigned.lt(a.start() - largest, a.start()) ? a.start() - largest : 0;
      for (List<long[]> l : byStart.subMap(from, true, a.start(), true).values()) {
        for (long[] r : l) {
          if (Unsigned.le(a.end(), r[0]) && r[1] > after && r[1] < before) return true;
        }
      }
      return false;
    }
  }

  /** Known areas by address. */
  private static final class AreaIndex {
    private final TreeMap<Long, List<Life>> byStart = new TreeMap<>(Long::compareUnsigned);
    private long largest;

    AreaIndex(List<Life> lives) {
      for (Life l : lives) {
        byStart.computeIfAbsent(l.area.start(), k -> new ArrayList<>()).add(l);
        largest = Math.max(largest, l.area.size());
      }
    }

    /** The area {@code target} names: same range, allocated last before {@code seq}. */
    Life lifeOf(Area target, long seq) {
      Life best = null;
      for (Life l : byStart.getOrDefault(target.start(), List.of())) {
        if (l.area.end() != target.end()) continue;
        if (!target.tag().isEmpty() && target.tag().equals(l.requestId)) return l;
        if (l.allocOk < seq && (best == null || l.allocOk > best.allocOk)) best = l;
      }
      return best;
    }

    List<Life> containing(long addr) {
      List<Life> out = new ArrayList<>();
      long from = Unsigned.lt(addr - largest, addr) ? addr - largest : 0;
      for (List<Life> l : byStart.subMap(from, true, addr, true).values()) {
        for (Life x : l) if (x.area.contains(addr)) out.add(x);
      }
      return out;
    }
  }

  // =================================================================== summary

  public static Summary summarize(History history) {
    Map<Kind, Long> invoked = new java.util.EnumMap<>(Kind.class);
    Map<Kind, Long> ok = new java.util.EnumMap<>(Kind.class);
    Map<Kind, Long> failed = new java.util.EnumMap<>(Kind.class);
    Map<Kind, Long> timedOut = new java.util.EnumMap<>(Kind.class);
    Map<ErrorCode, Long> errors = new java.util.EnumMap<>(ErrorCode.class);
    Map<Long, Invoke> invokes = new HashMap<>();
    Map<String, Boolean> timedOutIds = new LinkedHashMap<>();
    Map<String, Boolean> resolvedIds = new HashMap<>();
    long acks = 0;
    for (Event e : history.events()) {
      if (e instanceof Invoke i) {
        invokes.put(i.op(), i);
        invoked.merge(i.kind(), 1L, Long::sum);
      } else if (e instanceof Complete c) {
        Invoke i = invokes.get(c.op());
        Map<Kind, Long> m = switch (c.outcome()) {
          case OK -> ok;
          case FAIL -> failed;
          case TIMEOUT -> timedOut;
        };
        m.merge(i.kind(), 1L, Long::sum);
        if (c.code() != null) errors.merge(c.code(), 1L, Long::sum);
        if (i.requestId() != null && (i.kind() == Kind.ALLOC || i.kind() == Kind.FREE)) {
          String key = i.kind() + " " + i.requestId();
          if (c.outcome() == Outcome.TIMEOUT) timedOutIds.putIfAbsent(key, true);
          else if (timedOutIds.containsKey(key)) resolvedIds.put(key, c.outcome() == Outcome.OK && i.kind() == Kind.ALLOC);
        }
      } else if (e instanceof FlushAcked) {
        acks++;
      }
    }
    long found = resolvedIds.values().stream().filter(x -> x).count();
    return new Summary(invoked, ok, failed, timedOut, found, timedOutIds.size() - resolvedIds.size(), acks, errors);
  }

  // =================================================================== the end state

  /**
   * The end state after every area a client knew of was freed and purged: anything still
   * allocated, unpurged or reserved, or any space not free, is a leak. Areas still allocated are
   * explained from the history (their tag is matched to request ids).
   */
  public static List<Violation> leaks(History history, VmapInfo end) {
    List<Violation> out = new ArrayList<>();
    Map<String, List<Complete>> answers = new HashMap<>();
    Map<String, Boolean> timedOut = new HashMap<>();
    Map<Long, Invoke> invokes = new HashMap<>();
    for (Event e : history.events()) {
      if (e instanceof Invoke i) invokes.put(i.op(), i);
      if (e instanceof Complete c) {
        Invoke i = invokes.get(c.op());
        if (i == null || i.kind() != Kind.ALLOC || i.requestId() == null) continue;
        if (c.outcome() == Outcome.OK) answers.computeIfAbsent(i.requestId(), k -> new ArrayList<>()).add(c);
        if (c.outcome() == Outcome.TIMEOUT) timedOut.put(i.requestId(), true);
      }
    }
    for (VmapInfo.AreaInfo a : end.busy()) {
      String tag = a.area().tag();
      List<Complete> got = answers.get(tag);
      String why;
      if (got == null) {
        why = timedOut.containsKey(tag)
            ? "request " + tag + " timed out and no retry with its id ever answered it"
            : "no client was ever answered this area";
      } else if (!same(got.get(0).area(), a.area())) {
        why = "request " + tag + " was answered " + got.get(0).area() + ": this is a second area for it";
      } else {
        why = "its client freed it or never freed it; either way it is still allocated";
      }
      out.add(new Violation(LEAK, "area " + a.area() + " on node " + a.node() + " is still allocated: " + why));
    }
    for (VmapInfo.AreaInfo a : end.lazy()) {
      out.add(new Violation(LEAK, "area " + a.area() + " on node " + a.node() + " was freed but never released"));
    }
    for (VmapInfo.NodeStats n : end.nodes()) {
      if (n.reservations() > 0) {
        out.add(new Violation(LEAK, "node " + n.node() + " still holds " + n.reservations() + " reservations ("
            + n.reservedBytes() + " bytes)"));
      }
    }
    if (end.freeBytes() != end.geometry().spaceBytes()) {
      out.add(new Violation(LEAK, "free bytes " + Long.toUnsignedString(end.freeBytes()) + " != space "
          + Long.toUnsignedString(end.geometry().spaceBytes())));
    }
    return out;
  }

  // =================================================================== fsck (FsckCheck)

  /** See {@link FsckCheck#fsck(VmapInfo)}. */
  public static List<Violation> fsck(VmapInfo info) {
    return FsckCheck.fsck(info);
  }

  /** Whether {@link #fsck(VmapInfo)} could do its per-node accounting (purge idle, no reservations). */
  public static boolean quiet(VmapInfo info) {
    return FsckCheck.quiet(info);
  }

  /** See {@link FsckCheck#fsck(Geometry, List, Duration)}. */
  public static List<Violation> fsck(Geometry g, List<NodeBooks> books, Duration grace) {
    return FsckCheck.fsck(g, books, grace);
  }
}
