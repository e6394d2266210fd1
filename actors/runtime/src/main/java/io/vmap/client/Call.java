package io.vmap.client;

import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ClientProtocol.Reply;
import io.vmap.state.ErrorCode;
import java.util.concurrent.CompletableFuture;

/**
 * A batched call (an alloc, a free or a find) waiting in its session for the reply: the reply it
 * expects becomes its future's value, a {@code Failed} reply the caller's {@link VmapException},
 * any other reply an {@code EINVAL} naming it.
 */
class Call<T> extends Pending {

  /** What the expected reply means to the caller, or null if {@code r} is not that reply. */
  interface Answer<T> {
    T of(Reply r);
  }

  final CompletableFuture<T> future = new CompletableFuture<>();
  private final Answer<T> answer;
  /** The caller-chosen id and what it was first used for, named when the node refuses it as reused. */
  private String requestId;
  private String firstUse;

  Call(ClientProtocol.Request request, int node, int retries, Answer<T> answer) {
    super(request, node, retries);
    this.answer = answer;
  }

  /** A call refused before it was sent (bad arguments): already failed with {@code e}. */
  static <T> Call<T> failed(VmapException e) {
    Call<T> c = new Call<>(null, 0, 0, r -> null);
    c.future.completeExceptionally(e);
    return c;
  }

  /** Names {@code id} in an EEXIST refusal: its first use was {@code firstUse} (for example "a free of another address"). */
  Call<T> reusedId(String id, String firstUse) {
    this.requestId = id;
    this.firstUse = firstUse;
    return this;
  }

  @Override
  void complete(Reply r) {
    if (r instanceof ClientProtocol.Failed f) {
      String reason = f.code() == ErrorCode.EEXIST && requestId != null
          ? "request id '" + requestId + "' was first used for " + firstUse + "; its first answer stands: use a new id for a new request"
          : f.reason();
      future.completeExceptionally(new VmapException(f.code(), reason));
      return;
    }
    T value = answer.of(r);
    if (value != null) future.complete(value);
    else future.completeExceptionally(new VmapException(ErrorCode.EINVAL, "unexpected answer " + r));
  }

  @Override
  void fail(VmapException e) {
    future.completeExceptionally(e);
  }
}
