package io.vmap.protocol;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Lazily freed pages that the nodes of this JVM counted straight into their purge coordinator's
 * tally, while that coordinator runs in this JVM too: the kernel's {@code vmap_lazy_nr}, one atomic
 * counter every free adds to, instead of a {@link PurgeProtocol.LazyFreed} message per node turn.
 * A message per turn had a pool thread wake up for the coordinator after nearly every free once
 * callers ran their nodes' turns themselves (BENCHMARKS.md "The lazy count without a message").
 *
 * <p>The count stays exact, so a threshold purge still starts at the free that takes the lazy
 * pages over {@code lazy_max_pages} (DESIGN.md "Free, lazy purge and flush"):
 *
 * <ul>
 *   <li>Only the coordinator opens and closes the tally. It is open while the coordinator needs no
 *       node-by-node order of frees (idle, flushing, releasing) and closed otherwise (recovering, a
 *       splice in progress, before the coordinator starts and after it stops). While it is closed
 *       {@link #add} refuses, and the node sends its pages as a message, as before.
 *   <li>Open, the coordinator publishes its headroom: the pages still allowed before a threshold
 *       purge, given what it counted from messages. A node whose addition takes the pending pages
 *       over the headroom ({@link Added#OVER}) sends a message with no pages, so the idle coordinator
 *       looks at the sum. The coordinator writes the headroom before it reads the pending pages, and
 *       a node adds before it reads the headroom, so at least one of the two sees the crossing.
 *   <li>{@link #close} takes the pending pages out atomically: each page is counted once, either
 *       here or in a message.
 * </ul>
 *
 * One per allocator instance (its nodes and coordinator in this JVM), never shared between two:
 * nodes without one, and nodes of a member whose coordinator runs elsewhere, send messages.
 */
public final class LazyTally {

  /** Far below zero: additions while closed never bring the count back to zero or above. */
  private static final long CLOSED = Long.MIN_VALUE / 2;

  /** What {@link #add} did with a node's pages. */
  public enum Added {
    /** Not counted (the tally is closed): send them to the coordinator. */
    CLOSED,
    /** Counted, and the pending pages are within the headroom. */
    COUNTED,
    /** Counted, and the pending pages exceed the headroom: tell the coordinator to look. */
    OVER
  }

  private final AtomicLong pending = new AtomicLong(CLOSED);
  private volatile long headroom;

  /** A node: {@code pages} (> 0) joined its lazy list and are stored. */
  public Added add(long pages) {
    if (pages <= 0) throw new IllegalArgumentException("lazy pages to add: " + pages + " <= 0");
    long before = pending.getAndAdd(pages);
    if (before < 0) return Added.CLOSED;
    return before + pages > headroom ? Added.OVER : Added.COUNTED;
  }

  /**
   * The coordinator: counts from now on, with {@code headroom} pages before a threshold purge; if
   * already open, only the headroom changes.
   */
  public void open(long headroom) {
    this.headroom = headroom;
    // Whatever was added while closed went to the coordinator as messages: dropped here.
    long now = pending.get();
    while (now < 0 && !pending.compareAndSet(now, 0)) now = pending.get();
  }

  /** The coordinator: the pages it may still see before a threshold purge (read after this write). */
  public void headroom(long headroom) {
    this.headroom = headroom;
  }

  /** Pages counted here since the tally was opened; 0 while closed. */
  public long pending() {
    return Math.max(0, pending.get());
  }

  /** The coordinator: closes the tally and returns the pages counted here since it was opened. */
  public long close() {
    return Math.max(0, pending.getAndSet(CLOSED));
  }
}
