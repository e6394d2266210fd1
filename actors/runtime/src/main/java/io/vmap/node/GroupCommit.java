package io.vmap.node;

import akka.actor.typed.ActorRef;
import io.vmap.protocol.NodeMessage;
import io.vmap.state.NodeEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A durable node's {@link Durability}: every applied event is queued; one journal write at a time
 * takes everything queued meanwhile (at most {@code maxBatchEvents}), so the write rate is bounded
 * by the journal's round trip, not by the event rate. Effects wait for the write that stores the
 * events applied before them.
 */
final class GroupCommit implements Durability {

  /** An effect held back until the first {@code mark} events applied are stored. */
  private record Held(long mark, Runnable onStored, Runnable onFailed) {}

  private final ActorRef<NodeJournal.Command> journal;
  private final ActorRef<NodeJournal.Persisted> persisted;
  private final ActorRef<NodeMessage> self;
  private final int maxBatchEvents;

  private final Deque<NodeEvent> unsent = new ArrayDeque<>();
  private final Deque<Held> held = new ArrayDeque<>();
  private long applied;
  private long stored;
  /** Id of the one write in flight, or -1. */
  private long writeInFlight = -1;
  private long writeEnd;
  private long nextWriteId;
  private boolean flushScheduled;

  GroupCommit(ActorRef<NodeJournal.Command> journal, ActorRef<NodeJournal.Persisted> persisted,
      ActorRef<NodeMessage> self, int maxBatchEvents) {
    this.journal = journal;
    this.persisted = persisted;
    this.self = self;
    this.maxBatchEvents = maxBatchEvents;
  }

  /** The node state's sink: queues an applied event for the next write. */
  void record(NodeEvent event) {
    unsent.add(event);
    applied++;
    if (!flushScheduled) {
      // A message to self, not a write now: everything already in the mailbox joins this write.
      flushScheduled = true;
      self.tell(Internal.FlushBatch.INSTANCE);
    }
  }

  @Override
  public void afterStored(Runnable onStored, Runnable onFailed) {
    if (stored == applied) {
      onStored.run();
    } else {
      held.add(new Held(applied, onStored, onFailed));
    }
  }

  void onFlushBatch() {
    flushScheduled = false;
    if (writeInFlight < 0) write();
  }

  void onPersisted(Internal.BatchPersisted m) {
    if (m.batchId() != writeInFlight) return;
    writeInFlight = -1;
    stored = writeEnd;
    while (!held.isEmpty() && held.peek().mark() <= stored) held.poll().onStored().run();
    write();
  }

  /** The journal failed: nothing after the last stored write will be; every held effect fails. */
  int failAll() {
    int n = held.size();
    for (Held h : held) h.onFailed().run();
    held.clear();
    return n;
  }

  private void write() {
    if (unsent.isEmpty()) return;
    int n = Math.min(unsent.size(), maxBatchEvents);
    List<NodeEvent> events = new ArrayList<>(n);
    for (int i = 0; i < n; i++) events.add(unsent.poll());
    writeInFlight = nextWriteId++;
    writeEnd = stored + n;
    journal.tell(new NodeJournal.Persist(writeInFlight, events, persisted));
  }
}
