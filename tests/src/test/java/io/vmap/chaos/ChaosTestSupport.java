package io.vmap.chaos;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/** Shared by the chaos tests. */
final class ChaosTestSupport {

  private ChaosTestSupport() {}

  /**
   * With 2 CPUs the common pool has parallelism 1 and every async CompletableFuture continuation
   * (Akka's javadsl ask/pipeToSelf answers) starts a new thread: several times slower. This takes
   * effect only if nothing created the pool yet in this JVM (as when these tests run alone); the
   * build should pass -Djava.util.concurrent.ForkJoinPool.common.parallelism to the test JVM.
   */
  static void tuneCommonPool() {
    String key = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(key) == null) System.setProperty(key, "4");
  }

  /** The chaos configuration of {@code nodes} nodes (then {@code more}) under {@code overrides}, loaded. */
  static Config config(int nodes, String overrides, Config... more) {
    Config c = ConfigFactory.parseString(overrides).withFallback(ChaosWorkload.config(nodes));
    for (Config m : more) c = c.withFallback(m);
    return ConfigFactory.load(c);
  }
}
