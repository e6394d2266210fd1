package io.vmap.client;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.AskPattern;
import io.vmap.state.ErrorCode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The questions a {@link VmapClient} asks rather than batches (info, tenants, purge, purge status,
 * subscriptions; all idempotent): an Akka ask each, whose timeout is ETIMEDOUT, asked again while
 * it times out, up to the client's retries. Allocations, frees and finds travel in batches instead
 * ({@link ClientSession}).
 */
final class Asks {

  private final ActorSystem<?> system;
  private final Duration timeout;
  private final int retries;

  Asks(ActorSystem<?> system, Duration timeout, int retries) {
    this.system = system;
    this.timeout = timeout;
    this.retries = retries;
  }

  /** Asks {@code target} with {@code msg}, and again up to {@code retries} times while it fails with ETIMEDOUT. */
  <Req, Res> CompletableFuture<Res> ask(RecipientRef<Req> target, akka.japi.function.Function<ActorRef<Res>, Req> msg) {
    return retrying(() -> once(target, msg), retries);
  }

  private <T> CompletableFuture<T> retrying(Supplier<CompletableFuture<T>> call, int left) {
    CompletableFuture<T> first = call.get();
    if (left == 0) return first;
    return first
        .handle((v, t) -> {
          Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
          if (c instanceof VmapException v2 && v2.code() == ErrorCode.ETIMEDOUT) {
            return retrying(call, left - 1);
          }
          return t == null ? CompletableFuture.completedFuture(v) : CompletableFuture.<T>failedFuture(c);
        })
        .thenCompose(f -> f);
  }

  private <Req, Res> CompletableFuture<Res> once(RecipientRef<Req> target, akka.japi.function.Function<ActorRef<Res>, Req> msg) {
    return AskPattern.<Req, Res>ask(target, msg, timeout, system.scheduler())
        .toCompletableFuture()
        .exceptionallyCompose(this::timeoutAsVmapException);
  }

  private <T> CompletionStage<T> timeoutAsVmapException(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (c instanceof TimeoutException || c instanceof akka.pattern.AskTimeoutException) {
      return CompletableFuture.failedFuture(new VmapException(ErrorCode.ETIMEDOUT,
          "no answer within " + timeout.toMillis() + " ms; the request may still take effect: retry with the same request id"));
    }
    return CompletableFuture.failedFuture(c);
  }
}
