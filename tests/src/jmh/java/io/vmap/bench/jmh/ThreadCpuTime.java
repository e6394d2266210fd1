package io.vmap.bench.jmh;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The benchmark thread's CPU time ({@code cpuNanos}) and operations ({@code ops}, counted by the
 * benchmark method), per measurement iteration, summed by JMH: their ratio is the CPU per
 * operation, which the neighbours of a shared machine disturb less than the wall clock.
 */
@AuxCounters(AuxCounters.Type.EVENTS)
@State(Scope.Thread)
public class ThreadCpuTime {
  static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  public long cpuNanos;
  public long ops;
  long cpu0;

  @Setup(Level.Iteration)
  public void start() {
    cpuNanos = 0;
    ops = 0;
    cpu0 = THREADS.getCurrentThreadCpuTime();
  }

  @TearDown(Level.Iteration)
  public void stop() {
    cpuNanos = THREADS.getCurrentThreadCpuTime() - cpu0;
  }
}
