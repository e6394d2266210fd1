package io.vmap.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.space.Area;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link ClientAnswers}, the node's memory of first answers: exact (a request it cannot answer
 * from memory is either new or refused, never run twice), bounded, and the same after a snapshot.
 */
class ClientAnswersTest {

  static final long S = 0x5e55;

  static Answer done(long i) {
    return new Answer.Done(new Area(0x1000 * (i + 1), 0x1000 * (i + 2), ""));
  }

  static RequestKey k(long seq) {
    return new RequestKey(S, seq);
  }

  /** A copy through {@link ClientAnswers#forEach} and {@link ClientAnswers#record}, as a snapshot restores it. */
  static ClientAnswers restored(ClientAnswers a, int cap, int sessions, int keyed) {
    ClientAnswers b = new ClientAnswers(cap, sessions, keyed);
    a.forEach(b::record);
    return b;
  }

  @Test
  void everyAnswerFromTheFloorOnIsKeptHoweverManyLaterOnesCame() {
    ClientAnswers a = new ClientAnswers(1 << 16, 4, 4);
    a.record(k(0), done(0));
    for (long s = 1; s <= 10_000; s++) a.record(k(s), done(s));
    assertFalse(a.acknowledge(S, 0), "the client still waits for seq 0");
    assertEquals(done(0), a.lookup(k(0)));
    assertEquals(done(10_000), a.lookup(k(10_000)));
    assertNull(a.lookup(k(10_001)), "new");
  }

  @Test
  void anAcknowledgedFloorDropsTheAnswersBelowItAndRefusesThoseRequests() {
    ClientAnswers a = new ClientAnswers(1 << 16, 4, 4);
    for (long s = 0; s < 1000; s++) a.record(k(s), done(s));
    assertTrue(a.acknowledge(S, 998), "answers dropped");
    assertSame(ClientAnswers.FORGOTTEN, a.lookup(k(0)));
    assertSame(ClientAnswers.FORGOTTEN, a.lookup(k(997)));
    assertEquals(done(998), a.lookup(k(998)));
    assertEquals(2, a.kept(S), "memory follows what the client waits for");
    assertFalse(a.acknowledge(S, 500), "a floor never goes down (a late copy of an old batch)");
    assertEquals(done(998), a.lookup(k(998)));
    // Past everything answered: the next request is still new.
    assertTrue(a.acknowledge(S, 1000));
    assertNull(a.lookup(k(1000)));
    assertSame(ClientAnswers.FORGOTTEN, a.lookup(k(999)));
  }

  @Test
  void theHardCapRefusesWhatItDropsRatherThanRunningItAgain() {
    ClientAnswers a = new ClientAnswers(256, 4, 4);
    for (long s = 0; s < 300; s++) a.record(k(s), done(s));
    assertSame(ClientAnswers.FORGOTTEN, a.lookup(k(0)));
    assertSame(ClientAnswers.FORGOTTEN, a.lookup(k(43)));
    assertEquals(done(44), a.lookup(k(44)));
    assertTrue(a.kept(S) <= 256);
    // An answer that comes after the cap moved past it (a request that waited) is still kept.
    a.record(k(10), done(10));
    assertEquals(done(10), a.lookup(k(10)));
  }

  @Test
  void requestsSeenOutOfOrderAndNeverSeenOnesAreNewUntilAnswered() {
    ClientAnswers a = new ClientAnswers(1 << 10, 4, 4);
    a.record(k(5), done(5));
    assertNull(a.lookup(k(3)), "never seen here: new");
    a.record(k(3), done(3));
    assertEquals(done(3), a.lookup(k(3)));
    assertNull(a.lookup(k(4)), "in flight or never sent here");
  }

  @Test
  void aSnapshotKeepsTheAnswersAndTheFloor() {
    ClientAnswers a = new ClientAnswers(1 << 10, 4, 4);
    for (long s = 0; s < 100; s++) a.record(k(s), done(s));
    a.acknowledge(S, 40);
    a.record(RequestKey.keyed("alloc", "id-1", 7), done(7));
    ClientAnswers b = restored(a, 1 << 10, 4, 4);
    for (long s = 0; s < 110; s++) assertEquals(a.lookup(k(s)), b.lookup(k(s)), "seq " + s);
    assertEquals(done(7), b.lookup(RequestKey.keyed("alloc", "id-1", 7)));
  }

