package io.vmap.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * What {@code vmap bench --json} prints (through {@link io.vmap.http.api.Api#writePretty}): the
 * machine, the knobs under the kernel's names, and per target and case the kernel's figures plus
 * throughput and latency percentiles in microseconds. Keys are snake_case like the kernel's
 * parameters.
 */
final class BenchJson {

  private BenchJson() {}

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Machine(int nproc, long maxHeapBytes, String java, String gc, String os, String loadavg) {}

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Config(int nrThreads, int testLoopCount, int testRepeatCount, long runTestMask, boolean sequentialTestOrder,
      int nrPages, int nodes, long lazyMaxPages, int releaseBatch, int window, long seed, String requestIds,
      int findsPerAlloc, int warmupLoops, boolean lockstep) {}

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Latency(long count, double p50Usec, double p99Usec, double p999Usec, double maxUsec) {}

  record ByOp(Latency alloc, Latency free, Latency find) {}

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Result(String test, int id, int passed, int failed, int repeat, int loops, long avgUsec, long ops,
      long opsPerSec, Latency latency, ByOp byOp, List<String> errors) {}

  record Run(String target, String describe, List<Result> results) {}

  /** A row of the --compare table; {@code embeddedRatio} is null on the embedded target's own row. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record CompareRow(String test, String target, long opsPerSec, double p50Usec, double p99Usec, double maxUsec,
      Double embeddedRatio) {}

  /** The cases' report; {@code compare} only with --compare. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Cases(Machine machine, Config config, List<Run> runs, List<CompareRow> compare) {}

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record PurgeConfig(int areas, int threads, int ratePerThread, int nodes, int rounds) {}

  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record PurgeRow(String target, String releaseBatch, List<Long> purgeUsec, long purgeUsecMedian,
      List<Long> gcMillisDuringPurge, int released, Latency during, Latency before, List<String> errors) {}

  /** {@code --purge-latency}'s report. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record PurgeLatency(Machine machine, PurgeConfig config, List<PurgeRow> purgeLatency) {}
}
