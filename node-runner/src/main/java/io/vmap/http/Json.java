package io.vmap.http;

import io.vmap.protocol.PurgeProtocol;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.state.ErrorCode;
import io.vmap.state.Policy;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.math.BigInteger;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;

/**
 * The JSON of the HTTP API, read and written by hand over Jackson's tree model so that every
 * rejection names the offending field. Addresses are always {@code "0x%016x"} strings on output;
 * on input they are decimal or {@code 0x} hex strings. Sizes and counts are JSON numbers on
 * output (unsigned); on input size and align may be numbers or strings.
 */
final class Json {

  private Json() {}

  static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  static final Set<String> ALLOC_FIELDS =
      Set.of("size", "align", "vstart", "vend", "tag", "policy", "requestId", "node");

  static final int MAX_TAG = 256;
  static final int MAX_REQUEST_ID = 256;

  // ---------------------------------------------------------------- input

  private static VmapException invalid(String reason) {
    return new VmapException(ErrorCode.EINVAL, reason);
  }

  /**
   * Parses the body of {@code POST /v1/areas} into options. {@code headerKey} is the
   * {@code Idempotency-Key} header, used as the request id when the body has none.
   *
   * @throws VmapException EINVAL naming the bad field
   */
  static AllocOptions parseAlloc(String body, Geometry g, Optional<String> headerKey) {
    if (body == null || body.isBlank()) {
      throw invalid("body: expected a JSON object such as {\"size\":8192}, got an empty body");
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw invalid("body: malformed JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw invalid("body: expected a JSON object, got " + (root == null ? "nothing" : kind(root)));
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!ALLOC_FIELDS.contains(f)) {
        throw invalid("unknown field '" + f + "' (expected size, align, vstart, vend, tag, policy, requestId, node)");
      }
    }
    JsonNode sizeNode = present(root, "size");
    if (sizeNode == null) throw invalid("size: missing (bytes, a number or a decimal/0x string)");
    long size = unsignedNumber(sizeNode, "size");
    AllocOptions o = AllocOptions.size(size);

    JsonNode alignNode = present(root, "align");
    if (alignNode != null) o.align(unsignedNumber(alignNode, "align"));

    JsonNode vs = present(root, "vstart");
    JsonNode ve = present(root, "vend");
    if (vs != null || ve != null) {
      long lo = vs == null ? g.vstart() : address(vs, "vstart");
      long hi = ve == null ? g.vend() : address(ve, "vend");
      o.range(lo, hi);
    }

    JsonNode tagNode = present(root, "tag");
    if (tagNode != null) o.tag(tag(tagNode));

    JsonNode policyNode = present(root, "policy");
    if (policyNode != null) o.policy(policy(policyNode));

    JsonNode nodeNode = present(root, "node");
    if (nodeNode != null) o.home(node(nodeNode, g));

    JsonNode idNode = present(root, "requestId");
    String bodyId = idNode == null ? null : requestId(idNode.isTextual() ? idNode.textValue() : null, "requestId", idNode);
    String id = reconcileIds(bodyId, headerKey, "requestId");
    // With an id and no node, VmapClient pins the home to the id, so retries reach the node that
    // remembers the first answer.
    if (id != null) o.requestId(id);
    return o;
  }

  /**
   * The request id of a request that may carry it in two places; both present and different is
   * EINVAL.
   */
  static String reconcileIds(String primary, Optional<String> headerKey, String primaryName) {
    String header = headerKey.map(h -> requestId(h, "Idempotency-Key", null)).orElse(null);
    if (primary != null && header != null && !primary.equals(header)) {
      throw invalid(primaryName + ": '" + primary + "' differs from the Idempotency-Key header '" + header + "'");
    }
    return primary != null ? primary : header;
  }

  static String requestId(String text, String field, JsonNode node) {
    if (text == null) throw invalid(field + ": must be a string, not " + kind(node));
    if (text.isEmpty()) throw invalid(field + ": must not be empty");
    if (text.length() > MAX_REQUEST_ID) throw invalid(field + ": longer than " + MAX_REQUEST_ID + " characters");
    if (hasControl(text)) throw invalid(field + ": must not contain control characters");
    return text;
  }

