package io.vmap.wire;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.serializers.DefaultArraySerializers;
import com.esotericsoftware.kryo.serializers.DefaultSerializers;
import com.typesafe.config.Config;
import io.vmap.space.Area;
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
   *     type (records: {@code RecordSerializer}, enums: {@code EnumSerializer}, collections:
   *     {@code CollectionSerializer}/{@code MapSerializer}, actor refs: the ones installed by
   *     {@link #newKryo}).
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
    b.add(13, boolean[].class, DefaultArraySerializers.BooleanArraySerializer::new);
    b.add(14, double[].class, DefaultArraySerializers.DoubleArraySerializer::new);
    b.add(15, String[].class, DefaultArraySerializers.StringArraySerializer::new);

    b.add(20, ArrayList.class);
    b.add(21, HashMap.class);
    b.add(22, LinkedHashMap.class);
    b.add(23, TreeMap.class);
    b.add(24, HashSet.class);
    b.add(25, LinkedHashSet.class);
    b.add(26, TreeSet.class);
    b.add(27, Arrays.asList().getClass()); // java.util.Arrays$ArrayList

    // java.util.ImmutableCollections$*: List.of, Set.of, Map.of, List.copyOf, Stream.toList,
    // Collectors.toUnmodifiable*. Elements must not be null (they are read back through List.of).
    b.add(30, List.of(1).getClass()); // List12 (1 or 2 elements)
    b.add(31, List.of().getClass()); // ListN (0 or 3+ elements)
    b.add(32, List.of(1, 2, 3, 4).subList(0, 1).getClass()); // SubList
    b.add(33, Set.of(1).getClass()); // Set12
    b.add(34, Set.of().getClass()); // SetN
    b.add(35, Map.of(1, 1).getClass()); // Map1
    b.add(36, Map.of().getClass()); // MapN

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
   * b.add(<next free id>, TheRecord.class);} (nested records: {@code VmapNode.Alloc.class}).
   */
  private static void vmapClasses(Builder b) {
    b.add(100, Area.class);
    // protocol: 101-109
    // VmapNode's protocol: 110-139; NodeState's stored parts: 140-149; NodeEvent: 150-159;
    // NodeJournal: 160-169; PurgeCoordinator's protocol: 170-199.
    b.add(101, io.vmap.protocol.ErrorCode.class);
    b.add(102, io.vmap.protocol.Policy.class);
    b.add(103, io.vmap.protocol.Part.class);
    b.add(104, io.vmap.protocol.LazyArea.class);
    b.add(105, io.vmap.protocol.AllocSpec.class);
    b.add(106, io.vmap.protocol.ZoneEdge.class);
    b.add(107, io.vmap.protocol.ReleasePiece.class);
    b.add(110, io.vmap.node.VmapNode.Alloc.class);
    b.add(111, io.vmap.node.VmapNode.Free.class);
    b.add(112, io.vmap.node.VmapNode.Find.class);
    b.add(113, io.vmap.node.VmapNode.GetInfo.class);
    b.add(114, io.vmap.node.VmapNode.Allocated.class);
    b.add(115, io.vmap.node.VmapNode.AllocFailed.class);
    b.add(116, io.vmap.node.VmapNode.Freed.class);
    b.add(117, io.vmap.node.VmapNode.FreeFailed.class);
    b.add(118, io.vmap.node.VmapNode.FindReply.class);
    b.add(119, io.vmap.node.VmapNode.NodeInfo.class);
    b.add(120, io.vmap.node.VmapNode.AllocHere.class);
    b.add(121, io.vmap.node.VmapNode.FindHere.class);
    b.add(122, io.vmap.node.VmapNode.GetEdgeRuns.class);
    b.add(123, io.vmap.node.VmapNode.EdgeRuns.class);
    b.add(124, io.vmap.node.VmapNode.Reserve.class);
    b.add(125, io.vmap.node.VmapNode.ReserveReply.class);
    b.add(126, io.vmap.node.VmapNode.CommitArea.class);
    b.add(127, io.vmap.node.VmapNode.CommitReply.class);
    b.add(128, io.vmap.node.VmapNode.CommitPart.class);
    b.add(129, io.vmap.node.VmapNode.CancelReservation.class);
    b.add(130, io.vmap.node.VmapNode.ResolveReservation.class);
    b.add(131, io.vmap.node.VmapNode.Resolution.class);
    b.add(132, io.vmap.node.VmapNode.SpliceLazy.class);
    b.add(133, io.vmap.node.VmapNode.ReleasePieces.class);
    b.add(134, io.vmap.node.VmapNode.ReportUnreleased.class);
    b.add(135, io.vmap.node.VmapNode.Wake.class);
    b.add(140, io.vmap.node.NodeState.Decision.class);
    b.add(141, io.vmap.node.NodeState.HeldPart.class);
    b.add(142, io.vmap.node.NodeState.Reservation.class);
    b.add(143, io.vmap.node.NodeState.Outcome.class);
    b.add(144, io.vmap.node.NodeState.Snapshot.class);
    b.add(150, io.vmap.node.NodeEvent.AreaAllocated.class);
    b.add(151, io.vmap.node.NodeEvent.AreaFreed.class);
    b.add(152, io.vmap.node.NodeEvent.LazySpliced.class);
    b.add(153, io.vmap.node.NodeEvent.PiecesReleased.class);
    b.add(154, io.vmap.node.NodeEvent.SpanReserved.class);
    b.add(155, io.vmap.node.NodeEvent.SpanCommitted.class);
    b.add(156, io.vmap.node.NodeEvent.SpanPartCommitted.class);
    b.add(157, io.vmap.node.NodeEvent.SpanCancelled.class);
    b.add(158, io.vmap.node.NodeEvent.SpanResolved.class);
    b.add(159, io.vmap.node.NodeEvent.Placed.class);
    b.add(160, io.vmap.node.NodeJournal.Persist.class);
    b.add(161, io.vmap.node.NodeJournal.Persisted.class);
    b.add(170, io.vmap.purge.PurgeCoordinator.LazyFreed.class);
    b.add(171, io.vmap.purge.PurgeCoordinator.PurgeSync.class);
    b.add(172, io.vmap.purge.PurgeCoordinator.PurgeDone.class);
    b.add(173, io.vmap.purge.PurgeCoordinator.AwaitIdle.class);
    b.add(174, io.vmap.purge.PurgeCoordinator.Idle.class);
    b.add(175, io.vmap.purge.PurgeCoordinator.Flush.class);
    b.add(176, io.vmap.purge.PurgeCoordinator.FlushAck.class);
    b.add(177, io.vmap.purge.PurgeCoordinator.Subscribe.class);
    b.add(178, io.vmap.purge.PurgeCoordinator.Subscribed.class);
    b.add(179, io.vmap.purge.PurgeCoordinator.Unsubscribe.class);
    b.add(180, io.vmap.purge.PurgeCoordinator.GetStatus.class);
    b.add(181, io.vmap.purge.PurgeCoordinator.Holder.class);
    b.add(182, io.vmap.purge.PurgeCoordinator.Status.class);
    b.add(183, io.vmap.purge.PurgeCoordinator.Spliced.class);
    b.add(184, io.vmap.purge.PurgeCoordinator.Released.class);
    b.add(185, io.vmap.purge.PurgeCoordinator.Unreleased.class);
    b.add(186, io.vmap.node.VmapNode.Inspect.class);
    b.add(187, io.vmap.node.VmapNode.NodeReport.class);
    b.add(188, io.vmap.node.VmapNode.ReservationAge.class);
    b.add(189, io.vmap.node.VmapNode.PlacementQuery.class);
    b.add(190, io.vmap.node.VmapNode.PlacementAnswer.class);
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
