package io.vmap.client;

import io.vmap.state.Policy;

/**
 * What to allocate: {@code AllocOptions.size(64 << 10).align(1 << 16).tag("buf")}. Unset fields
 * take the defaults of DESIGN.md: align = page, the whole space, the client's next home node
 * (round robin), policy {@link Policy#NORMAL}, a fresh request id.
 */
public final class AllocOptions {
  private final long size;
  private Long align;
  private Long vstart;
  private Long vend;
  private Integer home;
  private String tag = "";
  private Policy policy = Policy.NORMAL;
  private String requestId;

  private AllocOptions(long size) {
    this.size = size;
  }

  public static AllocOptions size(long bytes) {
    return new AllocOptions(bytes);
  }

  /** A power of two; below a page counts as a page. */
  public AllocOptions align(long bytes) {
    this.align = bytes;
    return this;
  }

  /** Place the area inside {@code [vstart, vend)}. */
  public AllocOptions range(long vstart, long vend) {
    this.vstart = vstart;
    this.vend = vend;
    return this;
  }

  /** The node tried first (0..nodes-1; anything else is EINVAL). Unset: see VmapClient#alloc. */
  public AllocOptions home(int node) {
    this.home = node;
    return this;
  }

  public AllocOptions tag(String tag) {
    this.tag = tag;
    return this;
  }

  public AllocOptions policy(Policy policy) {
    this.policy = policy;
    return this;
  }

  public AllocOptions failFast() {
    return policy(Policy.FAIL_FAST);
  }

  /** Retrying with the same id returns the first answer, never a second area. */
  public AllocOptions requestId(String id) {
    this.requestId = id;
    return this;
  }

  long sizeBytes() { return size; }
  /** Null when unset: a page. */
  Long alignOrNull() { return align; }
  Long vstart() { return vstart; }
  Long vend() { return vend; }
  /** Null when unset. */
  Integer home() { return home; }
  String tagText() { return tag; }
  Policy policyValue() { return policy; }
  String requestIdOrNull() { return requestId; }
}