  /** An address from a URL path segment. */
  static long pathAddress(String segment) {
    return parseUnsignedText(segment, "addr");
  }

  /** null for an absent field or an explicit JSON null. */
  private static JsonNode present(JsonNode root, String field) {
    JsonNode n = root.get(field);
    return n == null || n.isNull() ? null : n;
  }

  /** size and align: a non-negative integer JSON number, or a decimal/0x string; unsigned 64-bit. */
  static long unsignedNumber(JsonNode n, String field) {
    if (n.isTextual()) return parseUnsignedText(n.textValue(), field);
    if (n.isNumber()) {
      if (!n.isIntegralNumber()) {
        java.math.BigDecimal d = n.decimalValue();
        if (d.stripTrailingZeros().scale() > 0) {
          throw invalid(field + ": must be a whole number of bytes, got " + n.asText());
        }
        return fromBig(d.toBigInteger(), field, n.asText());
      }
      return fromBig(n.bigIntegerValue(), field, n.asText());
    }
    throw invalid(field + ": must be a number or a decimal/0x string, not " + kind(n));
  }

  private static long fromBig(BigInteger v, String field, String text) {
    if (v.signum() < 0) throw invalid(field + ": must not be negative, got " + text);
    if (v.bitLength() > 64) throw invalid(field + ": " + text + " does not fit in 64 bits");
    return v.longValue();
  }

  /** Addresses: strings only (JSON numbers above 2^53 lose precision in many clients). */
  static long address(JsonNode n, String field) {
    if (n.isTextual()) return parseUnsignedText(n.textValue(), field);
    if (n.isNumber()) {
      throw invalid(field + ": addresses must be strings (\"0x...\" or decimal), not a JSON number");
    }
    throw invalid(field + ": must be a \"0x...\" or decimal string, not " + kind(n));
  }

  static long parseUnsignedText(String text, String field) {
    String t = text.trim();
    if (t.isEmpty()) throw invalid(field + ": empty");
    if (t.startsWith("-")) throw invalid(field + ": must not be negative, got '" + text + "'");
    if (t.startsWith("+")) throw invalid(field + ": not a decimal or 0x hex number: '" + text + "'");
    try {
      return Unsigned.parse(t);
    } catch (NumberFormatException e) {
      boolean hex = t.startsWith("0x") || t.startsWith("0X");
      throw invalid(field + ": " + (hex ? "bad hex number" : "not a decimal or 0x hex number")
          + " (unsigned 64-bit): '" + text + "'");
    }
  }

  private static String tag(JsonNode n) {
    if (!n.isTextual()) throw invalid("tag: must be a string, not " + kind(n));
    String t = n.textValue();
    if (t.length() > MAX_TAG) throw invalid("tag: longer than " + MAX_TAG + " characters");
    if (hasControl(t)) throw invalid("tag: must not contain control characters (it is one vmallocinfo line)");
    return t;
  }

  private static Policy policy(JsonNode n) {
    if (!n.isTextual()) throw invalid("policy: must be \"normal\" or \"fail-fast\", not " + kind(n));
    String p = n.textValue().trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    return switch (p) {
      case "normal" -> Policy.NORMAL;
      case "fail-fast", "failfast" -> Policy.FAIL_FAST;
      default -> throw invalid("policy: must be \"normal\" or \"fail-fast\", got '" + n.textValue() + "'");
    };
  }

  private static int node(JsonNode n, Geometry g) {
    long k;
    if (n.isIntegralNumber()) {
      if (!n.canConvertToInt()) throw invalid("node: " + n.asText() + " is not in 0.." + (g.nodes() - 1));
      k = n.intValue();
    } else if (n.isTextual()) {
      try {
        k = Long.parseLong(n.textValue().trim());
      } catch (NumberFormatException e) {
        throw invalid("node: not a node number: '" + n.textValue() + "'");
      }
    } else {
      throw invalid("node: must be an integer, not " + kind(n));
    }
    if (k < 0 || k >= g.nodes()) throw invalid("node: " + k + " is not in 0.." + (g.nodes() - 1));
    return (int) k;
  }

  private static boolean hasControl(String s) {
    for (int i = 0; i < s.length(); i++) if (Character.isISOControl(s.charAt(i))) return true;
    return false;
  }

