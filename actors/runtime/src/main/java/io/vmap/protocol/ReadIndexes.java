package io.vmap.protocol;

import io.vmap.state.ReadIndex;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The read indexes of the vmap nodes running in this JVM, by node id (the local counterpart of a
 * {@link NodeDirectory}): where a client finds the
 * busy area containing an address without a message (DESIGN.md "Reads without the mailbox"). A
 * node publishes its index when it starts serving and withdraws it when it stops, so an index is
 * only ever read while its node is the one serving (in a cluster, the entity on this member).
 */
public final class ReadIndexes {

  private final AtomicReferenceArray<ReadIndex> byNode;

  public ReadIndexes(int nodes) {
    this.byNode = new AtomicReferenceArray<>(nodes);
  }

  /** Node {@code node}'s index if it runs in this JVM, else null. */
  public ReadIndex get(int node) {
    return byNode.get(node);
  }

  /** Called by node {@code node} when it starts serving. */
  public void publish(int node, ReadIndex index) {
    byNode.set(node, index);
  }

  /** Called by node {@code node} when it stops: withdraws {@code index} unless a newer incarnation published its own. */
  public void withdraw(int node, ReadIndex index) {
    byNode.compareAndSet(node, index, null);
  }
}
