package io.vmap.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@link SeqRing}, a channel's unanswered calls by sequence number: the same as a sorted map. */
class SeqRingTest {

  @Test
  void anOldCallThatWaitsKeepsTheFloorWhileLaterOnesComeAndGoAcrossGrowth() {
    SeqRing<String> r = new SeqRing<>();
    for (long s = 0; s < 1000; s++) r.put(s, "c" + s);
    for (long s = 1; s < 1000; s++) assertEquals("c" + s, r.remove(s));
    assertEquals(0, r.lowest(), "call 0 still waits: the floor stays");
    assertEquals(1, r.size());
    for (long s = 1000; s < 5000; s++) r.put(s, "c" + s); // past the first ring's size: it grows, keeping call 0
    String c0 = r.get(0);
    assertEquals("c0", c0);
    assertEquals("c4999", r.get(4999));
    assertFalse(r.remove(0, new String("c0")), "only the call itself is taken out (identity, as for calls)");
    assertTrue(r.remove(0, c0));
    assertEquals(1000, r.lowest());
    assertNull(r.remove(0), "taken once");
    assertEquals(4000, r.clear().size());
    assertTrue(r.isEmpty());
    assertNull(r.get(4999));
    r.put(5000, "c5000");
    assertEquals(5000, r.lowest());
    assertThrows(IllegalArgumentException.class, () -> r.put(4000, "late"));
  }

  @Test
  void randomAnswerOrdersMatchASortedMap() {
    Random random = new Random(7);
    SeqRing<Long> r = new SeqRing<>();
    TreeMap<Long, Long> model = new TreeMap<>();
    long next = 0;
    for (int i = 0; i < 200_000; i++) {
      if (model.isEmpty() || random.nextInt(3) > 0 && model.size() < 3000) {
        r.put(next, next);
        model.put(next, next);
        next++;
      } else {
        // Mostly the oldest answered first, sometimes any call (a walk answered later).
        long s = random.nextInt(4) > 0 ? model.firstKey() : model.firstKey() + random.nextInt((int) (next - model.firstKey()));
        assertEquals(model.remove(s), r.remove(s), "seq " + s);
      }
      assertEquals(model.size(), r.size());
      if (!model.isEmpty()) assertEquals(model.firstKey(), r.lowest());
    }
    List<Long> listed = new ArrayList<>();
    r.forEach(listed::add);
    assertEquals(new ArrayList<>(model.values()), listed);
  }
}
