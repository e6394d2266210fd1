package io.vmap.bench;

import io.vmap.state.ErrorCode;
import java.util.concurrent.CompletionStage;

/**
 * What {@code vmap bench} measures: an allocator reached through alloc / free / find. Every call is
 * asynchronous here; a target whose calls complete on the caller's thread implements {@link Sync}
 * as well, and the runner then calls it directly (no future is built), so the baselines are not
 * charged for an API shape they do not need.
 *
 * <p>Semantics are those of DESIGN.md for every target: sizes are rounded up to pages, an align
 * below a page counts as a page, placement is the lowest aligned fit, frees are lazy (the space
 * comes back at a purge), a free of an address that is not a busy area's start fails.
 *
 * <p>New targets (the durable node, a cluster member over HTTP) implement this interface and are
 * named in {@link Targets#open}.
 */
public interface BenchTarget extends AutoCloseable {

  /** An allocation that found no space (ENOSPC or EAGAIN), or a lookup that found no area. */
  long NONE = -1L;

  /** The target's name as given to {@code --target}. */
  String name();

  /** A one-line description of what is measured (printed in the report header). */
  String describe();

  long page();

  /**
   * Allocates {@code size} bytes aligned to {@code align} anywhere in the space.
   *
   * @param hint an affinity key: the embedded target uses {@code hint % nodes} as the home node
   *     when {@code hint >= 0} (round robin otherwise); single-structure targets ignore it
   * @return the start, or {@link #NONE} if there is no space; completes exceptionally with
   *     {@link IllegalArgumentException} for an invalid request and with any other exception for a
   *     broken target (a timeout, a crash)
   */
  CompletionStage<Long> allocAsync(long size, long align, int hint);

  /** Frees the area starting at {@code addr}: null when freed, else ENOENT or EINVAL. */
  CompletionStage<ErrorCode> freeAsync(long addr);

  /** The start of the busy area containing {@code addr}, or {@link #NONE}. */
  CompletionStage<Long> findAsync(long addr);

  /** Purges every lazily freed area now; completes with the number of areas released. */
  CompletionStage<Integer> purgeAsync();

  /** Completes once background work started by earlier calls (a threshold purge) is done. */
  CompletionStage<Void> quiesce();

  /** After the run: what a durable target stored (one line), else null. */
  default String storageReport() {
    return null;
  }

  @Override
  void close();

  /** A target whose calls run on the caller's thread; the async forms wrap these. */
  interface Sync extends BenchTarget {

    long alloc(long size, long align, int hint);

    /** Null when freed, else ENOENT or EINVAL. */
    ErrorCode free(long addr);

    long find(long addr);

    int purge();

    @Override
    default CompletionStage<Long> allocAsync(long size, long align, int hint) {
      try {
        return java.util.concurrent.CompletableFuture.completedFuture(alloc(size, align, hint));
      } catch (RuntimeException e) {
        return java.util.concurrent.CompletableFuture.failedFuture(e);
      }
    }

    @Override
    default CompletionStage<ErrorCode> freeAsync(long addr) {
      return java.util.concurrent.CompletableFuture.completedFuture(free(addr));
    }

    @Override
    default CompletionStage<Long> findAsync(long addr) {
      return java.util.concurrent.CompletableFuture.completedFuture(find(addr));
    }

    @Override
    default CompletionStage<Integer> purgeAsync() {
      return java.util.concurrent.CompletableFuture.completedFuture(purge());
    }

    @Override
    default CompletionStage<Void> quiesce() {
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
  }
}
