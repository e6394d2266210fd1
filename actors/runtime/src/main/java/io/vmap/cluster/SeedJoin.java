package io.vmap.cluster;

import akka.actor.Address;
import akka.actor.AddressFromURIString;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.JoinSeedNodes;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Joins a durable member to its cluster through the seed nodes, and never lets it form a second
 * cluster on a journal that already has one (DESIGN.md "Journal identity").
 *
 * <p>Akka's rule: the first of the seed nodes forms a new cluster when no other seed answers within
 * {@code akka.cluster.seed-node-timeout}; every other member only ever joins. A restarted first seed
 * whose peers are slow to answer (a loaded machine, a partition) would thus form a second cluster
 * next to the running one, both owning every vmap node of one journal. So a member joins by the seed
 * nodes itself ({@code vmap.cluster.seed-nodes}: {@link #manualJoin} moves Akka's list there, so that
 * Akka does not join on its own) and, when it is the first seed, reads its journal first:
 *
 * <ul>
 *   <li>no cluster identity in it (a new journal): join as configured; it may form the cluster;
 *   <li>an identity (the journal has a cluster's history): join the other seed nodes only, retrying
 *       until one answers, never forming; it warns while it waits, naming the way out;
 *   <li>{@code vmap.cluster.form-cluster = on} ({@code vmap node --form-cluster}): the operator says
 *       every member is down, this one forms the cluster again if no other seed answers.
 * </ul>
 *
 * A first seed whose journal has history and that has no other seed node to join is refused (it
 * exits with status 78 under {@code vmap node}), as is one whose journal cannot be read within
 * {@code vmap.cluster.identity-timeout} and has no other seed.
 */
final class SeedJoin {

  /** Where the seed nodes go so that Akka does not join by itself. */
  static final String SEED_NODES = "vmap.cluster.seed-nodes";
  static final String FORM_CLUSTER = "vmap.cluster.form-cluster";

  /** How often a member not in a cluster yet says so, after the first time. */
  private static final Duration WARN_EVERY = Duration.ofSeconds(30);
  private static final Duration RETRY_READ = Duration.ofSeconds(1);

  private SeedJoin() {}

  /**
   * {@code config} with {@code akka.cluster.seed-nodes} moved to {@value #SEED_NODES} (unless that is
   * set already), for the ActorSystem of a member that {@link VmapCluster#start} joins by this rule.
   */
  static Config manualJoin(Config config) {
    String akka = "akka.cluster.seed-nodes";
    if (!config.hasPath(akka) || config.getStringList(akka).isEmpty()) return config;
    Config moved = config.hasPath(SEED_NODES) && !config.getStringList(SEED_NODES).isEmpty()
        ? config : config.withValue(SEED_NODES, config.getValue(akka));
    return moved.withValue(akka, ConfigValueFactory.fromIterable(List.of()));
  }

  /** What a refused member is told (exit status 78 under {@code vmap node}). */
  static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  interface Msg extends akka.actor.NoSerializationVerificationNeeded {}

  private record Read(JournalIdentityStore.Found found) implements Msg {}

  private enum Signal implements Msg { STORE_STOPPED, RETRY_READ, READ_DEADLINE, NOT_JOINED }

  /**
   * @param seeds the seed nodes ({@value #SEED_NODES})
   * @param durable whether this member keeps a journal (a volatile one joins as configured)
   * @param persistenceId where the journal keeps the cluster's identity
   * @param journal where this member's journal is, for messages
   * @param readTimeout how long reading the journal may take before joining the others anyway
   * @param refused told when this member may neither form the cluster nor join anything
   * @throws IllegalArgumentException naming a seed node that is not an Akka address
   */
  static Behavior<Msg> create(List<String> seeds, boolean form, boolean durable, String persistenceId, String journal,
      Duration readTimeout, Consumer<Throwable> refused) {
    // Parsed here, so a bad address fails the member's start with its name rather than the actor.
    List<Address> parsed = addresses(seeds);
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new SeedJoin.Run(ctx, timers, parsed, form, durable, persistenceId, journal, readTimeout, refused).start()));
  }

  private static List<Address> addresses(List<String> seeds) {
    List<Address> out = new ArrayList<>();
    for (String s : seeds) {
      try {
        out.add(AddressFromURIString.parse(s));
      } catch (Exception e) { // Scala's parse throws java.net.MalformedURLException unchecked
        throw new IllegalArgumentException("seed node '" + s + "' (akka.cluster.seed-nodes, " + SEED_NODES
            + ") is not an Akka address such as akka://vmap@host:2551", e);
      }
    }
    return out;
  }

  /** One member's join: decides, joins, then warns until it is in a cluster. */
  private static final class Run {
    final ActorContext<Msg> ctx;
    final TimerScheduler<Msg> timers;
    final Cluster cluster;
    final Address self;
    final List<Address> seeds;
    final List<Address> others = new ArrayList<>();
    final boolean form;
    final boolean durable;
    final String persistenceId;
    final String journal;
    final Duration readTimeout;
    final Consumer<Throwable> refused;
    final Duration seedNodeTimeout;
    /** Why this member waits for the others, for the warnings. */
    String waiting = "";
    long joinedAt;

    Run(ActorContext<Msg> ctx, TimerScheduler<Msg> timers, List<Address> seeds, boolean form, boolean durable,
        String persistenceId, String journal, Duration readTimeout, Consumer<Throwable> refused) {
      this.ctx = ctx;
      this.timers = timers;
      this.cluster = Cluster.get(ctx.getSystem());
      this.self = cluster.selfMember().address();
      this.seeds = seeds;
      for (Address a : seeds) if (!a.equals(self)) others.add(a);
      this.form = form;
      this.durable = durable;
      this.persistenceId = persistenceId;
      this.journal = journal;
      this.readTimeout = readTimeout;
      this.refused = refused;
      this.seedNodeTimeout = ctx.getSystem().settings().config().getDuration("akka.cluster.seed-node-timeout");
    }

    Behavior<Msg> start() {
      if (seeds.isEmpty()) {
        ctx.getLog().info("vmap: no seed nodes ({}): this member joins when told to", SEED_NODES);
        return Behaviors.stopped();
      }
      if (!durable) return join(seeds, "");
      if (form) {
        List<Address> first = new ArrayList<>();
        first.add(self);
        first.addAll(others);
        ctx.getLog().warn("vmap: {} = on (--form-cluster): this member forms the cluster {}. Only for a restart of the "
            + "whole cluster: a member started so while the others run, but cannot reach them, forms a second cluster "
            + "on the same journal", FORM_CLUSTER, others.isEmpty() ? "at once (no other seed node)"
            : "again if none of " + others + " answers within " + seedNodeTimeout.toSeconds() + " s");
        return join(first, "");
      }
      if (!seeds.get(0).equals(self)) {
        // Akka's other seeds and non-seed members only join; they never form a cluster.
        return join(seeds, "the first seed node (" + seeds.get(0) + ") forms the cluster when its journal is new; ");
      }
      return readJournal();
    }

    /** The first seed: does its journal record a cluster? */
    Behavior<Msg> readJournal() {
      ActorRef<JournalIdentityStore.Found> found = ctx.messageAdapter(JournalIdentityStore.Found.class, Read::new);
      timers.startSingleTimer(Signal.READ_DEADLINE, readTimeout);
      return reading(found, 0);
    }

    private Behavior<Msg> reading(ActorRef<JournalIdentityStore.Found> found, int attempt) {
      ActorRef<JournalIdentityStore.Command> store =
          ctx.spawn(JournalIdentityStore.create(persistenceId, found), "journal-" + attempt);
      ctx.watchWith(store, Signal.STORE_STOPPED);
      return Behaviors.receive(Msg.class)
          .onMessage(Read.class, m -> {
            ctx.unwatch(store);
            ctx.stop(store);
            timers.cancel(Signal.READ_DEADLINE);
            return decide(m.found().identity());
          })
          .onMessageEquals(Signal.STORE_STOPPED, () -> {
            timers.startSingleTimer(Signal.RETRY_READ, RETRY_READ);
            return Behaviors.same();
          })
          .onMessageEquals(Signal.RETRY_READ, () -> reading(found, attempt + 1))
          .onMessageEquals(Signal.READ_DEADLINE, () -> {
            ctx.unwatch(store);
            ctx.stop(store);
            String why = "this member's journal (" + journal + ") could not be read within " + readTimeout.toSeconds()
                + " s (vmap.cluster.identity-timeout), so it cannot tell whether it may form a cluster";
            return joinOthers(why);
          })
          .build();
    }

    private Behavior<Msg> decide(JournalIdentity identity) {
      if (identity == null) {
        ctx.getLog().info("vmap: this member's journal ({}) has no cluster identity: a new cluster; joining {} "
            + "(this member forms it if no other seed node answers)", journal, seeds);
        return join(seeds, "");
      }
      return joinOthers("this member's journal holds the history of cluster " + identity.describe());
    }

    /** Joins the other seed nodes only: Akka then retries until one answers and never forms a cluster. */
    private Behavior<Msg> joinOthers(String why) {
      if (others.isEmpty()) {
        String message = why + ", and this member is the only seed node, so it has no running member to join. "
            + "It does not form a new cluster: another one may run on this journal.\n"
            + "Fix: if every member of the cluster is down, start this member with --form-cluster "
            + "(" + FORM_CLUSTER + " = on); otherwise list the running members in akka.cluster.seed-nodes.";
        refused.accept(new Refused(message)); // which logs it and leaves
        return Behaviors.stopped();
      }
      ctx.getLog().info("vmap: {}: joining the running members {}, never forming a new cluster", why, others);
      return join(others, why + ", so it never forms a new cluster; ");
    }

    private Behavior<Msg> join(List<Address> to, String waitingWhy) {
      cluster.manager().tell(new JoinSeedNodes(to));
      if (!durable) return Behaviors.stopped();
      waiting = waitingWhy;
      joinedAt = System.nanoTime();
      // First when Akka would have formed a cluster (seed-node-timeout), then now and then.
      timers.startSingleTimer(Signal.NOT_JOINED, seedNodeTimeout.plusSeconds(1));
      return Behaviors.receive(Msg.class)
          .onMessageEquals(Signal.NOT_JOINED, () -> notJoinedYet(to))
          .onAnyMessage(m -> Behaviors.same())
          .build();
    }

    private Behavior<Msg> notJoinedYet(List<Address> to) {
      if (cluster.selfMember().status() != MemberStatus.removed()) return Behaviors.stopped();
      ctx.getLog().warn("vmap: not in a cluster {} s after asking to join: {}it keeps asking {}. "
              + "If every member of the cluster is down, start one of them with --form-cluster ({} = on).",
          (System.nanoTime() - joinedAt) / 1_000_000_000L, waiting, to, FORM_CLUSTER);
      timers.startSingleTimer(Signal.NOT_JOINED, WARN_EVERY);
      return Behaviors.same();
    }
  }
}
