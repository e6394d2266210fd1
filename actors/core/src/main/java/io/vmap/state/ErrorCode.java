package io.vmap.state;

/** Why a request failed; the names are the errno values the kernel's callers would see. */
public enum ErrorCode {
  /** No free range satisfies the request, even after purging lazily freed areas. */
  ENOSPC,
  /** {@code FAIL_FAST} found no room on the home node; the caller should fall back. */
  EAGAIN,
  /** The request itself is malformed: the reason names the bad value. */
  EINVAL,
  /** No busy area contains the address (never allocated, or already freed). */
  ENOENT,
  /** No answer in time; the request may or may not have taken effect: retry with the same id. */
  ETIMEDOUT,
  /**
   * The tenant would exceed its quota (bytes or live areas, counting lazily freed areas until they
   * are released), even after a synchronous purge of its lazily freed areas.
   */
  EDQUOT,
  /** The operation needs the admin role (a synchronous purge, another tenant's view). */
  EPERM,
  /**
   * A retry whose first answer the node no longer keeps (its session's answers moved past the
   * node's hard cap, {@code vmap.node.dedup-window}, or the node forgot the session): refused, never
   * executed a second time. The first attempt may have taken effect.
   */
  ESTALE,
  /**
   * A caller-chosen request id ({@code requestId}, {@code Idempotency-Key}) already names a
   * different request (other size, align, range, tag, tenant, node or address): refused, the first
   * request's effect stands. Use a new id for a new request.
   */
  EEXIST
}
