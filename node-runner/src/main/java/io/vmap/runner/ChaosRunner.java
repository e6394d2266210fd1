package io.vmap.runner;

/** What {@code vmap chaos} and {@code vmap check} share: JVM tuning. */
final class ChaosRunner {

  private ChaosRunner() {}

  static final String PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  /**
   * On a machine with 2 CPUs the JVM's common pool has parallelism 1, and CompletableFuture then
   * runs every async continuation on a new thread. Akka's javadsl ask/pipeToSelf complete through
   * such continuations, so every answer to an ask between the allocator's actors would start a
   * thread: several times slower, and enough to make short timeouts fire. Raise it before the
   * pool exists (no effect if something already created it, or if it was set).
   */
  static void tuneCommonPool() {
    if (System.getProperty(PARALLELISM) == null) {
      System.setProperty(PARALLELISM, Integer.toString(Math.max(4, Runtime.getRuntime().availableProcessors())));
    }
  }
}
