package io.vmap.bench;

import io.vmap.cli.Repository;
import io.vmap.cli.UsageException;

import io.vmap.client.AllocOptions;
import io.vmap.client.Vmap;
import io.vmap.client.VmapClient;
import io.vmap.client.VmapException;
import io.vmap.client.VmapSettings;
import io.vmap.state.AllocSpec;
import io.vmap.state.ErrorCode;
import io.vmap.space.Geometry;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code --target embedded}: the actor allocator (volatile), {@link Vmap#start} (an ActorSystem of
 * its own), driven through the public {@link VmapClient}. Every call joins the client session's
 * next batch to its node (a tell, coalesced with the calls made while the previous batch is out),
 * goes through the node's mailbox, comes back in the session's reply actor, and completes a
 * CompletionStage ({@code thenApply} to unwrap). All of that is part of what is measured.
 */
final class EmbeddedTarget implements BenchTarget {

  /**
   * How requests are identified: the client session's own (session, sequence number), or a
   * caller-chosen id per request (as HTTP's {@code requestId}), kept by the node under that id.
   */
  enum RequestIds { SESSION, KEYED }

  private final Vmap vmap;
  private final VmapClient client;
  private final int nodes;
  private final Geometry geometry;
  private final RequestIds ids;
  private final AtomicLong nextId = new AtomicLong();
  private final String describe;

  private final String name;
  /** The durable target's own ActorSystem and journal directory, else null. */
  private final akka.actor.typed.ActorSystem<Void> durableSystem;
  private final java.nio.file.Path dataDir;
  /** The durable target's persistence-id prefix (this run's rows in a shared journal), else null. */
  private final String persistencePrefix;
  private final int snapshotEvery;

  EmbeddedTarget(VmapSettings settings, RequestIds ids) {
    this("embedded", Vmap.start(settings), null, null, settings, ids); // its own ActorSystem
  }

  /**
   * {@code --target embedded-durable}: the same allocator, every node event sourced through the
   * embedded H2 journal (cluster-config/journal-h2.conf) in a fresh temporary directory, so every
   * reply waits for its journal write (group commit: {@code vmap.node.max-batch-events}, e.g.
   * {@code JAVA_OPTS=-Dvmap.node.max-batch-events=1} for one write per event).
   */
  static EmbeddedTarget durable(VmapSettings settings, RequestIds ids) {
    return durable("embedded-durable", "journal-h2.conf", settings, ids);
  }

  /**
   * {@code --target embedded-postgres}: as {@code embedded-durable} on the PostgreSQL journal
   * (cluster-config/journal-postgres.conf: the server of {@code scripts/postgres.sh start}, or the
   * one its {@code VMAP_PG_*} variables name). Every run uses fresh persistence ids.
   */
  static EmbeddedTarget postgres(VmapSettings settings, RequestIds ids) {
    return durable("embedded-postgres", "journal-postgres.conf", settings, ids);
  }

