package io.vmap.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import com.typesafe.config.ConfigFactory;
import io.vmap.client.AllocOptions;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapSettings;
import io.vmap.protocol.PurgeProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A space smaller than the kernel's purge threshold, on the default ("auto") threshold: it is half
 * the space's pages, so frees of more than half the space start a purge on their own, and the space
 * is whole again without any allocation having to fail first (README, "Decisions").
 */
class SmallSpacePurgeTest {

  ActorTestKit kit;
  Vmap vmap;

  @AfterEach
  void stop() {
    if (vmap != null) vmap.close();
    if (kit != null) kit.shutdownTestKit();
  }

  @Test
  void freesOfMoreThanHalfASmallSpacePurgeOnTheirOwn() {
    // 1 MiB (256 pages) over 2 nodes: fls(2) * 32 MiB / 4 KiB = 16384 pages would never be reached.
    VmapSettings s = VmapSettings.from(ConfigFactory.parseString(
            "vmap.space { start = \"0x100000\", end = \"0x200000\", page = 4096, zone = 64 KiB, nodes = 2 }")
        .withFallback(ConfigFactory.load()));
    assertEquals(128, s.lazyMaxPages());
    kit = ActorTestKit.create();
    vmap = Vmap.embed(kit.system(), s);
    VmapClient c = vmap.client();

    List<Long> starts = new ArrayList<>();
    for (int i = 0; i < 12; i++) starts.add(VmapTestSupport.await(c.alloc(AllocOptions.size(0x10000).home(i % 2))).start());
    // 11 zones' worth: 176 pages lazily freed, more than 128.
    for (int i = 0; i < 11; i++) VmapTestSupport.await(c.free(starts.get(i)));

    TestProbe<Void> probe = kit.createTestProbe();
    // Frees that land after an epoch took the lazy lists wait for the next one (under the threshold).
    PurgeProtocol.Status st = probe.awaitAssert(Duration.ofSeconds(20), () -> {
      PurgeProtocol.Status now = VmapTestSupport.await(c.purgeStatus());
      assertTrue(now.epochsRun() >= 1 && now.phase().equals("idle"), "a purge ran on its own: " + now);
      assertTrue(now.lazyPages() <= 128, "down to the threshold at most: " + now);
      return now;
    });
    assertEquals(128, st.thresholdPages());
    assertTrue(st.areasReleased() * 16 > 128, "more than the threshold's pages released: " + st);
    // Free again but for the one area still held and what is still lazy.
    io.vmap.client.VmapInfo info = VmapTestSupport.await(c.info());
    assertEquals(st.lazyPages() * 4096, info.lazyBytes());
    assertEquals(0x100000L - 0x10000L, info.freeBytes() + info.lazyBytes());
  }
}
