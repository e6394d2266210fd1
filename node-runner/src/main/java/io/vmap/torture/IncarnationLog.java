package io.vmap.torture;

import io.vmap.chaos.Checker;
import io.vmap.chaos.History;
import io.vmap.space.Geometry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The vmap node incarnations every member recorded ({@link IncarnationRecorder}), read back after a
 * run and checked with the history checker's {@code owner} rule: each vmap node id has one running
 * incarnation at a time, across every member and every process of a member.
 */
public final class IncarnationLog {

  /** One stretch of time a vmap node was seen running in one process (epoch ms, both inclusive). */
  public record Interval(int node, long pid, long from, long to) {
    String actor() {
      return "node " + node + " in pid " + pid + " from " + from;
    }
  }

  private final List<Interval> intervals;

  private IncarnationLog(List<Interval> intervals) {
    this.intervals = List.copyOf(intervals);
  }

  /**
   * Reads every {@code *.incarnations} file in {@code dir} once each member running now (its pid in
   * {@code live}) has written what its shard region hosted at a question asked after this call: a
   * node handed from one member to another is then closed in the first file before the reader looks,
   * not still open there while the second file already shows it (a false "owner" violation, seen
   * when the files were read between the two members' polls). A member that shows nothing newer
   * within {@code wait} is read as it is.
   */
  public static IncarnationLog readWhenCurrent(Path dir, Map<Long, Long> deaths, java.util.Collection<Long> live,
      java.time.Duration wait) {
    long since = System.currentTimeMillis();
    long deadline = System.nanoTime() + wait.toNanos();
    for (long pid : live) {
      Path f = dir.resolve(pid + IncarnationRecorder.SUFFIX);
      while (lastSeen(f) <= since && System.nanoTime() < deadline) {
        try {
          // Polling a file other processes append to: no signal to wait on (a WatchService on the
          // directory was tried; it did not wake on the members' appends here and ran to its timeout).
          Thread.sleep(20);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    return read(dir, deaths);
  }

  /** {@code s} as a number, or 0 for a stamp that SIGKILL cut short ("seen 17958" parses, smaller). */
  private static long parseOr0(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException torn) {
      return 0;
    }
  }

  /** The latest {@code seen} stamp in file {@code f}, or 0. */
  static long lastSeen(Path f) {
    if (!Files.isRegularFile(f)) return 0;
    long seen = 0;
    try {
      for (String line : Files.readAllLines(f)) {
        String[] w = line.trim().split(" ");
        if (w.length == 2 && w[0].equals("seen")) seen = Math.max(seen, parseOr0(w[1]));
      }
    } catch (IOException e) {
      return seen;
    }
    return seen;
  }

  /**
   * Reads every {@code *.incarnations} file in {@code dir}. A node still open when its process
   * died (a pid in {@code deaths}) is closed at that file's last {@code seen} stamp: the last time
   * the process was asked and still hosted it. Not at the death: a kill can fall between a hand-off
   * and the poll that would have written its stop, and the node's next process may start it before
   * the kill returns (a torture run once reported that as an owner violation). With no death
   * recorded the node is still running now.
   */
  public static IncarnationLog read(Path dir, Map<Long, Long> deaths) {
    List<Interval> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) return new IncarnationLog(out);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + IncarnationRecorder.SUFFIX)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        long pid = Long.parseLong(name.substring(0, name.length() - IncarnationRecorder.SUFFIX.length()));
        Map<Integer, Long> open = new HashMap<>();
        for (String line : Files.readAllLines(f)) {
          if (line.isBlank() || line.startsWith("#")) continue;
          String[] w = line.trim().split(" ");
          if (w.length != 3) continue; // a seen line, or a line cut short by SIGKILL
          long at = Long.parseLong(w[1]);
          int node = Integer.parseInt(w[2]);
          if (w[0].equals("start")) {
            open.put(node, at);
          } else if (w[0].equals("stop")) {
            Long from = open.remove(node);
            if (from != null) out.add(new Interval(node, pid, from, at));
          }
        }
        // Dead before a poll after its start: the interval ends before it starts, and check leaves it out.
        long end = deaths.containsKey(pid) ? lastSeen(f) : Long.MAX_VALUE;
        for (Map.Entry<Integer, Long> e : open.entrySet()) out.add(new Interval(e.getKey(), pid, e.getValue(), end));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new IncarnationLog(out);
  }

  public List<Interval> intervals() {
    return intervals;
  }

  /** Incarnations (intervals) seen in all. */
  public int count() {
    return intervals.size();
  }

  /**
   * The checker's {@code owner} rule over these intervals: as history records in time order (at
   * one millisecond, stops before starts, so intervals that only touch do not overlap). An
   * interval seen in a single poll (it ends before it starts) says too little and is left out.
   */
  public List<Checker.Violation> check(Geometry g) {
    record Edge(long at, boolean start, Interval in) {}
    List<Edge> edges = new ArrayList<>();
    for (Interval in : intervals) {
      if (in.to() <= in.from()) continue;
      edges.add(new Edge(in.from(), true, in));
      edges.add(new Edge(in.to(), false, in));
    }
    edges.sort(Comparator.comparingLong(Edge::at).thenComparing(e -> e.start()));
    List<History.Event> events = new ArrayList<>();
    long seq = 0;
    for (Edge e : edges) events.add(new History.Incarnation(seq++, e.in().node(), e.in().actor(), e.start()));
    return Checker.check(g, events);
  }
}
