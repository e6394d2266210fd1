package io.vmap.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The client driver issues exactly the budget, never more in flight than asked, one step per client at a time. */
@Timeout(60)
class ClientsTest {

  final ExecutorService pool = Executors.newFixedThreadPool(3);
  /** Answers later, on another thread, like an allocator. */
  final ScheduledExecutorService answers = Executors.newScheduledThreadPool(2);

  @AfterEach
  void stop() {
    pool.shutdownNow();
    answers.shutdownNow();
  }

  CompletableFuture<Void> answerSoon() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    answers.schedule(() -> f.complete(null), 200, TimeUnit.MICROSECONDS);
    return f;
  }

  @Test
  void issuesExactlyTheOperationsWithAtMostTheWindowInFlight() {
    AtomicLong issued = new AtomicLong();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger maxInFlight = new AtomicInteger();
    ConcurrentHashMap<Integer, AtomicLong> perClient = new ConcurrentHashMap<>();
    ConcurrentHashMap<Integer, AtomicInteger> insideStep = new ConcurrentHashMap<>();
    List<String> overlaps = java.util.Collections.synchronizedList(new ArrayList<>());
    Clients.run(5000, 4, 8, 1, null, pool, c -> {
      if (insideStep.computeIfAbsent(c.id(), k -> new AtomicInteger()).incrementAndGet() != 1) overlaps.add("client " + c.id());
      issued.incrementAndGet();
      perClient.computeIfAbsent(c.id(), k -> new AtomicLong()).incrementAndGet();
      maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      insideStep.get(c.id()).decrementAndGet();
      return answerSoon().whenComplete((v, t) -> inFlight.decrementAndGet());
    });
    assertEquals(5000, issued.get());
    assertEquals(0, inFlight.get(), "every operation was answered before run returned");
    assertTrue(maxInFlight.get() <= 4 * 8, "in flight at most 32, was " + maxInFlight.get());
    assertEquals(4, perClient.size(), "every client issued: " + perClient);
    assertEquals(List.of(), overlaps, "two steps of one client at once");
  }

  @Test
  void eachClientHasItsOwnLiveAreasUnlessShared() {
    List<LiveAreas> seen = java.util.Collections.synchronizedList(new ArrayList<>());
    // Every step waits until each of the three clients has issued one, so no client can use up the
    // budget before the others start (a lane's answers would otherwise come back at once).
    java.util.Set<Integer> ids = java.util.concurrent.ConcurrentHashMap.newKeySet();
    CompletableFuture<Void> allThree = new CompletableFuture<>();
    Clients.run(100, 3, 2, 1, null, pool, c -> {
      seen.add(c.live());
      if (ids.add(c.id()) && ids.size() == 3) allThree.complete(null);
      return allThree;
    });
    assertEquals(3, seen.stream().distinct().count());
    LiveAreas shared = new LiveAreas();
    seen.clear();
    Clients.run(100, 3, 2, 1, shared, pool, c -> {
      seen.add(c.live());
      return CompletableFuture.completedFuture(null);
    });
    assertEquals(List.of(shared), seen.stream().distinct().toList());
  }

  @Test
  void fewerOperationsThanLanesAndNoneAtAll() {
    AtomicLong issued = new AtomicLong();
    Clients.run(3, 4, 1000, 1, null, pool, c -> {
      issued.incrementAndGet();
      return answerSoon();
    });
    assertEquals(3, issued.get());
    Clients.run(0, 4, 4, 1, null, pool, c -> {
      throw new AssertionError("no operation to issue");
    });
  }

  @Test
  void aStepThatThrowsFailsTheRunAfterTheOthersFinish() {
    AtomicLong issued = new AtomicLong();
    CompletionException e = assertThrows(CompletionException.class, () -> Clients.run(200, 2, 2, 1, null, pool, c -> {
      if (issued.incrementAndGet() == 10) throw new IllegalStateException("boom");
      return answerSoon();
    }));
    assertEquals("boom", e.getCause().getMessage());
    assertEquals(200, issued.get(), "the other lanes spent the budget");
  }
}
