package io.vmap.durable;

import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * The durable tests' journal: Akka's persistence test kit for events and snapshots, with every
 * event and snapshot serialized through Kryo as a real journal would store it, so a record that
 * does not survive the wire fails the test instead of passing as a live object.
 */
final class KryoJournal {

  private KryoJournal() {}

  /** The test kit's configuration: the in-memory journal and snapshot store, serializing. */
  static Config config() {
    return ConfigFactory.parseString("akka.persistence.testkit.events.serialize = on\n"
            + "akka.persistence.testkit.snapshots.serialize = on\n")
        .withFallback(PersistenceTestKitPlugin.getInstance().config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.load());
  }
}
