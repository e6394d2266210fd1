package io.vmap.http;

import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.http.api.Api;
import io.vmap.http.api.AreaJson;
import io.vmap.http.api.BatchRequest;
import io.vmap.http.api.BatchResponse;
import io.vmap.protocol.Limits;
import io.vmap.space.Unsigned;
import io.vmap.state.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.IntSupplier;

/**
 * {@code POST /v1/areas/batch}: every operation of the body is submitted to the client at once, in
 * order, so they travel to the nodes many to a message; each gets its own result, exactly what the
 * single-operation route would answer (an invalid operation fails alone, with EINVAL naming its
 * index and field). Each operation is counted for its vmap node as a single request is ({@link
 * Observer}), timed from the batch's start to its own result.
 */
final class Batches {

  /** Where each operation's result is counted: its kind, its vmap node (or "unattributed"), its time, whether it failed. */
  interface Observer {
    void account(String op, String node, long nanos, boolean error);
  }

  private final VmapClient client;
  private final IntSupplier anyHome;
  private final int maxOps;
  private final InFlight inFlight;
  private final Observer observer;
  private long t0;

  /**
   * Operations of {@code client}'s principal; {@code anyHome}: the home node of the batch's
   * allocations that name none ({@link VmapClient#anyHome}, drawn once per batch).
   */
  Batches(VmapClient client, IntSupplier anyHome, int maxOps, InFlight inFlight, Observer observer) {
    this.client = client;
    this.anyHome = anyHome;
    this.maxOps = maxOps;
    this.inFlight = inFlight;
    this.observer = observer;
  }

  CompletableFuture<BatchResponse> run(String body) {
    t0 = System.nanoTime();
    BatchRequest req = Api.read(body, BatchRequest.class);
    if (req.ops() == null) throw new Api.BadJson("ops: missing (a list of operations)");
    int n = req.ops().size();
    if (n > maxOps) throw new Api.BadJson(Limits.over("ops", n, "operations", "http.batch-ops", maxOps));
    inFlight.acquire(n);
    List<CompletableFuture<BatchResponse.Result>> results = new ArrayList<>(n);
    // One home for the batch's allocations that name none, as one caller's requests share a home.
    int[] home = {-1};
    IntSupplier batchHome = () -> home[0] >= 0 ? home[0] : (home[0] = anyHome.getAsInt());
    try {
      for (int i = 0; i < n; i++) results.add(counted(req.ops().get(i), submit(i, req.ops().get(i), batchHome)));
    } catch (RuntimeException e) {
      inFlight.release(n);
      throw e;
    }
    return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).whenComplete((v, t) -> inFlight.release(n))
        .thenApply(v -> {
      List<BatchResponse.Result> out = new ArrayList<>(results.size());
      for (CompletableFuture<BatchResponse.Result> r : results) out.add(r.join());
      return new BatchResponse(out);
    });
  }

  private CompletableFuture<BatchResponse.Result> submit(int i, BatchRequest.Op op, IntSupplier batchHome) {
    try {
      if (op == null) throw new Api.BadJson("null is not an operation");
      String kind = op.op() == null ? "" : op.op();
      return switch (kind) {
        case "alloc" -> client.alloc(op.toOptions(client.geometry(), batchHome)).toCompletableFuture()
            .handle((a, t) -> t == null ? BatchResponse.Result.ok(201, AreaJson.of(a.area(), a.node())) : failed(i, t));
        case "free" -> {
          long addr = op.address();
          String id = op.requestId() == null ? null : Api.requestId(op.requestId(), "requestId");
          yield client.free(addr, id).toCompletableFuture()
              .handle((a, t) -> t == null ? BatchResponse.Result.ok(204, null) : failed(i, t));
        }
        case "find" -> {
          if (op.requestId() != null) throw new Api.BadJson("requestId: not a field of a find op");
          long addr = op.address();
          yield client.find(addr).toCompletableFuture().handle((a, t) -> {
            if (t != null) return failed(i, t);
            if (a.isEmpty()) return BatchResponse.Result.failed(404, "ENOENT", "no busy area contains " + Unsigned.hex(addr));
            return BatchResponse.Result.ok(200, AreaJson.of(a.get(), client.geometry().nodeOf(a.get().start())));
          });
        }
        default -> throw new Api.BadJson("op: must be alloc, free or find, got '" + kind + "'");
      };
    } catch (IllegalArgumentException bad) {
      return CompletableFuture.completedFuture(failed(i, bad));
    }
  }

  /**
   * {@code result}, counted once known: an allocation for the node its area starts on, a free or a
   * find for {@code nodeOf(addr)}, "unattributed" without an address (a failed allocation, a bad op).
   */
  private CompletableFuture<BatchResponse.Result> counted(BatchRequest.Op op, CompletableFuture<BatchResponse.Result> result) {
    String kind = op == null || op.op() == null ? "" : op.op();
    if (!kind.equals("alloc") && !kind.equals("free") && !kind.equals("find")) return result;
    return result.whenComplete((r, t) -> {
      boolean error = t != null || r.status() >= 400;
      String node = "unattributed";
      Long addr = kind.equals("alloc") ? (error || r.area() == null ? null : r.area().start()) : op.addr();
      if (addr != null) node = Integer.toString(client.geometry().nodeOf(addr));
      observer.account(kind, node, System.nanoTime() - t0, error);
    });
  }

  /** The error result of operation {@code i}: its code's status; a bad operation names its index. */
  private static BatchResponse.Result failed(int i, Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (c instanceof VmapException v) {
      return BatchResponse.Result.failed(VmapRoutes.statusOf(v.code()).intValue(), v.code().name(), v.reason());
    }
    if (c instanceof IllegalArgumentException bad) {
      return BatchResponse.Result.failed(400, ErrorCode.EINVAL.name(), "ops[" + i + "]." + bad.getMessage());
    }
    return BatchResponse.Result.failed(500, "EIO", "internal error (" + c.getClass().getSimpleName() + "); see the server log");
  }
}
