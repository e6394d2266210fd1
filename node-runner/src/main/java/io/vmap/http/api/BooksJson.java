package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.vmap.chaos.NodeBooks;
import io.vmap.space.Area;
import io.vmap.space.FreeRuns;
import io.vmap.space.Geometry;
import io.vmap.state.HeldPart;
import io.vmap.state.LazyArea;
import io.vmap.state.Part;
import io.vmap.state.RequestKey;
import io.vmap.state.ReservationId;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code GET /v1/fsck}: the full books of the vmap nodes ({@link NodeBooks}: free blocks, busy,
 * spanning, unpurged, held and reserved parts, reservation ages), so that {@code vmap check --url}
 * checks a cluster as completely as an embedded allocator ({@code io.vmap.chaos.Checker#fsck}).
 * Addresses are {@code "0x%016x"} strings like everywhere in the API; a node's free blocks are two
 * lists of the same length, {@code freeStarts} ascending and {@code freeEnds}, plus {@code freeRuns}:
 * runs of free blocks (untouched zones) as one entry each, {@code count} blocks of {@code width}
 * bytes every {@code stride} bytes from {@code start} (absent from an older vmap: no runs); and
 * {@code owners}: the tenant of each busy or unpurged area that is not the default tenant's, by the
 * area's start, ascending (absent from an older vmap: every area the default tenant's).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BooksJson(InfoJson.GeometryJson geometry, List<NodeJson> nodes) {

  /** One node's books. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record NodeJson(
      int node,
      @JsonSerialize(contentUsing = Wire.HexOut.class) @JsonDeserialize(contentUsing = Wire.AddressIn.class)
          List<Long> freeStarts,
      @JsonSerialize(contentUsing = Wire.HexOut.class) @JsonDeserialize(contentUsing = Wire.AddressIn.class)
          List<Long> freeEnds,
      List<AreaJson> busy,
      List<SpanJson> spanning,
      List<SpanJson> unpurged,
      List<HeldJson> held,
      List<ReservedJson> reservations,
      List<RunJson> freeRuns,
      List<OwnerJson> owners) {

    static NodeJson of(NodeBooks b) {
      List<Long> starts = new ArrayList<>(b.freeStarts().length);
      List<Long> ends = new ArrayList<>(b.freeEnds().length);
      for (long s : b.freeStarts()) starts.add(s);
      for (long e : b.freeEnds()) ends.add(e);
      return new NodeJson(b.node(), starts, ends,
          b.busy().stream().map(a -> AreaJson.of(a, b.node())).toList(),
          b.spanning().stream().map(SpanJson::of).toList(),
          b.unpurged().stream().map(SpanJson::of).toList(),
          b.held().stream().map(HeldJson::of).toList(),
          b.reservations().stream().map(ReservedJson::of).toList(),
          RunJson.of(b.freeRuns()),
          OwnerJson.of(b.owners()));
    }

    NodeBooks toBooks() {
      List<Long> starts = need(freeStarts, "freeStarts");
      List<Long> ends = need(freeEnds, "freeEnds");
      if (starts.size() != ends.size()) {
        throw new Api.BadJson("node " + node + ": " + starts.size() + " freeStarts but " + ends.size() + " freeEnds");
      }
      long[] s = new long[starts.size()];
      long[] e = new long[ends.size()];
      for (int i = 0; i < s.length; i++) {
        s[i] = need(starts.get(i), "freeStarts");
        e[i] = need(ends.get(i), "freeEnds");
      }
      return new NodeBooks(node, s, e,
          need(busy, "busy").stream().map(AreaJson::toArea).toList(),
          need(spanning, "spanning").stream().map(SpanJson::toLazyArea).toList(),
          need(unpurged, "unpurged").stream().map(SpanJson::toLazyArea).toList(),
          need(held, "held").stream().map(HeldJson::toHeldPart).toList(),
          need(reservations, "reservations").stream().map(ReservedJson::toReserved).toList(),
          RunJson.toRuns(freeRuns),
          OwnerJson.toOwners(owners));
    }
  }

  /** The tenant of the busy or unpurged area starting at {@code start}. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record OwnerJson(
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long start,
      String tenant) {

    static List<OwnerJson> of(java.util.Map<Long, String> owners) {
      List<OwnerJson> out = new ArrayList<>(owners.size());
      owners.forEach((start, tenant) -> out.add(new OwnerJson(start, tenant)));
      out.sort((x, y) -> Long.compareUnsigned(x.start(), y.start()));
      return out;
    }

    /** Owners of an older vmap's books ({@code null}: every area the default tenant's). */
    static java.util.Map<Long, String> toOwners(List<OwnerJson> owners) {
      if (owners == null) return java.util.Map.of();
      java.util.Map<Long, String> out = new java.util.HashMap<>(owners.size() * 2);
      for (OwnerJson o : owners) {
        if (o == null) throw new Api.BadJson("not vmap fsck JSON: a null entry in 'owners'");
        String tenant = need(o.tenant(), "owners.tenant");
        try {
          io.vmap.state.Principal.checkTenant(tenant);
        } catch (IllegalArgumentException e) {
          throw new Api.BadJson("owners: " + e.getMessage());
        }
        if (out.put(need(o.start(), "owners.start"), tenant) != null) {
          throw new Api.BadJson("owners: two entries for the area at " + io.vmap.space.Unsigned.hex(o.start()));
        }
      }
      return out;
    }
  }

  /** A run of free blocks: {@code count} blocks of {@code width} bytes, one every {@code stride} bytes. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record RunJson(
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long start,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long width,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long stride,
      long count) {

    static List<RunJson> of(FreeRuns r) {
      List<RunJson> out = new ArrayList<>(r.size());
      for (int i = 0; i < r.size(); i++) out.add(new RunJson(r.starts()[i], r.widths()[i], r.strides()[i], r.counts()[i]));
      return out;
    }

    /** Runs of an older vmap's books ({@code null}: none). */
    static FreeRuns toRuns(List<RunJson> runs) {
      if (runs == null) return FreeRuns.NONE;
      FreeRuns.Builder b = new FreeRuns.Builder(runs.size());
      for (RunJson r : runs) {
        if (r == null) throw new Api.BadJson("not vmap fsck JSON: a null entry in 'freeRuns'");
        if (r.count() < 1) throw new Api.BadJson("freeRuns: count " + r.count() + " is below 1");
        b.add(need(r.start(), "freeRuns.start"), need(r.width(), "freeRuns.width"), need(r.stride(), "freeRuns.stride"),
            r.count());
      }
      return b.build();
    }
  }

  /** A piece of an area on one node. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record PartJson(
      int node,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long start,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long end) {

    static PartJson of(Part p) {
      return new PartJson(p.node(), p.start(), p.end());
    }

    Part toPart() {
      return new Part(node, need(start, "part.start"), need(end, "part.end"));
    }
  }

  /** An area with its parts: a busy spanning area, or one freed and not released yet. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record SpanJson(AreaJson area, List<PartJson> parts) {

    static SpanJson of(LazyArea la) {
      return new SpanJson(AreaJson.of(la.area(), la.node()), la.parts().stream().map(PartJson::of).toList());
    }

    LazyArea toLazyArea() {
      AreaJson a = need(area, "area");
      return new LazyArea(a.toArea(), a.node(), need(parts, "parts").stream().map(PartJson::toPart).toList());
    }
  }

  /** A piece of another node's spanning area lying in this node's zones. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record HeldJson(
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long start,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long end,
      AreaJson area,
      int startOwner,
      ReservationJson reservation) {

    static HeldJson of(HeldPart h) {
      return new HeldJson(h.start(), h.end(), AreaJson.of(h.area(), h.startOwner()), h.startOwner(),
          ReservationJson.of(h.reservation()));
    }

    HeldPart toHeldPart() {
      return new HeldPart(need(start, "held.start"), need(end, "held.end"), need(area, "held.area").toArea(), startOwner,
          reservation == null ? null : reservation.toId());
    }
  }

  /** A spanning reservation held by the node, its age and lease. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record ReservedJson(
      ReservationJson id, AreaJson area, int startOwner, List<PartJson> parts, long ageMillis, long leaseMillis) {

    static ReservedJson of(NodeBooks.Reserved r) {
      return new ReservedJson(ReservationJson.of(r.id()), AreaJson.of(r.area(), r.startOwner()), r.startOwner(),
          r.parts().stream().map(PartJson::of).toList(), r.ageMillis(), r.leaseMillis());
    }

    NodeBooks.Reserved toReserved() {
      return new NodeBooks.Reserved(need(id, "reservation.id").toId(), need(area, "reservation.area").toArea(),
          startOwner, need(parts, "reservation.parts").stream().map(PartJson::toPart).toList(), ageMillis, leaseMillis);
    }
  }

  /**
   * A reservation's id: the request (a client session and sequence number, both unsigned 64-bit
   * as 0x strings), its home node, the area and the search's serial.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record ReservationJson(
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long session,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long seq,
      int home,
      AreaJson area,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long serial) {

    static ReservationJson of(ReservationId id) {
      return new ReservationJson(id.request().session(), id.request().seq(), id.home(), AreaJson.of(id.area(), id.home()),
          id.serial());
    }

    ReservationId toId() {
      try {
        return new ReservationId(new RequestKey(need(session, "session"), need(seq, "seq")), home,
            need(area, "area").toArea(), need(serial, "serial"));
      } catch (IllegalArgumentException e) {
        if (e instanceof Api.BadJson) throw e;
        throw new Api.BadJson("reservation: " + e.getMessage());
      }
    }
  }

  /** Every node's books, in node order. */
  public static BooksJson of(Geometry g, List<NodeBooks> books) {
    return new BooksJson(InfoJson.GeometryJson.of(g), books.stream().map(NodeJson::of).toList());
  }

  /**
   * The geometry again.
   *
   * @throws Api.BadJson naming what is missing or malformed
   */
  public Geometry toGeometry() {
    try {
      return need(geometry, "geometry").toGeometry();
    } catch (IllegalArgumentException e) {
      if (e instanceof Api.BadJson) throw e;
      throw new Api.BadJson("geometry: " + e.getMessage());
    }
  }

  /**
   * The books again, in the order given.
   *
   * @throws Api.BadJson naming what is missing or malformed
   */
  public List<NodeBooks> toBooks() {
    try {
      return need(nodes, "nodes").stream().map(NodeJson::toBooks).toList();
    } catch (IllegalArgumentException e) {
      if (e instanceof Api.BadJson) throw e;
      throw new Api.BadJson("books: " + e.getMessage());
    }
  }

  private static <T> T need(T v, String field) {
    if (v == null) throw new Api.BadJson("not vmap fsck JSON: no '" + field + "'");
    return v;
  }
}
