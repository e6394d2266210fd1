package io.vmap.chaos;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.PurgeProtocol;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import io.vmap.client.Vmap;
import io.vmap.client.VmapSettings;
import io.vmap.node.VmapNode;
import io.vmap.purge.PurgeCoordinator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Message-level fault injection for Akka Typed actors, and for the allocator's actors in
 * particular: one {@code Chaos} holds the {@link ChaosSettings}, the counts of faults injected and
 * a switch to pause them; {@link #intercept} puts a {@link ChaosInterceptor} in front of any
 * behavior, {@link #wrapping} in front of an allocator's nodes and purge coordinator.
 *
 * <pre>{@code
 * Chaos chaos = Chaos.create(ChaosSettings.seeded(42).drop(0.02).duplicate(0.02).delay(0.05).reorder(0.02));
 * try (Vmap vmap = Vmap.start(config, chaos.wrapping())) {
 *   ...                                   // clients retry with the same request id after a timeout
 *   chaos.pause();                        // faults off: let everything settle, then check
 * }
 * System.out.println(chaos.counts());
 * // any other actor of yours:
 * Behavior<MyProtocol> b = chaos.intercept("my-actor", MyActor.create());
 * }</pre>
 *
 * <p>The seed is logged first when the {@code Chaos} is created ({@code vmap chaos: seed N}).
 */
public final class Chaos {

  private static final Logger LOG = LoggerFactory.getLogger(Chaos.class);

  /** The kinds of fault. */
  public enum Fault { DROP, DUPLICATE, DELAY, REORDER }

  /** Faults injected so far, in all and per message class (simple binary name, e.g. "VmapNode$AllocHere"). */
  public record Counts(long dropped, long duplicated, long delayed, long reordered, Map<String, long[]> byClass) {
    public long total() {
      return dropped + duplicated + delayed + reordered;
    }

    @Override
    public String toString() {
      return total() + " (dropped " + dropped + ", duplicated " + duplicated + ", delayed " + delayed
          + ", reordered " + reordered + ")";
    }
  }

  private final ChaosSettings settings;
  private volatile boolean active = true;
  private final LongAdder[] totals = {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()};
  private final ConcurrentHashMap<Class<?>, LongAdder[]> perClass = new ConcurrentHashMap<>();

  private Chaos(ChaosSettings settings) {
    this.settings = settings;
  }

  /** A chaos source with these settings; logs the seed. */
  public static Chaos create(ChaosSettings settings) {
    LOG.info("vmap chaos: seed {} ({}{})", settings.seed(), settings.seedFromClock() ? "from the clock; " : "", settings);
    return new Chaos(settings);
  }

  /** No faults (nothing logged): for running the recorded workload without chaos. */
  public static Chaos none() {
    return new Chaos(ChaosSettings.none());
  }

  /** From {@code vmap.chaos} of {@code config} (resolved, over reference.conf). */
  public static Chaos fromConfig(Config config) {
    return create(ChaosSettings.fromConfig(config));
  }

  /**
   * A standalone allocator configured from {@code config} like {@link Vmap#start(Config)}, its actors
   * wrapped by {@link #wrappingIfEnabled}: the interceptor when {@code vmap.chaos.enabled = on}.
   */
  public static Vmap startVmap(Config config) {
    Config full = com.typesafe.config.ConfigFactory.load(config);
    return Vmap.start(full, wrappingIfEnabled(full, VmapSettings.from(full)));
  }

  /**
   * What {@link #startVmap(Config)} uses: with {@code vmap.chaos.enabled = on}, the wrapping of a
   * {@code Chaos} made from {@code vmap.chaos} (stopped durable nodes restarted, see {@link
   * #wrapping(History, boolean)}); else {@link Vmap.Wrapping#NONE}.
   */
  public static Vmap.Wrapping wrappingIfEnabled(Config config, VmapSettings settings) {
    if (!ChaosSettings.enabledIn(config)) return Vmap.Wrapping.NONE;
    return fromConfig(config).wrapping(null, settings.isDurable());
  }

  public ChaosSettings settings() {
    return settings;
  }

  /** Faults stop (messages pass untouched; held and delayed ones are still delivered). */
  public void pause() {
    active = false;
  }

  public void resume() {
    active = true;
  }

  public boolean active() {
    return active;
  }

  /**
   * {@code behavior} behind a chaos interceptor. {@code actorName} seeds the actor's random stream
   * (use a stable name, such as "node-3"), so a seed reproduces each actor's decisions.
   */
  public <T> Behavior<T> intercept(String actorName, Behavior<T> behavior) {
    return Behaviors.<Object, T>intercept(() -> new ChaosInterceptor<T>(this, actorName), behavior).narrow();
  }

  /** The allocator's nodes and coordinator behind interceptors (as {@link ChaosSettings#actors} says). */
  public Vmap.Wrapping wrapping() {
    return wrapping(null, false);
  }

  /**
   * As {@link #wrapping()}, and more:
   *
   * @param history if not null, every node incarnation is recorded in it (start, stop), for the
   *     checker's one-owner rule
   * @param restartStoppedNodes a node that stops (a durable node does after a journal write
   *     failure) is started again, recovering from its journal, as Cluster Sharding would do; see
   *     {@link NodeRestarter}
   */
  public Vmap.Wrapping wrapping(History history, boolean restartStoppedNodes) {
    Chaos chaos = this;
    return new Vmap.Wrapping() {
      @Override
      public Behavior<NodeMessage> node(int k, Behavior<NodeMessage> node) {
        Behavior<NodeMessage> b = history == null ? node : Incarnations.recorded(history, k, node);
        // Inside the restarter: each incarnation has its own interceptor, and what it holds back
        // (delayed, duplicated, reordered messages) is lost when the incarnation stops, as a
        // crashed process loses its mailbox.
        if (settings.wrapsNodes()) b = chaos.intercept("node-" + k, b);
        return restartStoppedNodes ? NodeRestarter.create(k, b, history) : b;
      }

      @Override
      public Behavior<PurgeProtocol.Command> coordinator(Behavior<PurgeProtocol.Command> c) {
        return settings.wrapsCoordinator() ? chaos.intercept("coordinator", c) : c;
      }
    };
  }

  void count(Fault f, Class<?> c) {
    totals[f.ordinal()].increment();
    perClass.computeIfAbsent(c, k -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()})
        [f.ordinal()].increment();
  }

  public Counts counts() {
    Map<String, long[]> by = new TreeMap<>();
    perClass.forEach((c, a) -> {
      String n = c.getName();
      by.put(n.substring(n.lastIndexOf('.') + 1), new long[] {a[0].sum(), a[1].sum(), a[2].sum(), a[3].sum()});
    });
    return new Counts(totals[0].sum(), totals[1].sum(), totals[2].sum(), totals[3].sum(), by);
  }
}
