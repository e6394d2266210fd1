package io.vmap.http.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.vmap.client.AllocOptions;
import io.vmap.space.Geometry;
import io.vmap.state.Policy;
import java.util.Locale;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * The body of {@code POST /v1/areas}; only {@code size} is required, and an explicit null is an
 * absent field. Sizes and alignments are numbers or decimal/0x strings, addresses strings only.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AllocRequest(
    @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long size,
    @JsonSerialize(using = Wire.UnsignedOut.class) @JsonDeserialize(using = Wire.UnsignedIn.class) Long align,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long vstart,
    @JsonSerialize(using = Wire.HexOut.class) @JsonDeserialize(using = Wire.AddressIn.class) Long vend,
    @JsonDeserialize(using = Wire.TextIn.class) String tag,
    @JsonDeserialize(using = Wire.TextIn.class) String policy,
    @JsonDeserialize(using = Wire.TextIn.class) String requestId,
    @JsonDeserialize(using = Wire.NodeIn.class) Long node) {

  /** {@code size} bytes aligned to {@code align} (0: the default), on home {@code node} (negative: any). */
  public static AllocRequest of(long size, long align, int node) {
    return new AllocRequest(size, align == 0 ? null : align, null, null, null, null, null, node < 0 ? null : (long) node);
  }

  /**
   * The client's options for this request. {@code headerKey} is the {@code Idempotency-Key} header,
   * the request id when the body has none. {@code anyHome} gives the home node of a request that
   * names no node and has no id.
   *
   * @throws Api.BadJson naming the bad field
   */
  public AllocOptions toOptions(Geometry g, Optional<String> headerKey, IntSupplier anyHome) {
    if (size == null) throw new Api.BadJson("size: missing (bytes, a number or a decimal/0x string)");
    AllocOptions o = AllocOptions.size(size);
    if (align != null) o.align(align);
    if (vstart != null || vend != null) o.range(vstart == null ? g.vstart() : vstart, vend == null ? g.vend() : vend);
    if (tag != null) {
      // Its length is the client's to check (vmap.limits.tag-length), the same at every door.
      if (hasControl(tag)) throw new Api.BadJson("tag: must not contain control characters (it is one vmallocinfo line)");
      o.tag(tag);
    }
    if (policy != null) o.policy(policy(policy));
    if (node != null) {
      if (node < 0 || node >= g.nodes()) throw new Api.BadJson("node: " + node + " is not in 0.." + (g.nodes() - 1));
      o.home(node.intValue());
    }
    String id = Api.reconcileIds(requestId == null ? null : Api.requestId(requestId, "requestId"), headerKey, "requestId");
    // With an id and no node, VmapClient pins the home to the id, so retries reach the node that
    // remembers the first answer.
    if (id != null) o.requestId(id);
    // Neither: not VmapClient's per-thread home, since the server's pool threads are nobody's CPU (a
    // few hot threads would leave some nodes without allocations), but VmapClient#anyHome: the next
    // node in turn, or, with durable nodes, the client's node while it waits there (under load the
    // allocations then share journal writes).
    else if (node == null) o.home(anyHome.getAsInt());
    return o;
  }

  private static Policy policy(String text) {
    return switch (text.trim().toLowerCase(Locale.ROOT).replace('_', '-')) {
      case "normal" -> Policy.NORMAL;
      case "fail-fast", "failfast" -> Policy.FAIL_FAST;
      default -> throw new Api.BadJson("policy: must be \"normal\" or \"fail-fast\", got '" + text + "'");
    };
  }

  static boolean hasControl(String s) {
    for (int i = 0; i < s.length(); i++) if (Character.isISOControl(s.charAt(i))) return true;
    return false;
  }
}
