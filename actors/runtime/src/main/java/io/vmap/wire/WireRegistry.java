package io.vmap.wire;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.serializers.DefaultArraySerializers;
import com.esotericsoftware.kryo.serializers.DefaultSerializers;
import com.typesafe.config.Config;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The one place where every class that crosses the wire or goes to the journal gets its numeric
 * Kryo id.
 *
 * <pre>
 * !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
 * !! The ids below are part of the stored format FOREVER (journal, snapshots, and every node of a
 * !! running cluster must agree). APPEND ONLY: never renumber, never reuse the id of a removed
 * !! class (leave a comment "retired" in its place), never change the class behind an id.
 * !!
 * !! Kryo writes the id instead of the class name, so the id IS the type on the wire:
 * !!  - records: components are written in alphabetical order of their names, without names or a
 * !!    version. Adding, removing, renaming or retyping a component of a stored record changes its
 * !!    format: introduce a new record with a new id and keep reading the old one.
 * !!  - enums: the ordinal is written. Only append constants, never reorder or remove them.
 * !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
 * </pre>
 *
 * <p>Id ranges:
 *
 * <ul>
 *   <li>0-9: Kryo's built-in primitives and {@code String} (its constructor registers them with
 *       these ids; re-stated here so the table is complete and cannot drift).
 *   <li>10-99: JDK and Akka basics (arrays, collections, Optional, UUID, time, actor refs).
 *   <li>{@value #FIRST_VMAP_ID}-8999: vmap's own classes. Adding one is one line in {@link
 *       #vmapClasses}: {@code b.add(<next id>, TheRecord.class);}
 *   <li>{@value #FIRST_EXTRA_ID} and up: reserved for tests and embedders, registered from config
 *       ({@code vmap.wire.extra-registrations}, see {@code vmap-wire.conf}), never in this table.
 * </ul>
 *
 * <p>A class needs an entry if an instance of it is written, at any depth, with its class: message
 * and event types, every record, enum and collection class they hold in a non-final field (a
 * {@code List} field writes the runtime class, e.g. {@code ArrayList} or {@code List.of}'s), and
 * every concrete {@code ActorRef} class. Final field types (records, {@code String}) are written
 * without an id but still need an entry for their serializer.
 *
 * <p>Nothing is ever resolved from a class name: {@link #newKryo} requires registration and uses
 * {@link StrictClassResolver}, which refuses class names in both directions.
 */
public final class WireRegistry {

  /** First id of vmap's own classes. */
  public static final int FIRST_VMAP_ID = 100;

  /** First id reserved for tests and embedders ({@code vmap.wire.extra-registrations}). */
  public static final int FIRST_EXTRA_ID = 9000;

  /** Config path of the test/embedder registrations, a list of {@code { id, class }} objects. */
  public static final String EXTRA_REGISTRATIONS_PATH = "vmap.wire.extra-registrations";

  /**
   * One registration.
   *
   * @param id the stable Kryo id
   * @param type the exact runtime class (Kryo looks registrations up by exact class)
   * @param serializer a factory of the serializer, called once per Kryo instance because Kryo's
   *     serializers may keep per-instance state; null means Kryo's default serializer for the
   *     type (records: {@code RecordSerializer}, enums: {@code EnumSerializer}, actor refs: the
   *     ones installed by {@link #newKryo}). The table's collections, maps and object arrays use
   *     {@link BoundedSerializers}: Kryo's formats, with sizes checked against the frame.
   */
  public record Entry(int id, Class<?> type, Supplier<? extends Serializer<?>> serializer) {
    public Entry {
      if (id < 0) {
        throw new IllegalArgumentException("negative Kryo id " + id + " for " + type.getName());
      }
    }
  }

  private static final List<Entry> TABLE = table();

  private final List<Entry> entries;

  private WireRegistry(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** The built-in table: Kryo and JDK basics, Akka actor refs and vmap's classes. */
  public static WireRegistry standard() {
    return new WireRegistry(TABLE);
  }

  /**
   * The built-in table plus {@code vmap.wire.extra-registrations} from {@code config} (absent path
   * = none). Each extra is {@code { id = 9000, class = "fully.qualified.Name" }} with id at least
   * {@value #FIRST_EXTRA_ID}; nested classes use {@code $} ({@code "a.b.Outer$Inner"}). The class
   * is loaded here, from local configuration, never from the wire.
   */
  public static WireRegistry fromConfig(Config config, ClassLoader loader) {
    Builder b = new Builder();
    TABLE.forEach(b::add);
    if (config.hasPath(EXTRA_REGISTRATIONS_PATH)) {
      for (Config extra : config.getConfigList(EXTRA_REGISTRATIONS_PATH)) {
        int id = extra.getInt("id");
        String name = extra.getString("class");
        if (id < FIRST_EXTRA_ID) {
          throw new IllegalArgumentException(
              EXTRA_REGISTRATIONS_PATH + ": id " + id + " for " + name + " is below "
                  + FIRST_EXTRA_ID + " (lower ids belong to io.vmap.wire.WireRegistry's table)");
        }
        try {
          b.add(id, Class.forName(name, false, loader));
        } catch (ClassNotFoundException e) {
          throw new IllegalArgumentException(
              EXTRA_REGISTRATIONS_PATH + ": class " + name + " (id " + id + ") not found", e);
        }
      }
    }
    return b.build();
  }

  /** Every registration, in table order. */
  public List<Entry> entries() {
    return entries;
  }

  /**
   * A new Kryo with this table: registration required, references off (messages are trees; a
   * cycle fails with a stack overflow rather than being silently supported), class names refused.
   *
   * @param typedActorRefs the serializer for every {@code akka.actor.typed.ActorRef} class
   * @param classicActorRefs the serializer for every classic {@code akka.actor.ActorRef} class
   */
  public Kryo newKryo(Serializer<?> typedActorRefs, Serializer<?> classicActorRefs) {
    Kryo kryo = new WireKryo();
    kryo.setRegistrationRequired(true);
    kryo.setReferences(false);
    // The Kryo constructor already adds the default serializers of List.of/Set.of/Map.of
    // (ImmutableCollectionsSerializers), Optional*, java.time and records. We do not call
    // ImmutableCollectionsSerializers.registerSerializers: it registers with ids in call order;
    // the table below registers the same classes with explicit ids.
    kryo.addDefaultSerializer(akka.actor.typed.ActorRef.class, typedActorRefs);
    kryo.addDefaultSerializer(akka.actor.ActorRef.class, classicActorRefs);
    for (Entry e : entries) {
      if (e.serializer() == null) {
        kryo.register(e.type(), e.id());
      } else {
        kryo.register(e.type(), e.serializer().get(), e.id());
      }
    }
    return kryo;
  }

  private static List<Entry> table() {
    Builder b = new Builder();
    kryoBuiltIns(b);
    jdkBasics(b);
    actorRefs(b);
    vmapClasses(b);
    List<Entry> all = b.build().entries();
    for (Entry e : all) {
      if (e.id() >= FIRST_EXTRA_ID) {
        throw new IllegalStateException(
            "id " + e.id() + " of " + e.type().getName() + " is in the test/embedder range");
      }
    }
    return all;
  }

  /** 0-9: exactly what {@code new Kryo()} registers; a wrapper shares its primitive's id. */
  private static void kryoBuiltIns(Builder b) {
    b.add(0, int.class, DefaultSerializers.IntSerializer::new);
    b.add(1, String.class, DefaultSerializers.StringSerializer::new);
    b.add(2, float.class, DefaultSerializers.FloatSerializer::new);
    b.add(3, boolean.class, DefaultSerializers.BooleanSerializer::new);
    b.add(4, byte.class, DefaultSerializers.ByteSerializer::new);
    b.add(5, char.class, DefaultSerializers.CharSerializer::new);
    b.add(6, short.class, DefaultSerializers.ShortSerializer::new);
    b.add(7, long.class, DefaultSerializers.LongSerializer::new);
    b.add(8, double.class, DefaultSerializers.DoubleSerializer::new);
    b.add(9, void.class, DefaultSerializers.VoidSerializer::new);
  }

  /** 10-59: JDK classes messages are made of. Append only. */
  private static void jdkBasics(Builder b) {
    b.add(10, byte[].class, DefaultArraySerializers.ByteArraySerializer::new);
    b.add(11, int[].class, DefaultArraySerializers.IntArraySerializer::new);
    b.add(12, long[].class, DefaultArraySerializers.LongArraySerializer::new);
    b.add(13, boolean[].class, BoundedSerializers.BooleanArray::new);
    b.add(14, double[].class, DefaultArraySerializers.DoubleArraySerializer::new);
    b.add(15, String[].class, BoundedSerializers.StringArray::new);

    // Collections and maps: Kryo's formats, read with sizes checked against the frame
    // (BoundedSerializers), so a frame cannot claim more elements than it holds.
    b.add(20, ArrayList.class, BoundedSerializers.Collection::new);
    b.add(21, HashMap.class, BoundedSerializers.Dictionary::new);
    b.add(22, LinkedHashMap.class, BoundedSerializers.Dictionary::new);
    b.add(23, TreeMap.class, BoundedSerializers.SortedMap::new);
    b.add(24, HashSet.class, BoundedSerializers.Collection::new);
    b.add(25, LinkedHashSet.class, BoundedSerializers.Collection::new);
    b.add(26, TreeSet.class, BoundedSerializers.SortedSet::new);
    b.add(27, Arrays.asList().getClass(), BoundedSerializers.ArraysAsList::new); // java.util.Arrays$ArrayList

    // java.util.ImmutableCollections$*: List.of, Set.of, Map.of, List.copyOf, Stream.toList,
    // Collectors.toUnmodifiable*. Elements must not be null (they are read back through List.of).
    b.add(30, List.of(1).getClass(), BoundedSerializers.ImmutableList::new); // List12 (1 or 2 elements)
    b.add(31, List.of().getClass(), BoundedSerializers.ImmutableList::new); // ListN (0 or 3+ elements)
    b.add(32, List.of(1, 2, 3, 4).subList(0, 1).getClass(), BoundedSerializers.ImmutableList::new); // SubList
    b.add(33, Set.of(1).getClass(), BoundedSerializers.ImmutableSet::new); // Set12
    b.add(34, Set.of().getClass(), BoundedSerializers.ImmutableSet::new); // SetN
    b.add(35, Map.of(1, 1).getClass(), BoundedSerializers.ImmutableMap::new); // Map1
    b.add(36, Map.of().getClass(), BoundedSerializers.ImmutableMap::new); // MapN

    b.add(37, Collections.emptyList().getClass());
    b.add(38, Collections.emptySet().getClass());
    b.add(39, Collections.emptyMap().getClass());
    b.add(40, Collections.singletonList(1).getClass());
    b.add(41, Collections.singleton(1).getClass());
    b.add(42, Collections.singletonMap(1, 1).getClass());

    b.add(50, Optional.class);
    b.add(51, OptionalInt.class);
    b.add(52, OptionalLong.class);
    b.add(53, OptionalDouble.class);
    b.add(54, UUID.class, DefaultSerializers.UUIDSerializer::new);
    b.add(55, Duration.class);
    b.add(56, Instant.class);
  }

  /**
   * 60-79: the runtime classes of actor refs; their serializers come from {@link #newKryo}'s
   * default serializers for {@code ActorRef} (the path, resolved on reading).
   *
   * <p>In Akka 2.8 every typed ref of a real ActorSystem is an {@code ActorRefAdapter} over a
   * classic ref: {@code getSelf()}, spawned children, {@code messageAdapter} refs (over a classic
   * {@code FunctionRef}), ask temp refs (over {@code PromiseActorRef}), TestProbe refs, dead
   * letters and remote refs. The only other typed implementation is the typed {@code ActorSystem}
   * itself (it is an {@code ActorRef} to the user guardian). Found by experiment and by listing the
   * subclasses of {@code akka.actor.typed.internal.ActorRefImpl} in the 2.8.5 jars (the testkit's
   * {@code DebugRef}/{@code FunctionRef}/{@code ActorSystemStub} belong to the synchronous
   * BehaviorTestKit and never see serialization).
   */
  private static void actorRefs(Builder b) {
    b.add(60, akka.actor.typed.internal.adapter.ActorRefAdapter.class);
    b.add(61, akka.actor.typed.internal.adapter.ActorSystemAdapter.class);

    // Classic refs: the classes behind the adapters above, for the few places that carry a
    // classic ref (internal replies). Which one a path resolves to is the reader's business.
    b.add(70, akka.actor.LocalActorRef.class);
    b.add(71, akka.actor.RepointableActorRef.class);
    b.add(72, akka.actor.FunctionRef.class);
    b.add(73, akka.pattern.PromiseActorRef.class);
    b.add(74, akka.actor.DeadLetterActorRef.class);
    b.add(75, akka.actor.EmptyLocalActorRef.class);
    b.add(76, akka.actor.IgnoreActorRef.class);
    // In akka-remote, only on the classpath of cluster deployments; the id stays reserved.
    b.addIfPresent(77, "akka.remote.RemoteActorRef");
  }

  /**
   * {@value #FIRST_VMAP_ID}-8999: vmap's own classes. Append only, one line per class: {@code
   * b.add(<next free id>, TheRecord.class);} (nested records: {@code ClientProtocol.Alloc.class}).
   */
  private static void vmapClasses(Builder b) {
    // Values shared by messages, events and snapshots (unchanged since format 1).
    b.add(100, io.vmap.space.Area.class);
    b.add(101, io.vmap.state.ErrorCode.class);
    b.add(102, io.vmap.state.Policy.class);
    b.add(103, io.vmap.state.Part.class);
    b.add(104, io.vmap.state.LazyArea.class);
    b.add(105, io.vmap.state.AllocSpec.class);
    b.add(106, io.vmap.state.ZoneEdge.class);
    b.add(107, io.vmap.state.ReleasePiece.class);
    // 110-190: retired (format 1: the messages of VmapNode, NodeState, NodeEvent, NodeJournal and
    // PurgeCoordinator with string request ids). Never reuse them.

    // Format 2 (open until the first release of this format: ids below may still change meaning
    // until then; from the release on, append only). Ids and values of a node's state: 200-219.
    b.add(200, io.vmap.state.RequestKey.class);
    b.add(201, io.vmap.state.AttemptId.class);
    b.add(202, io.vmap.state.ReservationId.class);
    b.add(203, io.vmap.state.Decision.class);
    b.add(204, io.vmap.state.HeldPart.class);
    b.add(205, io.vmap.state.Reservation.class);
    b.add(206, io.vmap.state.Answer.Done.class);
    b.add(207, io.vmap.state.NodeSnapshot.class);
    b.add(208, io.vmap.state.Answer.Failed.class);
    // Tenants (issue 12): who asks, a snapshot with the owners of its areas, what a tenant holds.
    b.add(209, io.vmap.state.Principal.class);
    b.add(210, io.vmap.state.OwnedSnapshot.class);
    b.add(211, io.vmap.state.TenantUsage.class);
    // Free runs (issue 11): a snapshot whose free space is entries (a run of untouched zones is one),
    // not one block per zone; 207 and 210 stay readable for snapshots stored before.
    b.add(212, io.vmap.state.CompactSnapshot.class);
    b.add(213, io.vmap.space.FreeRuns.class);
    // NodeEvent: 220-239.
    b.add(220, io.vmap.state.NodeEvent.AreaAllocated.class);
    b.add(221, io.vmap.state.NodeEvent.AreaFreed.class);
    b.add(222, io.vmap.state.NodeEvent.LazySpliced.class);
    b.add(223, io.vmap.state.NodeEvent.PiecesReleased.class);
    b.add(224, io.vmap.state.NodeEvent.SpanReserved.class);
    b.add(225, io.vmap.state.NodeEvent.SpanCommitted.class);
    b.add(226, io.vmap.state.NodeEvent.SpanPartCommitted.class);
    b.add(227, io.vmap.state.NodeEvent.SpanCancelled.class);
    b.add(228, io.vmap.state.NodeEvent.SpanResolved.class);
    b.add(229, io.vmap.state.NodeEvent.Placed.class);
    b.add(230, io.vmap.state.NodeEvent.Refused.class);
    b.add(231, io.vmap.state.NodeEvent.Batch.class);
    b.add(232, io.vmap.state.NodeEvent.AreaAllocatedFor.class);
    b.add(233, io.vmap.state.NodeEvent.SpanCommittedFor.class);
    // A client's acknowledgement floor that dropped answers (issue 9, exact dedup).
    b.add(234, io.vmap.state.NodeEvent.Acknowledged.class);
    // 240-249: reserved (NodeJournal's messages are local to a node and never serialized).
    // ClientProtocol: 250-269.
    b.add(250, io.vmap.protocol.ClientProtocol.Batch.class);
    b.add(251, io.vmap.protocol.ClientProtocol.AllocRequest.class);
    b.add(252, io.vmap.protocol.ClientProtocol.FreeRequest.class);
    b.add(253, io.vmap.protocol.ClientProtocol.FindRequest.class);
    b.add(254, io.vmap.protocol.ClientProtocol.Replies.class);
    b.add(255, io.vmap.protocol.ClientProtocol.Allocated.class);
    b.add(256, io.vmap.protocol.ClientProtocol.Freed.class);
    b.add(257, io.vmap.protocol.ClientProtocol.Found.class);
    b.add(258, io.vmap.protocol.ClientProtocol.Failed.class);
    b.add(259, io.vmap.protocol.ClientProtocol.GetInfo.class);
    b.add(260, io.vmap.protocol.ClientProtocol.Inspect.class);
    b.add(261, io.vmap.protocol.ClientProtocol.NodeInfo.class);
    b.add(262, io.vmap.protocol.ClientProtocol.NodeReport.class);
    b.add(263, io.vmap.protocol.ClientProtocol.ReservationAge.class);
    b.add(264, io.vmap.protocol.ClientProtocol.GetTenants.class);
    b.add(265, io.vmap.protocol.ClientProtocol.TenantsHere.class);
    // PeerProtocol: 270-299.
    b.add(270, io.vmap.protocol.PeerProtocol.AllocHere.class);
    b.add(271, io.vmap.protocol.PeerProtocol.AttemptPlaced.class);
    b.add(272, io.vmap.protocol.PeerProtocol.AttemptFailed.class);
    b.add(273, io.vmap.protocol.PeerProtocol.FindHere.class);
    b.add(274, io.vmap.protocol.PeerProtocol.GetEdgeRuns.class);
    b.add(275, io.vmap.protocol.PeerProtocol.EdgeRuns.class);
    b.add(276, io.vmap.protocol.PeerProtocol.Reserve.class);
    b.add(277, io.vmap.protocol.PeerProtocol.ReserveReply.class);
    b.add(278, io.vmap.protocol.PeerProtocol.CommitArea.class);
    b.add(279, io.vmap.protocol.PeerProtocol.CommitReply.class);
    b.add(280, io.vmap.protocol.PeerProtocol.CommitPart.class);
    b.add(281, io.vmap.protocol.PeerProtocol.CancelReservation.class);
    b.add(282, io.vmap.protocol.PeerProtocol.ResolveReservation.class);
    b.add(283, io.vmap.protocol.PeerProtocol.Resolution.class);
    b.add(284, io.vmap.protocol.PeerProtocol.PlacementQuery.class);
    b.add(285, io.vmap.protocol.PeerProtocol.PlacementAnswer.class);
    b.add(286, io.vmap.protocol.PeerProtocol.CheckAddress.class);
    b.add(287, io.vmap.protocol.PeerProtocol.AddressChecked.class);
    // PurgeProtocol: 300-329.
    b.add(300, io.vmap.protocol.PurgeProtocol.LazyFreed.class);
    b.add(301, io.vmap.protocol.PurgeProtocol.PurgeSync.class);
    b.add(302, io.vmap.protocol.PurgeProtocol.PurgeDone.class);
    b.add(303, io.vmap.protocol.PurgeProtocol.AwaitIdle.class);
    b.add(304, io.vmap.protocol.PurgeProtocol.Idle.class);
    b.add(305, io.vmap.protocol.PurgeProtocol.Flush.class);
    b.add(306, io.vmap.protocol.PurgeProtocol.FlushAck.class);
    b.add(307, io.vmap.protocol.PurgeProtocol.Subscribe.class);
    b.add(308, io.vmap.protocol.PurgeProtocol.Subscribed.class);
    b.add(309, io.vmap.protocol.PurgeProtocol.Unsubscribe.class);
    b.add(310, io.vmap.protocol.PurgeProtocol.GetStatus.class);
    b.add(311, io.vmap.protocol.PurgeProtocol.Holder.class);
    b.add(312, io.vmap.protocol.PurgeProtocol.Status.class);
    b.add(313, io.vmap.protocol.PurgeProtocol.Spliced.class);
    b.add(314, io.vmap.protocol.PurgeProtocol.Released.class);
    b.add(315, io.vmap.protocol.PurgeProtocol.Unreleased.class);
    b.add(316, io.vmap.protocol.PurgeProtocol.SpliceLazy.class);
    b.add(317, io.vmap.protocol.PurgeProtocol.ReleasePieces.class);
    b.add(318, io.vmap.protocol.PurgeProtocol.ReportUnreleased.class);
    // NodeMessage lifecycle: 330-339.
    b.add(330, io.vmap.protocol.NodeMessage.Wake.class);
    // QuotaProtocol: 340-359.
    b.add(340, io.vmap.protocol.QuotaProtocol.Admit.class);
    b.add(341, io.vmap.protocol.QuotaProtocol.Admitted.class);
    b.add(342, io.vmap.protocol.QuotaProtocol.Settle.class);
    b.add(343, io.vmap.protocol.QuotaProtocol.UsageQuery.class);
    b.add(344, io.vmap.protocol.QuotaProtocol.UsageReport.class);
  }

  /**
   * Collects entries and refuses a second use of an id or a class, so a bad edit of the table
   * fails when the first serializer is created (ActorSystem start), not on the wire.
   */
  public static final class Builder {
    private final List<Entry> entries = new ArrayList<>();
    private final Map<Integer, String> ids = new HashMap<>();
    private final Map<Class<?>, Integer> types = new HashMap<>();

    /** Registers {@code type} under {@code id} with Kryo's default serializer for it. */
    public Builder add(int id, Class<?> type) {
      return add(new Entry(id, type, null));
    }

    /** Registers {@code type} under {@code id}; {@code serializer} is called once per Kryo. */
    public Builder add(int id, Class<?> type, Supplier<? extends Serializer<?>> serializer) {
      return add(new Entry(id, type, serializer));
    }

    /** Registers an entry. */
    public Builder add(Entry e) {
      reserve(e.id(), e.type().getName());
      Integer previous = types.putIfAbsent(e.type(), e.id());
      if (previous != null) {
        throw new IllegalStateException(
            "class " + e.type().getName() + " registered twice, ids " + previous + " and "
                + e.id());
      }
      entries.add(e);
      return this;
    }

    /**
     * Registers the class named {@code className} if this JVM has it (a local check of an optional
     * dependency, never driven by the wire); the id is reserved either way.
     */
    public Builder addIfPresent(int id, String className) {
      Class<?> type;
      try {
        type = Class.forName(className, false, WireRegistry.class.getClassLoader());
      } catch (ClassNotFoundException absent) {
        reserve(id, className);
        return this;
      }
      return add(id, type);
    }

    public WireRegistry build() {
      return new WireRegistry(entries);
    }

    private void reserve(int id, String name) {
      String previous = ids.putIfAbsent(id, name);
      if (previous != null) {
        throw new IllegalStateException(
            "Kryo id " + id + " used twice: " + previous + " and " + name);
      }
    }
  }

  /**
   * Kryo whose "class is not registered" message points to this table instead of suggesting a
   * {@code kryo.register} call that would assign an id by call order.
   */
  private static final class WireKryo extends Kryo {
    WireKryo() {
      super(new StrictClassResolver(), null);
    }

    @Override
    @SuppressWarnings("rawtypes") // Kryo declares the raw type; an override must match it
    protected String unregisteredClassMessage(Class type) {
      return "Class is not registered for the vmap wire format: "
          + type.getName()
          + " (give it a stable id in io.vmap.wire.WireRegistry, or for tests and embedders in "
          + EXTRA_REGISTRATIONS_PATH
          + " with an id >= "
          + FIRST_EXTRA_ID
          + ")";
    }
  }
}
