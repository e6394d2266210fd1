package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.vmap.client.AllocOptions;
import io.vmap.space.Geometry;
import java.util.List;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * The body of {@code POST /v1/areas/batch}: many allocations, frees and lookups in one request,
 * each answered on its own ({@link BatchResponse}), in order.
 *
 * <pre>{"ops":[{"op":"alloc","size":8192,"tag":"buf"},{"op":"free","addr":"0x…"},{"op":"find","addr":"0x…"}]}</pre>
 */
public record BatchRequest(List<Op> ops) {

  /** Most operations in one batch request (a larger one is refused whole, naming this limit). */
  public static final int MAX_OPS = 10_000;

  /**
   * One operation: {@code op} is alloc (the fields of {@code POST /v1/areas}), free ({@code addr},
   * optional {@code requestId}) or find ({@code addr}).
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Op(
      @JsonDeserialize(using = Wire.TextIn.class) String op,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long size,
      @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long align,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long vstart,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long vend,
      @JsonDeserialize(using = Wire.TextIn.class) String tag,
      @JsonDeserialize(using = Wire.TextIn.class) String policy,
      @JsonDeserialize(using = Wire.TextIn.class) String requestId,
      @JsonDeserialize(using = Wire.NodeIn.class) Long node,
      @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long addr) {

    public static Op alloc(long size, long align, int node) {
      AllocRequest a = AllocRequest.of(size, align, node);
      return new Op("alloc", a.size(), a.align(), null, null, null, null, null, a.node(), null);
    }

    public static Op free(long addr) {
      return new Op("free", null, null, null, null, null, null, null, null, addr);
    }

    public static Op find(long addr) {
      return new Op("find", null, null, null, null, null, null, null, null, addr);
    }

    /**
     * The client's options for an alloc op; {@code anyHome} gives the home node when it names no node
     * and has no id. @throws Api.BadJson naming the bad field
     */
    public AllocOptions toOptions(Geometry g, IntSupplier anyHome) {
      if (addr != null) throw new Api.BadJson("addr: not a field of an alloc op");
      return new AllocRequest(size, align, vstart, vend, tag, policy, requestId, node).toOptions(g, Optional.empty(), anyHome);
    }

    /** The address of a free or find op. @throws Api.BadJson if absent or with alloc fields */
    public long address() {
      if (addr == null) throw new Api.BadJson("addr: missing (an address, a decimal or 0x string)");
      if (size != null || align != null || vstart != null || vend != null || tag != null || policy != null || node != null) {
        throw new Api.BadJson(op + ": takes only addr" + ("free".equals(op) ? " and requestId" : ""));
      }
      return addr;
    }
  }
}