  private static String kind(JsonNode n) {
    if (n == null) return "nothing";
    return switch (n.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case BOOLEAN -> "a boolean";
      case NUMBER -> "a number";
      case STRING -> "a string";
      case NULL -> "null";
      default -> n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    };
  }

  // ---------------------------------------------------------------- output

  static String write(JsonNode n) {
    try {
      return MAPPER.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e); // a tree of plain nodes always serializes
    }
  }

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  static String error(String code, String reason) {
    ObjectNode o = object();
    o.put("error", code);
    o.put("reason", reason == null ? "" : reason);
    return write(o);
  }

  /** Puts an unsigned 64-bit count (a JSON number, never negative). */
  static void putUnsigned(ObjectNode o, String field, long v) {
    if (v >= 0) o.put(field, v);
    else o.put(field, new BigInteger(Long.toUnsignedString(v)));
  }

  static ObjectNode area(Area a, int node) {
    ObjectNode o = object();
    o.put("start", Unsigned.hex(a.start()));
    o.put("end", Unsigned.hex(a.end()));
    putUnsigned(o, "size", a.size());
    o.put("node", node);
    o.put("tag", a.tag());
    return o;
  }

  static String allocation(Allocation a) {
    return write(area(a.area(), a.node()));
  }

  static String info(VmapInfo info) {
    Geometry g = info.geometry();
    ObjectNode root = object();
    ObjectNode geo = root.putObject("geometry");
    geo.put("vstart", Unsigned.hex(g.vstart()));
    geo.put("vend", Unsigned.hex(g.vend()));
    putUnsigned(geo, "page", g.page());
    putUnsigned(geo, "zone", g.zone());
    geo.put("nodes", g.nodes());
    putUnsigned(geo, "spaceBytes", g.spaceBytes());

    ArrayNode busy = root.putArray("busy");
    for (VmapInfo.AreaInfo a : info.busy()) busy.add(area(a.area(), a.node()));
    ArrayNode lazy = root.putArray("lazy");
    for (VmapInfo.AreaInfo a : info.lazy()) lazy.add(area(a.area(), a.node()));

    ArrayNode nodes = root.putArray("nodes");
    for (VmapInfo.NodeStats n : info.nodes()) {
      ObjectNode o = nodes.addObject();
      o.put("node", n.node());
      o.put("busy", n.busy());
      o.put("lazy", n.lazy());
      putUnsigned(o, "freeBytes", n.freeBytes());
      o.put("freeBlocks", n.freeBlocks());
      putUnsigned(o, "largestFreeBlock", n.largestFreeBlock());
      o.put("reservations", n.reservations());
      putUnsigned(o, "reservedBytes", n.reservedBytes());
      o.put("heldParts", n.heldParts());
    }

    ObjectNode totals = root.putObject("totals");
    totals.put("busy", info.busy().size());
    putUnsigned(totals, "busyBytes", info.busyBytes());
    totals.put("lazy", info.lazy().size());
    putUnsigned(totals, "lazyBytes", info.lazyBytes());
    putUnsigned(totals, "freeBytes", info.freeBytes());
    putUnsigned(totals, "reservedBytes", info.reservedBytes());
    putUnsigned(totals, "spaceBytes", g.spaceBytes());
    totals.put("accountsForSpace", info.accountsForSpace());

    PurgeProtocol.Status p = info.purge();
    if (p == null) {
      root.putNull("purge");
    } else {
      ObjectNode po = root.putObject("purge");
      po.put("epoch", p.epoch());
      po.put("phase", p.phase());
      po.put("lazyPages", p.lazyPages());
      po.put("thresholdPages", p.thresholdPages());
      po.put("subscribers", p.subscribers());
      po.put("epochsRun", p.epochsRun());
      po.put("areasReleased", p.areasReleased());
      ArrayNode holders = po.putArray("holders");
      for (PurgeProtocol.Holder h : p.holders()) {
        ObjectNode ho = holders.addObject();
        ho.put("subscriber", h.subscriber());
        ho.put("epoch", h.epoch());
        ho.put("flushSentAt", h.flushSentAt() == null ? null : h.flushSentAt().toString());
      }
    }
    return write(root);
  }
}
