package io.vmap.client;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.RecipientRef;
import io.vmap.protocol.ClientProtocol;
import io.vmap.protocol.ReadIndexes;
import io.vmap.protocol.NodeDirectory;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.state.OwnedArea;
import io.vmap.state.Principal;
import io.vmap.state.Quotas;
import io.vmap.state.ReadIndex;
import io.vmap.state.RequestKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * What embedding code uses: every call returns a {@link CompletionStage} that fails with a {@link
 * VmapException} carrying an {@link ErrorCode} and a reason. Thread-safe; one per process (or per
 * component that wants its own session) is enough.
 *
 * <p>Allocations, frees and finds travel in batches per node ({@link ClientSession}): calls made
 * while a node is busy with this client's previous batch go out together in the next. {@link
 * #allocAll} and {@link #freeAll} submit many at once. A call that gets no answer within {@link
 * #timeout()} is sent again, with the same request key, {@link #retries()} times, then fails with
 * ETIMEDOUT; a retry never gets a second area.
 *
 * <p>A client acts for a {@link Principal} (DESIGN.md "Tenants"): the areas it allocates belong to
 * its tenant, and it frees and finds only those, unless it is an admin. A client made by a
 * constructor acts for {@link Principal#SYSTEM} (the default tenant, admin: as before tenants
 * existed); {@link #as} gives the same session acting for another principal.
 */
public final class VmapClient implements AutoCloseable {

  /** Admin actions: who did what (the node logs an admin's free of another tenant's area). */
  private static final org.slf4j.Logger AUDIT = org.slf4j.LoggerFactory.getLogger("io.vmap.audit");

  private final ActorSystem<?> system;
  private final Geometry geometry;
  private final NodeDirectory nodes;
  private final ActorRef<PurgeProtocol.Command> coordinator;
  private final ClientSession session;
  /** The read indexes of the nodes running in this JVM, or null. */
  private final ReadIndexes indexes;
  /** Who this client acts for. */
  private final Principal principal;
  /** Every tenant's quota, for {@link #info}. */
  private final Quotas quotas;
  /** False for a view made by {@link #as}: closing it leaves the session to its owner. */
  private final boolean ownsSession;
  /** vmap.limits: tag and request id lengths, requests per allocAll/freeAll. */
  private final io.vmap.protocol.Limits limits;
  /** The questions that are asked, not batched (info, purge, status, subscriptions). */
  private final Asks asks;

  /** Retries, batch size and dispatcher from the system's configuration ({@code vmap.client.*}). */
  public VmapClient(
      ActorSystem<?> system,
      Geometry geometry,
      NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> coordinator,
      Duration timeout) {
    this(system, geometry, nodes, coordinator, timeout, configured(system, "vmap.client.retries", 0), null);
  }

  /** As above, reading finds of the nodes in this JVM from their {@code indexes}. */
  public VmapClient(
      ActorSystem<?> system,
      Geometry geometry,
      NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> coordinator,
      Duration timeout,
      ReadIndexes indexes) {
    this(system, geometry, nodes, coordinator, timeout, configured(system, "vmap.client.retries", 0), indexes);
  }

  /**
   * @param retries how many times a call that timed out (no answer in time, or a node's journal
   *     write failed) is sent again before the caller gets ETIMEDOUT; every retry carries the same
   *     request key, so it returns the first answer
   */
  public VmapClient(
      ActorSystem<?> system,
      Geometry geometry,
      NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> coordinator,
      Duration timeout,
      int retries,
      ReadIndexes indexes) {
    this(system, geometry, nodes, coordinator, timeout, retries, indexes, VmapSettings.quotas(system.settings().config()), false);
  }

  /**
   * @param quotas every tenant's quota, shown by {@link #info} (the nodes enforce their own)
   * @param durable whether the nodes are durable: then the threads' allocations that name no home
   *     share one node at a time ({@code vmap.client.durable-home-turn}), so that they share
   *     journal writes
   */
  public VmapClient(
      ActorSystem<?> system,
      Geometry geometry,
      NodeDirectory nodes,
      ActorRef<PurgeProtocol.Command> coordinator,
      Duration timeout,
      int retries,
      ReadIndexes indexes,
      Quotas quotas,
      boolean durable) {
    if (retries < 0) throw new IllegalArgumentException("vmap.client.retries: " + retries + " < 0");
    this.system = system;
    this.geometry = geometry;
    this.nodes = nodes;
    this.coordinator = coordinator;
    this.indexes = indexes;
    com.typesafe.config.Config c = system.settings().config();
    this.limits = io.vmap.protocol.Limits.from(c);
    this.session = new ClientSession(system, nodes, timeout, retries, configured(system, "vmap.client.max-batch", 256),
        c.hasPath("vmap.dispatcher.type") ? "vmap.dispatcher" : null,
        durable ? configured(system, "vmap.client.durable-home-turn", 1024) : 0, durable);
    this.asks = new Asks(system, session.timeout(), retries);
    this.principal = Principal.SYSTEM;
    this.quotas = quotas == null ? Quotas.NONE : quotas;
    this.ownsSession = true;
  }

  private VmapClient(VmapClient of, Principal principal) {
    this.system = of.system;
    this.geometry = of.geometry;
    this.nodes = of.nodes;
    this.coordinator = of.coordinator;
    this.session = of.session;
    this.indexes = of.indexes;
    this.quotas = of.quotas;
    this.limits = of.limits;
    this.asks = of.asks;
    this.principal = principal;
    this.ownsSession = false;
  }

  /**
   * This client's session acting for {@code principal}: what it allocates belongs to {@code
   * principal.tenant()}, and it frees, finds and lists only that tenant's areas unless it is an
   * admin. Cheap (no actor, no thread): make one per request if need be. Closing it does nothing;
   * the session ends with this client.
   */
  public VmapClient as(Principal principal) {
    if (principal == null) throw new IllegalArgumentException("principal: null");
    // By identity: a principal equal to this one but not it (a token's admin of the default tenant
    // against SYSTEM) gets its own view, so that its purges are audited.
    return principal == this.principal ? this : new VmapClient(this, principal);
  }

  /** Who this client acts for. */
  public Principal principal() {
    return principal;
  }

  /** Every tenant's quota (what {@link #info} shows). */
  public Quotas quotas() {
    return quotas;
  }

  private static int configured(ActorSystem<?> system, String key, int fallback) {
    com.typesafe.config.Config c = system.settings().config();
    return c.hasPath(key) ? c.getInt(key) : fallback;
  }

  /** Retries of a call that timed out, before ETIMEDOUT reaches the caller ({@code vmap.client.retries}). */
  public int retries() {
    return session.retries();
  }

  /** How many retries this client has sent so far (all calls). */
  public long retriesSent() {
    return session.retriesSent();
  }

  public Geometry geometry() {
    return geometry;
  }

  /** How long a call waits for its answer before it is retried or fails with ETIMEDOUT. */
  public Duration timeout() {
    return session.timeout();
  }

  /** Node {@code k}, for client requests ({@link ClientProtocol}) only. */
  public RecipientRef<ClientProtocol.Command> node(int k) {
    return nodes.client(k);
  }

  public ActorRef<PurgeProtocol.Command> coordinator() {
    return coordinator;
  }

  // ------------------------------------------------------------------ allocations

  /** {@code alloc(size)} with every default. */
  public CompletionStage<Allocation> alloc(long size) {
    return alloc(AllocOptions.size(size));
  }

  /**
   * Allocates per DESIGN.md: the lowest aligned fit on the home node, then its neighbours, then
   * across zones, then after a synchronous purge. Fails with ENOSPC, EAGAIN (fail-fast), EINVAL or
   * ETIMEDOUT (retry with the same request id).
   *
   * <p>The home is {@link AllocOptions#home} if set; else, for a request with an id, the node the id
   * hashes to (only the home node remembers a request's first answer); else the calling thread's
   * node, chosen round robin when the thread first allocates (as the kernel uses the current CPU's
   * node), so one thread's requests batch on one node.
   */
  public CompletionStage<Allocation> alloc(AllocOptions o) {
    Call<Allocation> p = submitAlloc(o);
    return p.future;
  }

  /**
   * Many allocations in one call: they go out in batches, and each gets its own result, in order
   * (a failed one fails only itself).
   */
  public CompletionStage<List<Result<Allocation>>> allocAll(List<AllocOptions> requests) {
    String tooMany = limits.callRefusal("allocAll", requests.size());
    if (tooMany != null) return CompletableFuture.failedFuture(new VmapException(ErrorCode.EINVAL, tooMany));
    List<CompletableFuture<Allocation>> out = new ArrayList<>(requests.size());
    for (AllocOptions o : requests) out.add(submitAlloc(o).future);
    return collect(out);
  }

  private Call<Allocation> submitAlloc(AllocOptions o) {
    int home = o.hasHome() ? o.home() : defaultHome(o.requestIdOrNull());
    String overLimit = limits.tagRefusal(o.tagText());
    if (overLimit == null) overLimit = limits.requestIdRefusal(o.requestIdOrNull());
    if (overLimit != null) return Call.failed(new VmapException(ErrorCode.EINVAL, overLimit));
    AllocSpec spec;
    try {
      AllocSpec plain = AllocSpec.inRange(geometry, o.sizeBytes(), o.alignOr(geometry.page()),
          o.vstartOr(geometry.vstart()), o.vendOr(geometry.vend()), home, o.tagText(), o.policyValue());
      spec = principal.tenant().equals(Principal.DEFAULT_TENANT) ? plain : plain.withTenant(principal.tenant());
    } catch (IllegalArgumentException e) {
      return Call.failed(new VmapException(ErrorCode.EINVAL, e.getMessage()));
    }
    if (o.requestIdOrNull() == null) {
      return session.submitNew(new Call<>(null, home, retries(), ALLOCATED) {
        @Override
        ClientProtocol.Request requestFor(RequestKey key) {
          return new ClientProtocol.AllocRequest(key, spec);
        }
      });
    }
    RequestKey key;
    try {
      key = RequestKey.keyed(keyOp("alloc"), o.requestIdOrNull(), RequestKey.fingerprint(spec));
    } catch (IllegalArgumentException e) {
      return Call.failed(new VmapException(ErrorCode.EINVAL, e.getMessage()));
    }
    Call<Allocation> p = new Call<>(new ClientProtocol.AllocRequest(key, spec), home, retries(), ALLOCATED)
        .reusedId(o.requestIdOrNull(), "an allocation of other size, align, range, tag, tenant or node");
    session.submit(p);
    return p;
  }

  /**
   * The operation a caller-chosen id is keyed under: the tenant's own, so that two tenants using the
   * same id never share an answer (the default tenant keeps the keys it always had).
   */
  private String keyOp(String op) {
    return principal.tenant().equals(Principal.DEFAULT_TENANT) ? op : op + "@" + principal.tenant();
  }

  /**
   * A home node for an allocation that names none and comes from a thread that stands for no CPU,
   * such as a server's request thread ({@code POST /v1/areas}): the next node in turn, so that calls
   * made one at a time go round every node. With durable nodes, every thread's allocations go to
   * this client's node while it still waits for an answer there (at most {@code
   * vmap.client.durable-home-turn} of them), so that under load they travel in one batch and reach
   * the journal in one write; volatile nodes answer in microseconds, and a call alone at an
   * idle node may run the node's turn on its own thread, which a queued one does not. Pass it to
   * {@link AllocOptions#home}. A caller that is one of the allocator's CPUs needs none: without a home
   * an allocation goes to the calling thread's own node.
   */
  public int anyHome() {
    return session.anyHome();
  }

  private int defaultHome(String requestId) {
    return requestId != null ? Math.floorMod(requestId.hashCode(), geometry.nodes()) : session.threadHome();
  }

  // ------------------------------------------------------------------ frees and finds

  /** Frees the area starting at {@code addr}; completes with the freed area. */
  public CompletionStage<Area> free(long addr) {
    return submitFree(addr, null).future;
  }

  /** As {@link #free(long)}, under a caller-chosen id: a retry with the same id gets the first answer. */
  public CompletionStage<Area> free(long addr, String requestId) {
    if (requestId == null) return free(addr);
    return submitFree(addr, requestId).future;
  }

  /** Many frees in one call, each with its own result, in order. */
  public CompletionStage<List<Result<Area>>> freeAll(List<Long> addrs) {
    String tooMany = limits.callRefusal("freeAll", addrs.size());
    if (tooMany != null) return CompletableFuture.failedFuture(new VmapException(ErrorCode.EINVAL, tooMany));
    List<CompletableFuture<Area>> out = new ArrayList<>(addrs.size());
    for (long a : addrs) out.add(submitFree(a, null).future);
    return collect(out);
  }

  private Call<Area> submitFree(long addr, String requestId) {
    int owner = geometry.nodeOf(addr);
    if (requestId == null) {
      return session.submitNew(new Call<>(null, owner, retries(), FREED) {
        @Override
        ClientProtocol.Request requestFor(RequestKey key) {
          return new ClientProtocol.FreeRequest(key, addr, principal);
        }
      });
    }
    RequestKey key;
    try {
      String overLimit = limits.requestIdRefusal(requestId);
      if (overLimit != null) throw new IllegalArgumentException(overLimit);
      key = RequestKey.keyed(keyOp("free"), requestId, RequestKey.fingerprint(addr));
    } catch (IllegalArgumentException e) {
      Call<Area> p = new Call<>(null, owner, 0, FREED);
      p.future.completeExceptionally(new VmapException(ErrorCode.EINVAL, e.getMessage()));
      return p;
    }
    Call<Area> p = new Call<>(new ClientProtocol.FreeRequest(key, addr, principal), owner, retries(), FREED)
        .reusedId(requestId, "a free of another address");
    session.submit(p);
    return p;
  }

  /**
   * The busy area containing {@code addr}, if any and if this client may see it (another tenant's
   * area is not found). When the node owning {@code addr} runs in this JVM, its read index answers
   * at once, without a message; what the index cannot tell (a piece of a spanning area) is asked
   * of the node.
   */
  public CompletionStage<Optional<Area>> find(long addr) {
    int owner = geometry.nodeOf(addr);
    ReadIndex index = indexes == null ? null : indexes.get(owner);
    if (index != null && principal.admin()) {
      Area a = index.find(addr); // an admin sees every tenant's area: no owner to look up
      if (a != ReadIndex.UNSURE) return CompletableFuture.completedFuture(Optional.ofNullable(a));
    } else if (index != null) {
      OwnedArea a = index.findOwned(addr);
      if (a == null) return CompletableFuture.completedFuture(Optional.empty());
      if (a != OwnedArea.UNSURE) {
        return CompletableFuture.completedFuture(principal.sees(a.tenant()) ? Optional.of(a.area()) : Optional.empty());
      }
    }
    return session.submitNew(new Call<>(null, owner, retries(), FOUND) {
      @Override
      ClientProtocol.Request requestFor(RequestKey key) {
        return new ClientProtocol.FindRequest(key, addr, principal);
      }
    }).future;
  }

  // ------------------------------------------------------------------ the rest: asked, not batched

  /**
   * Every node's areas and counters plus the purge coordinator's status and every tenant's usage and
   * quota; for a tenant without the admin role, only its own areas and usage ({@link VmapInfo#forTenant}).
   */
  public CompletionStage<VmapInfo> info() {
    List<CompletableFuture<ClientProtocol.NodeInfo>> parts = new ArrayList<>();
    for (int k = 0; k < geometry.nodes(); k++) {
      int node = k;
      parts.add(asks.ask(nodes.client(node), (ActorRef<ClientProtocol.NodeInfo> r) -> new ClientProtocol.GetInfo(r)));
    }
    CompletableFuture<PurgeProtocol.Status> status = purgeStatus().toCompletableFuture();
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
        .thenCombine(status, (v, s) -> {
          VmapInfo all = VmapInfo.of(geometry, parts.stream().map(CompletableFuture::join).toList(), s, quotas);
          return principal.admin() ? all : all.forTenant(principal.tenant());
        });
  }

  /**
   * What each tenant holds over the whole space (live and lazily freed areas, what its quota counts)
   * and its quota, by tenant name, without copying any area (each node sends its per-tenant sums):
   * the view a dashboard polls. An admin gets every tenant holding something or having a quota of
   * its own; a tenant only its own row (zero if it holds nothing).
   */
  public CompletionStage<List<VmapInfo.TenantInfo>> tenants() {
    List<CompletableFuture<ClientProtocol.TenantsHere>> parts = new ArrayList<>();
    for (int k = 0; k < geometry.nodes(); k++) {
      int node = k;
      parts.add(asks.ask(nodes.client(node), (ActorRef<ClientProtocol.TenantsHere> r) -> new ClientProtocol.GetTenants(r)));
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<io.vmap.state.TenantUsage> perNode = new ArrayList<>();
      for (CompletableFuture<ClientProtocol.TenantsHere> p : parts) perNode.addAll(p.join().tenants());
      List<VmapInfo.TenantInfo> rows = VmapInfo.tenantRows(perNode, quotas);
      if (principal.admin()) return rows;
      String me = principal.tenant();
      return List.of(rows.stream().filter(t -> t.tenant().equals(me)).findFirst()
          .orElse(new VmapInfo.TenantInfo(me, io.vmap.state.TenantUsage.none(me), quotas.of(me))));
    });
  }

  /**
   * Runs a purge now (after the running one, if any); completes with the areas it released. Needs the
   * admin role (EPERM otherwise): a purge flushes every subscriber and is the operator's tool (a
   * tenant's allocation over its quota purges by itself when that would help).
   */
  public CompletionStage<Integer> purge() {
    if (!principal.admin()) {
      return CompletableFuture.failedFuture(new VmapException(ErrorCode.EPERM,
          "purge needs the admin role; tenant " + principal.tenant() + " does not have it"));
    }
    // Logged here, not by each door, so HTTP and embedded admins are audited alike. The embedding
    // system itself (the SYSTEM instance: Vmap.client(), and HTTP without authentication) is not:
    // chaos, replay and bench purge by the thousand. Compared by identity, so an authenticated admin
    // of the default tenant, equal to SYSTEM, is audited.
    if (principal != Principal.SYSTEM) AUDIT.info("admin {} asked for a synchronous purge", principal.tenant());
    return asks.ask(coordinator, (ActorRef<PurgeProtocol.PurgeDone> r) -> new PurgeProtocol.PurgeSync(r))
        .thenApply(PurgeProtocol.PurgeDone::released);
  }

  /** Completes when no purge epoch is running. */
  public CompletionStage<Long> awaitPurgeIdle() {
    return asks.ask(coordinator, (ActorRef<PurgeProtocol.Idle> r) -> new PurgeProtocol.AwaitIdle(r))
        .thenApply(PurgeProtocol.Idle::lastEpoch);
  }

  /** The purge coordinator's state, including subscribers holding an epoch's space. */
  public CompletionStage<PurgeProtocol.Status> purgeStatus() {
    return asks.ask(coordinator, (ActorRef<PurgeProtocol.Status> r) -> new PurgeProtocol.GetStatus(r));
  }

  /** Subscribes an actor to {@link PurgeProtocol.Flush}; it must ack each flush. */
  public CompletionStage<ActorRef<PurgeProtocol.Flush>> subscribeFlush(ActorRef<PurgeProtocol.Flush> subscriber) {
    return asks.ask(coordinator, (ActorRef<PurgeProtocol.Subscribed> r) -> new PurgeProtocol.Subscribe(subscriber, r))
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

  /** Ends the session: calls still waiting fail with ETIMEDOUT. A view made by {@link #as} leaves it open. */
  @Override
  public void close() {
    if (ownsSession) session.close();
  }

  // ------------------------------------------------------------------ plumbing

  /** What each batched call's reply means to its caller (see {@link Call}). */
  private static final Call.Answer<Allocation> ALLOCATED =
      r -> r instanceof ClientProtocol.Allocated a ? new Allocation(a.area(), a.node()) : null;
  private static final Call.Answer<Area> FREED = r -> r instanceof ClientProtocol.Freed f ? f.area() : null;
  private static final Call.Answer<Optional<Area>> FOUND =
      r -> r instanceof ClientProtocol.Found f ? Optional.ofNullable(f.area()) : null;

  /** One call's result among many: its value, or why it failed. */
  public record Result<T>(T value, VmapException error) {
    public boolean ok() {
      return error == null;
    }
  }

  private static <T> CompletionStage<List<Result<T>>> collect(List<CompletableFuture<T>> futures) {
    return CompletableFuture.allOf(futures.stream().map(f -> f.handle((v, t) -> null)).toArray(CompletableFuture[]::new))
        .thenApply(x -> {
          List<Result<T>> out = new ArrayList<>(futures.size());
          for (CompletableFuture<T> f : futures) {
            out.add(f.handle((v, t) -> new Result<T>(v, t == null ? null : vmapException(t))).join());
          }
          return out;
        });
  }

  private static VmapException vmapException(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    return c instanceof VmapException v ? v : new VmapException(ErrorCode.ETIMEDOUT, String.valueOf(c));
  }
}
