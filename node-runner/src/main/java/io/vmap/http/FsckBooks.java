package io.vmap.http;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Scheduler;
import akka.actor.typed.javadsl.AskPattern;
import io.vmap.chaos.Inspector;
import io.vmap.chaos.NodeBooks;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.http.api.BooksJson;
import io.vmap.protocol.ClientProtocol;
import io.vmap.state.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

/**
 * What {@code GET /v1/fsck} answers: the books of every vmap node (or one), asked of the nodes
 * themselves ({@link ClientProtocol.Inspect}) wherever they run, as {@link BooksJson}. Nodes are
 * asked at once and answer one after another, so traffic in between can make two nodes' books
 * disagree for a moment: a checker confirms a finding with a second request.
 */
final class FsckBooks {

  private FsckBooks() {}

  /**
   * @param nodeParam absent for every node, else the number of the one node
   * @throws VmapException EINVAL for a node that is not a number or does not exist
   */
  static CompletionStage<BooksJson> of(VmapClient client, Scheduler scheduler, Optional<String> nodeParam) {
    int nodes = client.geometry().nodes();
    Integer node = null;
    if (nodeParam.isPresent()) {
      try {
        node = Integer.parseInt(nodeParam.get().trim());
      } catch (NumberFormatException e) {
        throw new VmapException(ErrorCode.EINVAL, "node: not a node number: '" + nodeParam.get() + "'");
      }
      if (node < 0 || node >= nodes) {
        throw new VmapException(ErrorCode.EINVAL, "node: " + node + " is not in 0.." + (nodes - 1));
      }
    }
    List<CompletableFuture<NodeBooks>> asks = new ArrayList<>();
    for (int k = node == null ? 0 : node; k < (node == null ? nodes : node + 1); k++) asks.add(inspect(client, scheduler, k));
    return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
        .thenApply(done -> BooksJson.of(client.geometry(), asks.stream().map(CompletableFuture::join).toList()));
  }

  private static CompletableFuture<NodeBooks> inspect(VmapClient client, Scheduler scheduler, int k) {
    return AskPattern.<ClientProtocol.Command, ClientProtocol.NodeReport>ask(
            client.node(k), (ActorRef<ClientProtocol.NodeReport> r) -> new ClientProtocol.Inspect(r), client.timeout(),
            scheduler)
        .toCompletableFuture()
        .handle((report, failure) -> {
          if (failure == null) return Inspector.of(report);
          Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
          if (failure instanceof TimeoutException || cause instanceof TimeoutException) {
            throw new VmapException(ErrorCode.ETIMEDOUT, "node " + k + " did not show its books within "
                + client.timeout().toMillis() + " ms");
          }
          throw failure instanceof RuntimeException re ? re : new IllegalStateException(failure);
        });
  }
}