  @Test
  void aRetiredSessionRefusesItsOldRequestsAndStartsAgainAfterThem() {
    ClientAnswers a = new ClientAnswers(1 << 10, 2, 4);
    for (long s = 0; s < 10; s++) a.record(k(s), done(s));
    a.record(new RequestKey(1, 0), done(100));
    a.record(new RequestKey(2, 0), done(200)); // S is the least recently used of three: retired
    assertEquals(2, a.sessions());
    assertSame(ClientAnswers.FORGOTTEN, a.lookup(k(9)));
    assertNull(a.lookup(k(10)));
    a.record(k(10), done(10));
    assertEquals(done(10), a.lookup(k(10)));
    ClientAnswers b = restored(a, 1 << 10, 2, 4);
    assertSame(ClientAnswers.FORGOTTEN, b.lookup(k(9)));
    assertEquals(done(10), b.lookup(k(10)));
  }

  @Test
  void retirementFollowsUseThroughTheSessionUsedLast() {
    // ClientAnswers answers the session it used last without its map; the least recently used
    // session must still be the one retired, and a retired session's window never answers again.
    long a = 1, b = 2, c = 3, d = 4;
    ClientAnswers x = new ClientAnswers(1 << 10, 2, 4);
    for (long s = 0; s < 4; s++) x.record(new RequestKey(a, s), done(s));
    x.record(new RequestKey(b, 0), done(100));
    assertEquals(done(2), x.lookup(new RequestKey(a, 2)), "a is used again: b is now the least recent");
    assertEquals(done(3), x.lookup(new RequestKey(a, 3)));
    assertFalse(x.acknowledge(a, 0));
    x.record(new RequestKey(c, 0), done(200)); // retires b, not a
    assertSame(ClientAnswers.FORGOTTEN, x.lookup(new RequestKey(b, 0)));
    assertEquals(done(1), x.lookup(new RequestKey(a, 1)));
    // a, the session used last, is retired by the next new one once c is used after it.
    x.record(new RequestKey(c, 1), done(201));
    x.record(new RequestKey(d, 0), done(300));
    assertSame(ClientAnswers.FORGOTTEN, x.lookup(new RequestKey(a, 1)), "a's window is gone");
    assertNull(x.lookup(new RequestKey(a, 4)), "after its retired bound: new");
    assertEquals(done(201), x.lookup(new RequestKey(c, 1)));
    // A snapshot lists sessions least recently used first: the copy retires the same one next.
    x.lookup(new RequestKey(c, 0));
    ClientAnswers y = restored(x, 1 << 10, 2, 4);
    for (ClientAnswers z : List.of(x, y)) {
      z.record(new RequestKey(5, 0), done(400)); // retires d, used less recently than c
      assertSame(ClientAnswers.FORGOTTEN, z.lookup(new RequestKey(d, 0)));
      assertEquals(done(200), z.lookup(new RequestKey(c, 0)));
      assertEquals(2, z.sessions());
    }
  }

  @Test
  void aKeyedIdAnswersItsOwnParametersAndRefusesOthers() {
    ClientAnswers a = new ClientAnswers(16, 2, 4);
    RequestKey first = RequestKey.keyed("alloc", "order-17", 1234);
    a.record(first, done(1));
    assertEquals(done(1), a.lookup(RequestKey.keyed("alloc", "order-17", 1234)));
    assertSame(ClientAnswers.REUSED, a.lookup(RequestKey.keyed("alloc", "order-17", 1235)));
    assertEquals(done(1), a.lookup(RequestKey.keyed("alloc", "order-17")), "a key without a fingerprint matches any");
    assertNull(a.lookup(RequestKey.keyed("free", "order-17", 1234)), "another operation: another id");
  }

  @Test
  void fingerprintsTellParametersApart() {
    io.vmap.space.Geometry g = new io.vmap.space.Geometry(0x100000, 0x200000, 4096, 0x10000, 2);
    AllocSpec base = AllocSpec.of(g, 4096, 4096, null, null, 0, "t", Policy.NORMAL);
    List<AllocSpec> others = new ArrayList<>(List.of(
        AllocSpec.of(g, 8192, 4096, null, null, 0, "t", Policy.NORMAL),
        AllocSpec.of(g, 4096, 8192, null, null, 0, "t", Policy.NORMAL),
        AllocSpec.of(g, 4096, 4096, null, null, 1, "t", Policy.NORMAL),
        AllocSpec.of(g, 4096, 4096, null, null, 0, "u", Policy.NORMAL),
        base.withTenant("acme")));
    for (AllocSpec o : others) assertFalse(RequestKey.fingerprint(base) == RequestKey.fingerprint(o), o::toString);
    assertEquals(RequestKey.fingerprint(base), RequestKey.fingerprint(AllocSpec.of(g, 4000, 4096, null, null, 0, "t", Policy.NORMAL)),
        "the same request once normalized");
    assertFalse(RequestKey.fingerprint(0x1000) == RequestKey.fingerprint(0x2000));
  }
}
