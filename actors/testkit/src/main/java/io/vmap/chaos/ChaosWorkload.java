package io.vmap.chaos;

import io.vmap.protocol.PurgeProtocol;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import io.vmap.client.AllocOptions;
import io.vmap.client.Allocation;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapInfo;
import io.vmap.state.ErrorCode;
import io.vmap.space.Area;
import io.vmap.space.Geometry;
import io.vmap.workload.Clients;
import io.vmap.workload.Generator;
import io.vmap.workload.LiveAreas;
import io.vmap.workload.Op;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A mixed workload on an allocator, recorded in a {@link History} and checked afterwards: what
 * {@code vmap chaos} runs, usable from any test.
 *
 * <ol>
 *   <li>{@link #subscribe}: {@code subscribers} {@link RecordingSubscriber}s subscribe to flushes
 *       (behind the chaos interceptor too).
 *   <li>{@link #runOps}: {@code clients} concurrent clients issue {@code ops} operations in all,
 *       drawn by {@link Generator} with {@link #mix}: allocations (sizes of 1 page to a few zones,
 *       some aligned, some restricted to a window of zones owned by other nodes, some spanning
 *       zones, a few fail-fast), frees of live areas, finds inside live areas and at random
 *       addresses, and a few explicit purges. Every allocation is tagged with its request id. The
 *       fill level stays around {@code fill} of the space, so space is reused all the time.
 *   <li>{@link #drain}: faults off ({@link Chaos#pause}); every allocation and free that timed out
 *       is retried with its request id (an area answered then is "found later"); every live area is
 *       freed; purges run until nothing is lazy and no reservation is held.
 *   <li>{@link #verify}: {@link Checker#check(History)}, {@link Checker#leaks} on the end state,
 *       and both fscks.
 * </ol>
 */
public final class ChaosWorkload {

  /**
   * @param ops operations in all (the drain's retries and frees come on top)
   * @param clients concurrent clients, each with one operation in flight
   * @param seed the workload's choices (independent of the chaos seed's faults)
   * @param subscribers recording flush subscribers
   * @param fill fraction of the space kept allocated, about
   * @param settle longest wait for the system to become quiet in the drain
   */
  public record Options(long ops, int clients, long seed, int subscribers, double fill, Duration settle) {
    public static Options defaults(long ops, long seed) {
      return new Options(ops, 32, seed, 2, 0.6, Duration.ofSeconds(30));
    }

    public Options withClients(int n) {
      return new Options(ops, n, seed, subscribers, fill, settle);
    }

    public Options withSubscribers(int n) {
      return new Options(ops, clients, seed, n, fill, settle);
    }

    public Options withFill(double f) {
      return new Options(ops, clients, seed, subscribers, f, settle);
    }
  }

  /**
   * What a run did and found.
   *
   * @param ops operations of the workload proper
   * @param retries retries the client sent after timeouts (with the same request ids)
   * @param elapsed time of the workload proper
   */
  public record Result(
      long ops,
      long retries,
      Chaos.Counts faults,
      Checker.Summary summary,
      PurgeProtocol.Status purge,
      long incarnations,
      Duration elapsed,
      List<Checker.Violation> violations) {}

  /**
   * The configuration {@code vmap chaos} runs with (over which any file or setting goes): a small
   * space that fills up and is reused all the time ({@code nodes} x 32 zones of 64 KiB, 4 KiB
   * pages), frequent purges (64 lazy pages), and short timeouts so that lost messages cost little:
   * nodes ask each other for 300 ms, reservations lease 500 ms, clients wait 1 s and retry 3 times.
   */
  public static com.typesafe.config.Config config(int nodes) {
    long start = 0x100000000L;
    long end = start + nodes * 32L * 0x10000L;
    return com.typesafe.config.ConfigFactory.parseString(
        "vmap.space.start = \"" + io.vmap.space.Unsigned.hex(start) + "\"\n"
            + "vmap.space.end = \"" + io.vmap.space.Unsigned.hex(end) + "\"\n"
            + "vmap.space.page = 4096\n"
            + "vmap.space.zone = 64 KiB\n"
            + "vmap.space.nodes = " + nodes + "\n"
            + "vmap.purge.lazy-max-pages = 64\n"
            + "vmap.purge.release-batch = 16\n"
            + "vmap.node.ask-timeout = 100ms\n"
            + "vmap.spanning.lease = 300ms\n"
            + "vmap.client.ask-timeout = 400ms\n"
            + "vmap.client.retries = 1\n");
  }

  /**
   * The workload's shape over {@code g}: 1% purges, 14% finds (80% inside a held area), 30% frees
   * (all frees once {@code fill} of the space is held), else allocations: 70% of 1-4 pages, 20% of
   * 5-16 pages (below a zone), 10% larger than a zone (spanning; with one node, 1-8 pages); 25%
   * aligned to 1-16 pages, 15% confined to a window of 1-3 zones, half with an explicit home node,
   * 5% fail-fast.
   */
  public static Generator.Options mix(Geometry g, double fill) {
    long zonePages = Math.max(1, g.zone() / g.page());
    int pageLog2 = Long.numberOfTrailingZeros(g.page());
    Generator.Band spanning = g.nodes() > 1
        ? new Generator.Band(0.1, zonePages + 1, zonePages + Math.max(1, zonePages * 3 / 2))
        : new Generator.Band(0.1, 1, 8);
    return Generator.Options.of(new Generator.Mix(0.01, 0.14, 0.30), List.of(
            new Generator.Band(0.7, 1, 4),
            new Generator.Band(0.2, 5, 4 + Math.min(12, Math.max(1, zonePages - 4))),
            spanning))
        .withFindInside(0.8)
        .withFill(fill)
        .withAligns(0.25, pageLog2, pageLog2 + 4)
        .withWindows(0.15, 3)
        .withExplicitHomes(0.5)
        .withFailFast(0.05);
  }

  private final Vmap vmap;
  private final Chaos chaos;
  private final History history;
  private final Options options;
  private final VmapClient client;
  private final Geometry g;
  private final ExecutorService executor;
  private final String prefix;

  /** Areas allocated and not being freed, for frees and finds to pick from (all clients share it). */
  private final LiveAreas live = new LiveAreas();
  private final List<Req> lostAllocs = new ArrayList<>();
  private final List<LiveAreas.Held> lostFrees = new ArrayList<>();
  private long opsDone;
  private Duration elapsed = Duration.ZERO;

  public ChaosWorkload(Vmap vmap, Chaos chaos, History history, Options options) {
    this.vmap = vmap;
    this.chaos = chaos;
    this.history = history;
    this.options = options;
    this.client = vmap.client();
    this.g = vmap.settings().geometry();
    this.executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "vmap-chaos-workload");
      t.setDaemon(true);
      return t;
    });
    this.prefix = "s" + options.seed() + "-";
  }

  /** Subscribe, run the operations, drain, verify. */
  public static Result run(Vmap vmap, Chaos chaos, History history, Options options) {
    ChaosWorkload w = new ChaosWorkload(vmap, chaos, history, options);
    try {
      w.subscribe();
      w.runOps();
      w.drain();
      return w.verify();
    } finally {
      w.close();
    }
  }

  public void close() {
    executor.shutdownNow();
  }

  // =================================================================== subscribers

  /** Starts and subscribes the recording subscribers (asking again until each is confirmed). */
  public void subscribe() {
    ActorSystem<?> system = vmap.system();
    for (int i = 0; i < options.subscribers(); i++) {
      String name = "subscriber-" + i;
      ActorRef<PurgeProtocol.Flush> ref =
          system.systemActorOf(chaos.intercept(name, RecordingSubscriber.create(name, history)),
              "vmap-chaos-" + name + "-" + UUID.randomUUID(), Props.empty());
      for (int attempt = 0; ; attempt++) {
        try {
          client.subscribeFlush(ref).toCompletableFuture().join();
          history.subscribed(name);
          break;
        } catch (CompletionException e) {
          if (attempt >= 50) throw e;
        }
      }
    }
  }

  // =================================================================== the operations

  /**
   * Runs the operations with {@code clients} concurrent clients, one operation in flight each, drawn
   * from {@link #mix}; every allocation is tagged with its request id. Returns when all are answered.
   */
  public void runOps() {
    Generator generator = new Generator(g, mix(g, options.fill()));
    long t0 = System.nanoTime();
    Clients.run(options.ops(), options.clients(), 1, options.seed(), live, executor, c -> {
      Op op = generator.next(c.rnd(), c.live());
      if (op instanceof Op.Alloc a) {
        String id = prefix + "c" + c.id() + "-" + c.next();
        return alloc(new Req(a.options(id, id), new History.AllocRequest(a.size(), a.align(), a.vstart(), a.vend(), id)));
      }
      if (op instanceof Op.Free f) return free(f.held());
      if (op instanceof Op.Find f) return find(f.addr());
      return purge();
    });
    elapsed = Duration.ofNanos(System.nanoTime() - t0);
    opsDone = options.ops();
  }

  /** An allocation's options and the history's view of them (the options have no public getters). */
  private record Req(AllocOptions options, History.AllocRequest request) {}

  private CompletableFuture<?> alloc(Req req) {
    AllocOptions o = req.options();
    String id = req.request().tag();
    History.Op op = history.alloc(id, req.request());
    return client.alloc(o).toCompletableFuture().whenComplete((Allocation a, Throwable t) -> {
      if (t == null) {
        op.ok(a.area());
        live.add(new LiveAreas.Held(a.area(), id));
      } else {
        op.failed(t);
        if (timedOut(t)) {
          synchronized (lostAllocs) {
            lostAllocs.add(req);
          }
        }
      }
    });
  }

  private CompletableFuture<?> free(LiveAreas.Held k) {
    String requestId = "free-" + k.requestId();
    History.Op op = history.free(requestId, k.area().start(), k.area());
    return client.free(k.area().start(), requestId).toCompletableFuture().whenComplete((Area a, Throwable t) -> {
      if (t == null) {
        op.ok(a);
        live.released(k.area());
      } else {
        op.failed(t);
        if (timedOut(t)) {
          synchronized (lostFrees) {
            lostFrees.add(k);
          }
        } else {
          live.released(k.area());
        }
      }
    });
  }

  private CompletableFuture<?> find(long addr) {
    History.Op op = history.find(addr);
    return client.find(addr).toCompletableFuture().whenComplete((Optional<Area> a, Throwable t) -> {
      if (t == null) op.ok(a.orElse(null));
      else op.failed(t);
    });
  }

  private CompletableFuture<?> purge() {
    History.Op op = history.purge();
    return client.purge().toCompletableFuture().whenComplete((Integer n, Throwable t) -> {
      if (t == null) op.okCount(n);
      else op.failed(t);
    });
  }

  private static boolean timedOut(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    return !(c instanceof VmapException v) || v.code() == ErrorCode.ETIMEDOUT;
  }

  // =================================================================== drain

  /**
   * Faults off; allocations and frees that timed out are retried with their request ids; every
   * live area is freed; purges run until nothing is lazy or reserved (or {@code settle} passes).
   */
  public void drain() {
    chaos.pause();
    drainDeadline = System.nanoTime() + options.settle().toNanos();
    List<Req> allocs;
    synchronized (lostAllocs) {
      allocs = new ArrayList<>(lostAllocs);
      lostAllocs.clear();
    }
    for (Req r : allocs) retry(() -> alloc(r), 10);
    List<LiveAreas.Held> frees;
    synchronized (lostFrees) {
      frees = new ArrayList<>(lostFrees);
      lostFrees.clear();
    }
    for (LiveAreas.Held k : frees) retry(() -> free(k), 10);
    synchronized (lostFrees) {
      lostFrees.clear();
    }
    List<CompletableFuture<?>> fs = new ArrayList<>();
    for (LiveAreas.Held k : live.takeAll()) fs.add(free(k));
    for (CompletableFuture<?> f : fs) f.handle((v, t) -> null).join();
    synchronized (lostFrees) {
      frees = new ArrayList<>(lostFrees);
      lostFrees.clear();
    }
    for (LiveAreas.Held k : frees) retry(() -> free(k), 10);
    settle();
  }

  private long drainDeadline = Long.MAX_VALUE;

  private void retry(java.util.function.Supplier<CompletableFuture<?>> call, int times) {
    for (int i = 0; i < times && (i == 0 || System.nanoTime() < drainDeadline); i++) {
      Throwable t = call.get().handle((v, e) -> e).join();
      if (t == null || !timedOut(t)) return;
    }
  }

  /** Purges until the allocator is quiet: purge idle, nothing lazy, no reservation; or settle passes. */
  private long busySince;

  private void settle() {
    long deadline = Math.max(drainDeadline, System.nanoTime() + options.settle().toNanos() / 4);
    while (System.nanoTime() < deadline) {
      try {
        History.Op op = history.purge();
        try {
          op.okCount(client.purge().toCompletableFuture().join());
        } catch (CompletionException e) {
          op.failed(e);
        }
        client.awaitPurgeIdle().toCompletableFuture().join();
        VmapInfo info = client.info().toCompletableFuture().join();
        if (info.lazy().isEmpty() && info.reservedBytes() == 0 && Checker.quiet(info)) {
          // Every known area is freed: anything still allocated is an area placed for a request
          // whose home did not keep it, freed once its placing node confirms (a lease after the
          // placement), or a leak. Give the confirmations a few leases before judging.
          if (info.busy().isEmpty()) return;
          if (busySince == 0) busySince = System.nanoTime();
          if (System.nanoTime() - busySince > 5 * vmap.settings().node().lease().toNanos() + 1_000_000_000L) return;
        }
        TimeUnit.MILLISECONDS.sleep(50);
      } catch (CompletionException e) {
        // a timeout of the purge or the info: try again
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  // =================================================================== verify

  /** Checks the history, the end state (leaks) and the books. */
  public Result verify() {
    VmapInfo end = client.info().toCompletableFuture().join();
    List<Checker.Violation> v = new ArrayList<>(Checker.check(history));
    v.addAll(Checker.leaks(history, end));
    v.addAll(Checker.fsck(end));
    v.addAll(Checker.fsck(g, Inspector.books(vmap.system(), client), vmap.settings().node().lease()));
    long incarnations = history.events().stream()
        .filter(e -> e instanceof History.Incarnation i && i.started()).count();
    return new Result(opsDone, client.retriesSent(), chaos.counts(), Checker.summarize(history), end.purge(),
        incarnations, elapsed, v);
  }
}
