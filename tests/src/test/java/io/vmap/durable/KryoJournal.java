package io.vmap.durable;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import akka.persistence.testkit.javadsl.SnapshotTestKit;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The durable tests' journal: Akka's persistence test kit for events and snapshots, with every
 * event and snapshot serialized through Kryo as a real journal would store it, so a record that
 * does not survive the wire fails the test instead of passing as a live object. A test class that
 * extends it gets one test kit on that journal for all its tests.
 */
abstract class KryoJournal {

  static ActorTestKit kit;
  static SnapshotTestKit snapshots;
  /** Numbers the tests' persistence ids, so that no test recovers another's events. */
  static int instance;

  @BeforeAll
  static void startKit() {
    kit = ActorTestKit.create(config());
    snapshots = SnapshotTestKit.create(kit.system());
  }

  @AfterAll
  static void stopKit() {
    kit.shutdownTestKit();
  }

  /** The test kit's configuration: the in-memory journal and snapshot store, serializing. */
  static Config config() {
    return ConfigFactory.parseString("akka.persistence.testkit.events.serialize = on\n"
            + "akka.persistence.testkit.snapshots.serialize = on\n")
        .withFallback(PersistenceTestKitPlugin.getInstance().config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.load());
  }
}
