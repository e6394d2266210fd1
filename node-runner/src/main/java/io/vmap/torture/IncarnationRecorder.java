package io.vmap.torture;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.PostStop;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.Cluster;
import com.typesafe.config.Config;
import io.vmap.cluster.VmapCluster;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Records, in a member of a vmap cluster, when each vmap node runs on it: an Akka extension the
 * torture tests load into every {@code vmap node} process through configuration alone
 * ({@code akka.actor.typed.extensions += "io.vmap.torture.IncarnationRecorder$Id"} and
 * {@code vmap.torture.incarnations-dir}), so the runner's code is unchanged.
 *
 * <p>It asks the member's shard region which vmap nodes it hosts every {@code vmap.torture.poll}
 * and appends to {@code <dir>/<pid>.incarnations} one line per change, {@code start <ms> <node>}
 * and {@code stop <ms> <node>} (epoch milliseconds), then {@code seen <ms>}: every change up to a
 * question asked at that time is written. Each recorded interval lies inside the real
 * one: a start is stamped when the answer that first shows the node arrived, a stop with the time
 * the last answer that still showed it was asked for. So two recorded intervals of one node that
 * overlap mean the node really ran twice at once ({@link IncarnationLog} reads the files); a run
 * shorter than one poll may go unseen. A process killed with SIGKILL writes no stop lines: the
 * reader closes what it left open at its last {@code seen} stamp, which keeps those intervals
 * inside the real ones too.
 */
public final class IncarnationRecorder implements Extension {

  /** The extension's id, the name to list in {@code akka.actor.typed.extensions}. */
  public static final class Id extends ExtensionId<IncarnationRecorder> {
    private static final Id INSTANCE = new Id();

    /** What Akka looks up to load a Java extension by name. */
    public static Id getInstance() {
      return INSTANCE;
    }

    @Override
    public IncarnationRecorder createExtension(ActorSystem<?> system) {
      return new IncarnationRecorder(system);
    }
  }

  /** The value to add to {@code akka.actor.typed.extensions}. */
  public static final String EXTENSION = "io.vmap.torture.IncarnationRecorder$Id";

  static final String DIR = "vmap.torture.incarnations-dir";
  static final String POLL = "vmap.torture.poll";
  static final String SUFFIX = ".incarnations";

  private IncarnationRecorder(ActorSystem<?> system) {
    Config c = system.settings().config();
    if (!c.hasPath(DIR)) {
      throw new IllegalArgumentException(DIR + " is not set: where should " + getClass().getSimpleName() + " write?");
    }
    Path dir = Path.of(c.getString(DIR));
    Duration poll = c.hasPath(POLL) ? c.getDuration(POLL) : Duration.ofMillis(100);
    long pid = ProcessHandle.current().pid();
    Path file = dir.resolve(pid + SUFFIX);
    BufferedWriter out;
    try {
      Files.createDirectories(dir);
      out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      out.write("# member " + Cluster.get(system).selfMember().uniqueAddress() + " pid " + pid + "\n");
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    system.systemActorOf(poller(out, poll), "vmap-torture-incarnations", Props.empty());
  }

  private sealed interface Msg {}

  private enum Tick implements Msg { INSTANCE }

  private record State(ShardRegion.CurrentShardRegionState state, long askedAt) implements Msg {}

  private static Behavior<Msg> poller(BufferedWriter out, Duration poll) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, poll);
      ActorRef<akka.cluster.sharding.typed.ClusterShardingQuery> sharding =
          ClusterSharding.get(ctx.getSystem()).shardState();
      Map<String, Long> lastSeen = new HashMap<>();
      long[] asked = {0}; // when the outstanding question was asked, 0 if none
      long giveUp = Math.max(1000, 10 * poll.toMillis());
      return Behaviors.receive(Msg.class)
          .onMessage(Tick.class, t -> {
            long now = System.currentTimeMillis();
            if (asked[0] != 0 && now - asked[0] < giveUp) return Behaviors.same();
            if (asked[0] != 0) {
              // No answer: the region is gone (shut down or downed). What it hosted stopped.
              stopAll(out, lastSeen);
            }
            long at = now;
            asked[0] = at;
            ActorRef<ShardRegion.CurrentShardRegionState> reply =
                ctx.messageAdapter(ShardRegion.CurrentShardRegionState.class, s -> new State(s, at));
            sharding.tell(new GetShardRegionState(VmapCluster.NODE, reply));
            return Behaviors.same();
          })
          .onMessage(State.class, s -> {
            if (s.askedAt() != asked[0]) return Behaviors.same(); // a late answer
            asked[0] = 0;
            // A shard that did not answer says nothing about its nodes: ignore this round.
            if (!s.state().getFailed().isEmpty()) return Behaviors.same();
            long now = System.currentTimeMillis();
            Set<String> running = new HashSet<>();
            for (ShardRegion.ShardState sh : s.state().getShards()) running.addAll(sh.getEntityIds());
            for (Map.Entry<String, Long> e : new HashMap<>(lastSeen).entrySet()) {
              if (!running.contains(e.getKey())) {
                write(out, "stop " + e.getValue() + " " + e.getKey());
                lastSeen.remove(e.getKey());
              }
            }
            for (String node : running) {
              if (!lastSeen.containsKey(node)) write(out, "start " + now + " " + node);
              lastSeen.put(node, s.askedAt());
            }
            // A reader waiting for this member's view of a moment knows when it has it (IncarnationLog).
            write(out, "seen " + s.askedAt());
            return Behaviors.same();
          })
          .onSignal(PostStop.class, sig -> {
            stopAll(out, lastSeen);
            try {
              out.close();
            } catch (IOException e) {
              // the process is ending
            }
            return Behaviors.same();
          })
          .build();
    }));
  }

  private static void stopAll(BufferedWriter out, Map<String, Long> lastSeen) {
    for (Map.Entry<String, Long> e : lastSeen.entrySet()) write(out, "stop " + e.getValue() + " " + e.getKey());
    lastSeen.clear();
  }

  private static void write(BufferedWriter out, String line) {
    try {
      out.write(line);
      out.write('\n');
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
