package io.vmap.chaos;

import io.vmap.protocol.NodeMessage;
import io.vmap.protocol.ClientProtocol;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapInfo;
import io.vmap.node.VmapNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Collects the books of every vmap node of a running allocator ({@link ClientProtocol.Inspect}) and runs
 * {@link Checker}'s fsck on them: the embedded half of {@code vmap check}.
 */
public final class Inspector {

  private Inspector() {}

  /** Every node's books, in node order; a node that does not answer is asked again (up to 5 times). */
  public static List<NodeBooks> books(ActorSystem<?> system, VmapClient client) {
    List<CompletableFuture<ClientProtocol.NodeReport>> asks = new ArrayList<>();
    for (int k = 0; k < client.geometry().nodes(); k++) asks.add(report(system, client, k, 5));
    List<NodeBooks> out = new ArrayList<>();
    for (CompletableFuture<ClientProtocol.NodeReport> f : asks) out.add(of(f.join()));
    return out;
  }

  private static CompletableFuture<ClientProtocol.NodeReport> report(ActorSystem<?> system, VmapClient client, int k, int tries) {
    CompletableFuture<ClientProtocol.NodeReport> f =
        AskPattern.<ClientProtocol.Command, ClientProtocol.NodeReport>ask(
                client.node(k), (ActorRef<ClientProtocol.NodeReport> r) -> new ClientProtocol.Inspect(r),
                client.timeout(), system.scheduler())
            .toCompletableFuture();
    if (tries <= 1) return f;
    return f.handle((r, t) -> r != null ? CompletableFuture.completedFuture(r) : report(system, client, k, tries - 1))
        .thenCompose(x -> x);
  }

  /** The plain-data view of a node's report. */
  public static NodeBooks of(ClientProtocol.NodeReport r) {
    List<NodeBooks.Reserved> res = new ArrayList<>();
    for (ClientProtocol.ReservationAge a : r.reservations()) {
      res.add(new NodeBooks.Reserved(a.id(), a.area(), a.startOwner(), a.myParts(), a.ageMillis(), a.leaseMillis()));
    }
    return new NodeBooks(r.node(), r.freeStarts(), r.freeEnds(), r.busy(), r.spanning(), r.unpurged(), r.held(), res, r.freeRuns(), r.owners());
  }

  /**
   * The fsck of a live embedded allocator: waits (up to {@code wait}) for the purge coordinator to
   * be idle, then checks the info ({@link Checker#fsck(VmapInfo)}) and every node's books ({@link
   * Checker#fsck(io.vmap.space.Geometry, List, Duration)}). Nodes are inspected one after another,
   * so traffic in between can make books disagree for a moment: a finding is reported only if a
   * second inspection, a moment later, finds it again.
   *
   * @param grace how far past its lease a reservation may be before it is a finding
   */
  public static List<Checker.Violation> fsck(ActorSystem<?> system, VmapClient client, Duration grace, Duration wait) {
    Set<String> first = findings(system, client, grace, wait);
    if (first.isEmpty()) return List.of();
    try {
      TimeUnit.MILLISECONDS.sleep(200);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Set<String> second = findings(system, client, grace, wait);
    List<Checker.Violation> out = new ArrayList<>();
    for (String s : first) {
      if (second.contains(s)) out.add(new Checker.Violation(Checker.FSCK, s.substring(s.indexOf(": ") + 2)));
    }
    return out;
  }

  private static Set<String> findings(ActorSystem<?> system, VmapClient client, Duration grace, Duration wait) {
    try {
      client.awaitPurgeIdle().toCompletableFuture().get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      // Not idle in time: check anyway (info-level accounting is skipped while a purge runs).
    }
    VmapInfo info = client.info().toCompletableFuture().join();
    List<NodeBooks> books = books(system, client);
    Set<String> out = new LinkedHashSet<>();
    for (Checker.Violation v : Checker.fsck(info)) out.add(v.toString());
    for (Checker.Violation v : Checker.fsck(info.geometry(), books, grace)) out.add(v.toString());
    return out;
  }
}
