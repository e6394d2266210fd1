package io.vmap.client;

import io.vmap.protocol.PurgeProtocol;
import io.vmap.protocol.ClientProtocol;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.AskPattern;
import io.vmap.protocol.NodeDirectory;
import io.vmap.node.VmapNode;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.RequestId;
import io.vmap.purge.PurgeCoordinator;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What embedding code uses: every call returns a {@link CompletionStage} that fails with a
 * {@link VmapException} carrying an {@link ErrorCode} and a reason. Thread-safe; one per process
 * is enough.
 */
public final class VmapClient {

  private final ActorSystem<?> system;
  private final Geometry geometry;
  private final NodeDirectory nodes;
  private final ActorRef<PurgeProtocol.Command> coordinator;
  private final Duration timeout;
  private final int retries;
  private final java.util.concurrent.atomic.LongAdder retriesSent = new java.util.concurrent.atomic.LongAdder();
  private final AtomicInteger nextHome = new AtomicInteger();

  /** Retries after a timeout: {@code vmap.client.retries} of the system's configuration (0 if absent). */
  public VmapClient(
      ActorSystem<?> system,
      Geometry geometry,
      NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> coordinator,
      Duration timeout) {
    this(system, geometry, nodes, coordinator, timeout, configuredRetries(system));
  }

  /**
   * @param retries how many times a call that timed out (ETIMEDOUT: no answer in time, or a node's
   *     journal write failed) is sent again before the caller gets ETIMEDOUT; alloc and free are
   *     retried with the same request id, so a retry returns the first answer
   */
  public VmapClient(
      ActorSystem<?> system,
      Geometry geometry,
      NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> coordinator,
      Duration timeout,
      int retries) {
    if (retries < 0) throw new IllegalArgumentException("vmap.client.retries: " + retries + " < 0");
    this.system = system;
    this.geometry = geometry;
    this.nodes = nodes;
    this.coordinator = coordinator;
    this.timeout = timeout;
    this.retries = retries;
  }

  private static int configuredRetries(ActorSystem<?> system) {
    com.typesafe.config.Config c = system.settings().config();
    return c.hasPath("vmap.client.retries") ? c.getInt("vmap.client.retries") : 0;
  }

  /** Retries of a call that timed out, before ETIMEDOUT reaches the caller ({@code vmap.client.retries}). */
  public int retries() {
    return retries;
  }

  /** How many retries this client has sent so far (all calls). */
  public long retriesSent() {
    return retriesSent.sum();
  }

  public Geometry geometry() {
    return geometry;
  }

  /** How long a call waits before failing with ETIMEDOUT. */
  public Duration timeout() {
    return timeout;
  }

  /** Node {@code k}, for client requests ({@link ClientProtocol}) only. */
  public RecipientRef<ClientProtocol.Command> node(int k) {
    return nodes.client(k);
  }

  public ActorRef<PurgeProtocol.Command> coordinator() {
    return coordinator;
  }

  /** {@code alloc(size)} with every default. */
  public CompletionStage<Allocation> alloc(long size) {
    return alloc(AllocOptions.size(size));
  }

  /**
   * Allocates per DESIGN.md: the lowest aligned fit on the home node, then its neighbours, then
   * across zones, then after a synchronous purge. Fails with ENOSPC, EAGAIN (fail-fast), EINVAL or
   * ETIMEDOUT (retry with the same request id).
   */
  public CompletionStage<Allocation> alloc(AllocOptions o) {
    int home = o.home() != null ? o.home() : defaultHome(o.requestIdOrNull());
    AllocSpec spec;
    RequestId id;
    try {
      spec = AllocSpec.of(geometry, o.sizeBytes(), o.alignOrNull() == null ? geometry.page() : o.alignOrNull(),
          o.vstart(), o.vend(), home, o.tagText(), o.policyValue());
      id = new RequestId(o.requestIdOrNull() != null ? o.requestIdOrNull() : UUID.randomUUID().toString());
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(new VmapException(ErrorCode.EINVAL, e.getMessage()));
    }
    return retrying(() -> ask(nodes.client(home), (ActorRef<ClientProtocol.AllocReply> r) -> new ClientProtocol.Alloc(id, spec, r))
        .thenApply(
            reply -> {
              if (reply instanceof ClientProtocol.Allocated a) return new Allocation(a.area(), a.node());
              ClientProtocol.AllocFailed f = (ClientProtocol.AllocFailed) reply;
              throw new VmapException(f.code(), f.reason());
            }));
  }

  /**
   * Round robin, like one CPU after another; but a request with an id always goes to the same node,
   * because only its home node remembers the first answer (a retry elsewhere would get a second area).
   */
  private int defaultHome(String requestId) {
    int n = geometry.nodes();
    return requestId != null ? Math.floorMod(requestId.hashCode(), n) : Math.floorMod(nextHome.getAndIncrement(), n);
  }

  /** Frees the area starting at {@code addr}; completes with the freed area. */
  public CompletionStage<Area> free(long addr) {
    return free(addr, UUID.randomUUID().toString());
  }

