package io.vmap.client;

import io.vmap.state.Policy;

/**
 * What to allocate: {@code AllocOptions.size(64 << 10).align(1 << 16).tag("buf")}. Unset fields
 * take the defaults of DESIGN.md: align = page, the whole space, the client's next home node
 * (round robin), policy {@link Policy#NORMAL}, a fresh request id.
 */
public final class AllocOptions {
  // Primitives and flags rather than boxed values: one of these is made per allocation.
  private final long size;
  private boolean alignSet;
  private long align;
  private boolean rangeSet;
  private long vstart;
  private long vend;
  private boolean homeSet;
  private int home;
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
    this.alignSet = true;
    return this;
  }

  /** Place the area inside {@code [vstart, vend)}. */
  public AllocOptions range(long vstart, long vend) {
    this.vstart = vstart;
    this.vend = vend;
    this.rangeSet = true;
    return this;
  }

  /** The node tried first (0..nodes-1; anything else is EINVAL). Unset: see VmapClient#alloc. */
  public AllocOptions home(int node) {
    this.home = node;
    this.homeSet = true;
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
  /** {@code page} when unset. */
  long alignOr(long page) { return alignSet ? align : page; }
  /** The space's {@code [vstart, vend)} when unset. */
  long vstartOr(long spaceStart) { return rangeSet ? vstart : spaceStart; }
  long vendOr(long spaceEnd) { return rangeSet ? vend : spaceEnd; }
  /** Whether a home node was set. */
  boolean hasHome() { return homeSet; }
  int home() { return home; }
  String tagText() { return tag; }
  Policy policyValue() { return policy; }
  String requestIdOrNull() { return requestId; }
}