  private static EmbeddedTarget durable(String name, String journalFile, VmapSettings settings, RequestIds ids) {
    java.nio.file.Path journal = Repository.root().resolve("cluster-config").resolve(journalFile);
    if (!java.nio.file.Files.isRegularFile(journal)) {
      throw new UsageException("target '" + name + "' needs " + journal + " (run from the repository or through ./vmap)");
    }
    java.nio.file.Path dir;
    try {
      dir = java.nio.file.Files.createTempDirectory("vmap-bench-journal-");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    com.typesafe.config.Config c = com.typesafe.config.ConfigFactory.load(
        com.typesafe.config.ConfigFactory.parseString("vmap.data-dir = \"" + dir.toAbsolutePath() + "\"")
            .withFallback(com.typesafe.config.ConfigFactory.parseFile(journal.toFile())));
    akka.actor.typed.ActorSystem<Void> system =
        akka.actor.typed.ActorSystem.create(akka.actor.typed.javadsl.Behaviors.empty(), "vmap-bench", c);
    VmapSettings durable = settings.durable("bench-" + System.nanoTime() + "-");
    return new EmbeddedTarget(name, Vmap.embed(system, durable), system, dir, durable, ids);
  }

  /**
   * What this run left in its journal: rows and payload bytes of its events and of the snapshots
   * still stored (a node keeps two), how many snapshots its nodes took, and for H2 the chunks
   * MVStore wrote (one per commit), the bytes it wrote and the files' size; null for a volatile
   * target. Read through a JDBC connection of its own with the
   * journal's URL, after the run and before the ActorSystem closes the pool.
   */
  @Override
  public String storageReport() {
    if (dataDir == null || persistencePrefix == null) return null;
    com.typesafe.config.Config db = durableSystem.settings().config().getConfig("akka-persistence-jdbc.shared-databases.slick.db");
    String like = persistencePrefix + "%";
    StringBuilder b = new StringBuilder("journal: ");
    try (java.sql.Connection conn = java.sql.DriverManager.getConnection(
            db.getString("url"), db.getString("user"), db.getString("password"))) {
      long rows;
      long eventBytes;
      try (var st = conn.prepareStatement("SELECT COUNT(*), COALESCE(SUM(OCTET_LENGTH(\"event_payload\")), 0) "
          + "FROM \"event_journal\" WHERE \"persistence_id\" LIKE ?")) {
        st.setString(1, like);
        try (var rs = st.executeQuery()) {
          rs.next();
          rows = rs.getLong(1);
          eventBytes = rs.getLong(2);
        }
      }
      long taken = 0;
      try (var st = conn.prepareStatement("SELECT MAX(\"sequence_number\") FROM \"event_journal\" "
          + "WHERE \"persistence_id\" LIKE ? GROUP BY \"persistence_id\"")) {
        st.setString(1, like);
        try (var rs = st.executeQuery()) {
          while (rs.next()) taken += rs.getLong(1) / snapshotEvery;
        }
      }
      // One row per journal write (a group commit's events are one NodeEvent.Batch).
      b.append(rows).append(" event rows, ").append(eventBytes).append(" payload bytes (")
          .append(rows == 0 ? 0 : eventBytes / rows).append(" per row)");
      try (var st = conn.prepareStatement("SELECT COUNT(*), COALESCE(SUM(OCTET_LENGTH(\"snapshot_payload\")), 0), "
          + "COALESCE(MAX(OCTET_LENGTH(\"snapshot_payload\")), 0) FROM \"snapshot\" WHERE \"persistence_id\" LIKE ?")) {
        st.setString(1, like);
        try (var rs = st.executeQuery()) {
          rs.next();
          long n = rs.getLong(1);
          b.append("; snapshots: ").append(taken).append(" taken (every ").append(snapshotEvery)
              .append(" writes), ").append(n).append(" kept, ").append(n == 0 ? 0 : rs.getLong(2) / n)
              .append(" bytes each on average, largest ").append(rs.getLong(3));
        }
      }
      if (name.equals("embedded-durable")) {
        // MVStore writes one chunk per commit: chunks against event rows is commits per write.
        try (var st = conn.createStatement(); var rs = st.executeQuery("SELECT SETTING_NAME, SETTING_VALUE FROM "
            + "INFORMATION_SCHEMA.SETTINGS WHERE SETTING_NAME IN ('info.CHUNK_COUNT', 'info.FILE_WRITE_BYTES')")) {
          java.util.Map<String, String> info = new java.util.HashMap<>();
          while (rs.next()) info.put(rs.getString(1), rs.getString(2));
          b.append("; H2: ").append(info.get("info.CHUNK_COUNT")).append(" chunks in the file, ")
              .append(info.get("info.FILE_WRITE_BYTES")).append(" bytes written");
        }
      }
    } catch (java.sql.SQLException e) {
      return "journal: not readable (" + e.getMessage() + ")";
    }
    if (name.equals("embedded-durable")) {
      try (var files = java.nio.file.Files.walk(dataDir)) {
        long size = files.filter(java.nio.file.Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        b.append(", files ").append(size).append(" bytes");
      } catch (java.io.IOException e) {
        b.append(", files: ").append(e.getMessage());
      }
    }
    return b.toString();
  }

  /**
   * The volatile target on an ActorSystem of its own whose configuration is {@code overrides} over
   * the usual one: for settings that are read from the configuration rather than from {@link
   * VmapSettings} (say {@code vmap.purge.batches-in-flight}), compared in one run.
   */
  static EmbeddedTarget withConfig(VmapSettings settings, RequestIds ids, com.typesafe.config.Config overrides) {
    akka.actor.typed.ActorSystem<Void> system = akka.actor.typed.ActorSystem.create(
        akka.actor.typed.javadsl.Behaviors.empty(), "vmap", com.typesafe.config.ConfigFactory.load(overrides));
    return new EmbeddedTarget("embedded", Vmap.embed(system, settings), system, null, settings, ids);
  }

  private EmbeddedTarget(String name, Vmap vmap, akka.actor.typed.ActorSystem<Void> durableSystem,
      java.nio.file.Path dataDir, VmapSettings settings, RequestIds ids) {
    this.name = name;
    this.vmap = vmap;
    this.durableSystem = durableSystem;
    this.dataDir = dataDir;
    this.persistencePrefix = settings.persistencePrefix();
    this.snapshotEvery = settings.node().snapshotEvery();
    this.client = vmap.client();
    this.nodes = settings.geometry().nodes();
    this.geometry = settings.geometry();
    this.ids = ids;
    Geometry g = settings.geometry();
    this.describe = name + ": actor allocator (" + (settings.isDurable()
            ? "durable, " + (name.endsWith("postgres") ? "PostgreSQL" : "H2") + " journal, max-batch-events " + settings.node().maxBatchEvents()
            : "volatile") + "), " + g.nodes() + " nodes, zone " + g.zone()
        + ", lazy-max-pages " + settings.lazyMaxPages() + ", release-batch " + settings.releaseBatch()
        + ", request ids " + ids.name().toLowerCase() + "; each call = a tell in the session's next batch + CompletionStage";
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String describe() {
    return describe;
  }

  @Override
  public long page() {
    return client.geometry().page();
  }

  VmapClient client() {
    return client;
  }

  private String id() {
    return ids == RequestIds.KEYED ? "b" + nextId.incrementAndGet() : null;
  }

  @Override
  public CompletionStage<Long> allocAsync(long size, long align, int hint) {
    // A request no state of the space could satisfy (an align with no multiple in it, as
    // align_shift_alloc_test ends with) is the kernel's NULL, as on the lock targets; the
    // allocator itself answers it EINVAL (README "Error codes"), which here means a bench bug.
    if (AllocSpec.impossible(geometry, size, align == 0 ? geometry.page() : align)) {
      return CompletableFuture.completedFuture(NONE);
    }
    AllocOptions o = AllocOptions.size(size).align(align);
    if (hint >= 0) o.home(hint % nodes);
    String id = id();
    if (id != null) o.requestId(id);
    return client.alloc(o).handle((a, ex) -> {
      if (ex == null) return a.start();
      VmapException v = vmapException(ex);
      if (v != null && (v.code() == ErrorCode.ENOSPC || v.code() == ErrorCode.EAGAIN)) return NONE;
      if (v != null && v.code() == ErrorCode.EINVAL) throw new IllegalArgumentException(v.reason());
      throw ex instanceof CompletionException c ? c : new CompletionException(ex);
    });
  }

  @Override
  public CompletionStage<ErrorCode> freeAsync(long addr) {
    String id = id();
    CompletionStage<?> f = id != null ? client.free(addr, id) : client.free(addr);
    return f.handle((area, ex) -> {
      if (ex == null) return null;
      VmapException v = vmapException(ex);
      if (v != null && (v.code() == ErrorCode.ENOENT || v.code() == ErrorCode.EINVAL)) return v.code();
      throw ex instanceof CompletionException c ? c : new CompletionException(ex);
    });
  }

  @Override
  public CompletionStage<Long> findAsync(long addr) {
    return client.find(addr).thenApply(o -> o.isPresent() ? o.get().start() : NONE);
  }

  @Override
  public CompletionStage<Integer> purgeAsync() {
    return client.purge();
  }

  @Override
  public CompletionStage<Void> quiesce() {
    return client.awaitPurgeIdle().thenApply(x -> null);
  }

  private static VmapException vmapException(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    return t instanceof VmapException v ? v : null;
  }

  @Override
  public void close() {
    vmap.close(); // volatile: terminates its ActorSystem and waits; durable: stops the allocator's actors
    if (durableSystem != null) {
      durableSystem.terminate();
      durableSystem.getWhenTerminated().toCompletableFuture().join();
      if (dataDir == null) return; // withConfig: volatile, no journal directory
      try (var files = java.nio.file.Files.walk(dataDir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (java.io.IOException e) {
        // A temporary directory left behind is harmless.
      }
    }
  }
}
