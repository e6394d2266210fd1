package io.vmap.chaos;

import io.vmap.protocol.PurgeProtocol;
import akka.actor.NoSerializationVerificationNeeded;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValueType;
import io.vmap.protocol.WireMessage;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the chaos interceptor does: per message class, the probabilities of drop, duplicate, delay
 * and reorder, the delay bound, the seed, and which messages and actors it applies to. Immutable;
 * built from HOCON ({@link #fromConfig}, keys under {@code vmap.chaos} documented in
 * reference.conf) or in code:
 *
 * <pre>{@code
 * ChaosSettings s = ChaosSettings.seeded(42)
 *     .drop(0.01).duplicate(0.01).delay(0.05).maxDelay(Duration.ofMillis(20)).reorder(0.02)
 *     .forMessage(PurgeProtocol.FlushAck.class, new ChaosSettings.Faults(0.3, 0, 0, 0));
 * }</pre>
 */
public final class ChaosSettings {

  /** The probabilities (each 0..1) applied to one targeted message. */
  public record Faults(double drop, double duplicate, double delay, double reorder) {
    public static final Faults NONE = new Faults(0, 0, 0, 0);

    public Faults {
      check("drop", drop);
      check("duplicate", duplicate);
      check("delay", delay);
      check("reorder", reorder);
    }

    private static void check(String what, double p) {
      if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("vmap.chaos." + what + ": " + p + " is not in 0..1");
    }

    public boolean any() {
      return drop > 0 || duplicate > 0 || delay > 0 || reorder > 0;
    }
  }

  /** Targets every {@link WireMessage} that is not local-only. */
  public static final String PROTOCOL = "protocol";

  /** Actor kinds {@link Chaos#wrapping} can wrap. */
  public static final String NODES = "nodes";

  public static final String COORDINATOR = "coordinator";

  private final long seed;
  private final boolean seedFromClock;
  private final Faults defaults;
  private final Duration maxDelay;
  private final Set<String> messages;
  private final Set<String> exclude;
  private final Map<String, Faults> perMessage;
  private final Set<String> actors;
  /** Per class: its faults, or {@link Faults#NONE} when not targeted. */
  private final Map<Class<?>, Faults> cache = new ConcurrentHashMap<>();

  private ChaosSettings(
      long seed,
      boolean seedFromClock,
      Faults defaults,
      Duration maxDelay,
      Set<String> messages,
      Set<String> exclude,
      Map<String, Faults> perMessage,
      Set<String> actors) {
    if (maxDelay.isNegative()) throw new IllegalArgumentException("vmap.chaos.max-delay: " + maxDelay + " < 0");
    for (String a : actors) {
      if (!a.equals(NODES) && !a.equals(COORDINATOR)) {
        throw new IllegalArgumentException("vmap.chaos.actors: '" + a + "' is not nodes or coordinator");
      }
    }
    this.seed = seed;
    this.seedFromClock = seedFromClock;
    this.defaults = defaults;
    this.maxDelay = maxDelay;
    this.messages = Set.copyOf(messages);
    this.exclude = Set.copyOf(exclude);
    this.perMessage = Map.copyOf(perMessage);
    this.actors = Set.copyOf(actors);
  }

  /** No faults at all; seed 0. */
  public static ChaosSettings none() {
    return seeded(0);
  }

  /** No faults yet, this seed; protocol messages of nodes and coordinator targeted; max-delay 20 ms. */
  public static ChaosSettings seeded(long seed) {
    return new ChaosSettings(seed, false, Faults.NONE, Duration.ofMillis(20), Set.of(PROTOCOL), Set.of(), Map.of(),
        Set.of(NODES, COORDINATOR));
  }

  /** As {@link #seeded} with a seed from the clock (logged when the {@link Chaos} is created). */
  public static ChaosSettings randomSeed() {
    return seeded(System.nanoTime()).with(true);
  }

  /** Whether {@code vmap.chaos.enabled} is on in {@code root}. */
  public static boolean enabledIn(Config root) {
    return root.hasPath("vmap.chaos.enabled") && root.getBoolean("vmap.chaos.enabled");
  }

  /**
   * Reads {@code vmap.chaos} of {@code root} (reference.conf documents every key). A bad value is
   * an IllegalArgumentException naming the key.
   */
  public static ChaosSettings fromConfig(Config root) {
    try {
      Config c = root.getConfig("vmap.chaos");
      String seedText = c.getString("seed").trim();
      long seed;
      boolean fromClock = seedText.equalsIgnoreCase("random");
      if (fromClock) {
        seed = System.nanoTime();
      } else {
        try {
          seed = Long.parseLong(seedText);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("vmap.chaos.seed: '" + seedText + "' is not a number or random");
        }
      }
      Faults defaults = faults(c, Faults.NONE, "vmap.chaos");
      Map<String, Faults> per = new LinkedHashMap<>();
      Config pm = c.getConfig("per-message");
      for (String key : pm.root().keySet()) {
        if (pm.root().get(key).valueType() != ConfigValueType.OBJECT) {
          throw new IllegalArgumentException("vmap.chaos.per-message." + key + ": expected { drop = ..., ... }");
        }
        per.put(key, faults(((com.typesafe.config.ConfigObject) pm.root().get(key)).toConfig(), defaults,
            "vmap.chaos.per-message." + key));
      }
      return new ChaosSettings(seed, fromClock, defaults, c.getDuration("max-delay"),
          new LinkedHashSet<>(c.getStringList("messages")), new LinkedHashSet<>(c.getStringList("exclude")),
          per, new LinkedHashSet<>(c.getStringList("actors")));
    } catch (ConfigException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static Faults faults(Config c, Faults fallback, String where) {
    return new Faults(
        prob(c, "drop", fallback.drop(), where),
        prob(c, "duplicate", fallback.duplicate(), where),
        prob(c, "delay", fallback.delay(), where),
        prob(c, "reorder", fallback.reorder(), where));
  }

  private static double prob(Config c, String key, double fallback, String where) {
    if (!c.hasPath(key)) return fallback;
    double p = c.getDouble(key);
    if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException(where + "." + key + ": " + p + " is not in 0..1");
    return p;
  }

  // ---------------------------------------------------------------- builders

  private ChaosSettings with(boolean fromClock) {
    return new ChaosSettings(seed, fromClock, defaults, maxDelay, messages, exclude, perMessage, actors);
  }

  public ChaosSettings seed(long s) {
    return new ChaosSettings(s, false, defaults, maxDelay, messages, exclude, perMessage, actors);
  }

  public ChaosSettings faults(Faults f) {
    return new ChaosSettings(seed, seedFromClock, f, maxDelay, messages, exclude, perMessage, actors);
  }

  public ChaosSettings drop(double p) {
    return faults(new Faults(p, defaults.duplicate(), defaults.delay(), defaults.reorder()));
  }

  public ChaosSettings duplicate(double p) {
    return faults(new Faults(defaults.drop(), p, defaults.delay(), defaults.reorder()));
  }

  public ChaosSettings delay(double p) {
    return faults(new Faults(defaults.drop(), defaults.duplicate(), p, defaults.reorder()));
  }

  public ChaosSettings reorder(double p) {
    return faults(new Faults(defaults.drop(), defaults.duplicate(), defaults.delay(), p));
  }

  public ChaosSettings maxDelay(Duration d) {
    return new ChaosSettings(seed, seedFromClock, defaults, d, messages, exclude, perMessage, actors);
  }

  /** Faults for messages of class {@code type} (or implementing it) instead of the defaults. */
  public ChaosSettings forMessage(Class<?> type, Faults f) {
    Map<String, Faults> per = new LinkedHashMap<>(perMessage);
    per.put(type.getName(), f);
    return new ChaosSettings(seed, seedFromClock, defaults, maxDelay, messages, exclude, per, actors);
  }

  /**
   * Which messages are targeted: {@link #PROTOCOL} and/or class or interface names (simple or
   * binary); replaces the current list.
   */
  public ChaosSettings messages(String... names) {
    return new ChaosSettings(seed, seedFromClock, defaults, maxDelay, new LinkedHashSet<>(List.of(names)), exclude,
        perMessage, actors);
  }

  /** Also target messages of these classes (or implementing these interfaces). */
  public ChaosSettings alsoTarget(Class<?>... types) {
    Set<String> m = new LinkedHashSet<>(messages);
    for (Class<?> t : types) m.add(t.getName());
    return new ChaosSettings(seed, seedFromClock, defaults, maxDelay, m, exclude, perMessage, actors);
  }

  /** Never target these classes. */
  public ChaosSettings exclude(Class<?>... types) {
    Set<String> x = new LinkedHashSet<>(exclude);
    for (Class<?> t : types) x.add(t.getName());
    return new ChaosSettings(seed, seedFromClock, defaults, maxDelay, messages, x, perMessage, actors);
  }

  /** Which of an allocator's actors {@link Chaos#wrapping} wraps: {@link #NODES}, {@link #COORDINATOR}. */
  public ChaosSettings actors(String... kinds) {
    return new ChaosSettings(seed, seedFromClock, defaults, maxDelay, messages, exclude, perMessage,
        new LinkedHashSet<>(List.of(kinds)));
  }

  // ---------------------------------------------------------------- reading

  public long seed() {
    return seed;
  }

  /** Whether the seed was taken from the clock (not set). */
  public boolean seedFromClock() {
    return seedFromClock;
  }

  public Faults defaults() {
    return defaults;
  }

  public Duration maxDelay() {
    return maxDelay;
  }

  public Set<String> messages() {
    return messages;
  }

  public Set<String> excluded() {
    return exclude;
  }

  public Map<String, Faults> perMessage() {
    return perMessage;
  }

  public boolean wrapsNodes() {
    return actors.contains(NODES);
  }

  public boolean wrapsCoordinator() {
    return actors.contains(COORDINATOR);
  }

  /** Whether any fault can happen at all. */
  public boolean anyFaults() {
    if (defaults.any()) return true;
    for (Faults f : perMessage.values()) if (f.any()) return true;
    return false;
  }

  /** The faults for a message of class {@code c}: {@link Faults#NONE} if it is not targeted. */
  public Faults faultsFor(Class<?> c) {
    return cache.computeIfAbsent(c, this::compute);
  }

  private Faults compute(Class<?> c) {
    Set<String> names = names(c);
    for (String x : exclude) if (names.contains(x)) return Faults.NONE;
    boolean targeted = false;
    if (messages.contains(PROTOCOL)
        && WireMessage.class.isAssignableFrom(c)
        && !NoSerializationVerificationNeeded.class.isAssignableFrom(c)) {
      targeted = true;
    }
    for (String m : messages) if (names.contains(m)) targeted = true;
    if (!targeted) return Faults.NONE;
    // The most specific per-message entry: the class itself first, then its supertypes.
    for (Class<?> t : hierarchy(c)) {
      Faults f = perMessage.get(t.getName());
      if (f == null) f = perMessage.get(t.getSimpleName());
      if (f == null) f = perMessage.get(binarySimple(t));
      if (f != null) return f;
    }
    return defaults;
  }

  /** "VmapNode$AllocHere" for a nested class. */
  private static String binarySimple(Class<?> t) {
    String n = t.getName();
    int dot = n.lastIndexOf('.');
    return dot < 0 ? n : n.substring(dot + 1);
  }

  private static Set<String> names(Class<?> c) {
    Set<String> out = new HashSet<>();
    for (Class<?> t : hierarchy(c)) {
      out.add(t.getName());
      out.add(t.getSimpleName());
      out.add(binarySimple(t));
    }
    return out;
  }

  /** {@code c}, then its superclasses and interfaces, breadth first. */
  private static List<Class<?>> hierarchy(Class<?> c) {
    List<Class<?>> out = new java.util.ArrayList<>();
    Set<Class<?>> seen = new HashSet<>();
    Deque<Class<?>> q = new ArrayDeque<>();
    q.add(c);
    while (!q.isEmpty()) {
      Class<?> t = q.poll();
      if (t == null || t == Object.class || !seen.add(t)) continue;
      out.add(t);
      if (t.getSuperclass() != null) q.add(t.getSuperclass());
      q.addAll(List.of(t.getInterfaces()));
    }
    return out;
  }

  @Override
  public String toString() {
    return String.format(
        "seed %d, drop %s, duplicate %s, delay %s, reorder %s, max-delay %d ms, messages %s%s%s",
        seed, defaults.drop(), defaults.duplicate(), defaults.delay(), defaults.reorder(), maxDelay.toMillis(),
        messages, exclude.isEmpty() ? "" : " except " + exclude, perMessage.isEmpty() ? "" : ", per message " + perMessage);
  }
}