  public CompletionStage<Area> free(long addr, String requestId) {
    RequestId id;
    try {
      id = new RequestId(requestId);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(new VmapException(ErrorCode.EINVAL, e.getMessage()));
    }
    return retrying(() -> ask(nodes.client(geometry.nodeOf(addr)),
            (ActorRef<ClientProtocol.FreeReply> r) -> new ClientProtocol.Free(id, addr, r))
        .thenApply(
            reply -> {
              if (reply instanceof ClientProtocol.Freed f) return f.area();
              ClientProtocol.FreeFailed f = (ClientProtocol.FreeFailed) reply;
              throw new VmapException(f.code(), f.reason());
            }));
  }

  /** The busy area containing {@code addr}, if any. */
  public CompletionStage<Optional<Area>> find(long addr) {
    return retrying(() -> ask(nodes.client(geometry.nodeOf(addr)),
            (ActorRef<ClientProtocol.FindReply> r) -> new ClientProtocol.Find(addr, r))
        .thenApply(r -> Optional.ofNullable(r.area())));
  }

  /** Every node's areas and counters plus the purge coordinator's status. */
  public CompletionStage<VmapInfo> info() {
    List<CompletableFuture<ClientProtocol.NodeInfo>> parts = new ArrayList<>();
    for (int k = 0; k < geometry.nodes(); k++) {
      int node = k;
      parts.add(retrying(() -> ask(nodes.client(node), (ActorRef<ClientProtocol.NodeInfo> r) -> new ClientProtocol.GetInfo(r))));
    }
    CompletableFuture<PurgeProtocol.Status> status = purgeStatus().toCompletableFuture();
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenCombine(status, (v, s) -> VmapInfo.of(geometry, parts.stream().map(CompletableFuture::join).toList(), s));
  }

  /** Runs a purge now (after the running one, if any); completes with the areas it released. */
  public CompletionStage<Integer> purge() {
    return retrying(() -> ask(coordinator, (ActorRef<PurgeProtocol.PurgeDone> r) -> new PurgeProtocol.PurgeSync(r)))
        .thenApply(PurgeProtocol.PurgeDone::released);
  }

  /** Completes when no purge epoch is running. */
  public CompletionStage<Long> awaitPurgeIdle() {
    return retrying(() -> ask(coordinator, (ActorRef<PurgeProtocol.Idle> r) -> new PurgeProtocol.AwaitIdle(r)))
        .thenApply(PurgeProtocol.Idle::lastEpoch);
  }

  /** The purge coordinator's state, including subscribers holding an epoch's space. */
  public CompletionStage<PurgeProtocol.Status> purgeStatus() {
    return retrying(() -> ask(coordinator, (ActorRef<PurgeProtocol.Status> r) -> new PurgeProtocol.GetStatus(r)));
  }

  /** Subscribes an actor to {@link PurgeProtocol.Flush}; it must ack each flush. */
  public CompletionStage<ActorRef<PurgeProtocol.Flush>> subscribeFlush(ActorRef<PurgeProtocol.Flush> subscriber) {
    return retrying(() -> ask(coordinator, (ActorRef<PurgeProtocol.Subscribed> r) -> new PurgeProtocol.Subscribe(subscriber, r)))
        .thenApply(PurgeProtocol.Subscribed::subscriber);
  }

  /**
   * Subscribes a callback: each flush is acked when the stage it returns completes. Stop the
   * returned actor (or {@link #unsubscribeFlush}) to unsubscribe.
   */
  public CompletionStage<ActorRef<PurgeProtocol.Flush>> subscribeFlush(FlushSubscriber.FlushListener listener) {
    ActorRef<PurgeProtocol.Flush> ref =
        system.systemActorOf(FlushSubscriber.create(listener), "vmap-flush-" + UUID.randomUUID(), Props.empty());
    return subscribeFlush(ref);
  }

  public void unsubscribeFlush(ActorRef<PurgeProtocol.Flush> subscriber) {
    coordinator.tell(new PurgeProtocol.Unsubscribe(subscriber));
  }

  /**
   * Runs {@code call}, and again up to {@link #retries} times while it fails with ETIMEDOUT. Each
   * call rebuilds its message with the same request id, so a retried alloc or free returns the
   * first answer.
   */
  private <T> CompletableFuture<T> retrying(java.util.function.Supplier<CompletableFuture<T>> call) {
    return retrying(call, retries);
  }

  private <T> CompletableFuture<T> retrying(java.util.function.Supplier<CompletableFuture<T>> call, int left) {
    CompletableFuture<T> first = call.get();
    if (left == 0) return first;
    return first
        .handle((v, t) -> {
          Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
          if (c instanceof VmapException v2 && v2.code() == ErrorCode.ETIMEDOUT) {
            retriesSent.increment();
            return retrying(call, left - 1);
          }
          return t == null ? CompletableFuture.completedFuture(v) : CompletableFuture.<T>failedFuture(c);
        })
        .thenCompose(f -> f);
  }

  private <Req, Res> CompletableFuture<Res> ask(RecipientRef<Req> target, akka.japi.function.Function<ActorRef<Res>, Req> msg) {
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
