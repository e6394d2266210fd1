package io.vmap.runner;

import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;
import io.vmap.cli.Cli;
import java.io.PrintWriter;

import com.typesafe.config.ConfigException;
import io.vmap.chaos.Chaos;
import io.vmap.chaos.ChaosWorkload;
import io.vmap.chaos.Checker;
import io.vmap.chaos.History;
import io.vmap.chaos.Inspector;
import io.vmap.client.Vmap;
import io.vmap.client.VmapInfo;
import io.vmap.client.VmapSettings;
import io.vmap.chaos.NodeBooks;
import io.vmap.http.api.Api;
import io.vmap.http.api.BooksJson;
import io.vmap.http.api.InfoJson;
import io.vmap.space.Geometry;
import io.vmap.space.Unsigned;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmap check}: an fsck of a live allocator. With {@code --url}, of a running cluster (or any
 * vmap HTTP server) through {@code GET /v1/info?format=json} and {@code GET /v1/fsck}; otherwise of an embedded allocator
 * started here, after a short recorded workload. Prints what it checked and found; the last line
 * is {@code violations: N}; exit status 1 if N > 0.
 */
@Command(
    name = "check",
    header = "Checks a live allocator's books (an fsck); exit status 1 on any violation.",
    description = {
      "--url URL: a member of a running cluster (any vmap HTTP server; with authentication on,",
      "an admin token in VMAP_TOKEN). Reads /v1/info and",
      "/v1/fsck (every node's books) and checks what the embedded mode checks of the books:",
      "free blocks, busy, lazy, held and reserved parts disjoint, inside the node's zones and",
      "adding up to them; spanning areas consistent across owners; no reservation older than",
      "its lease (+ --grace); and, from /v1/info, every area inside the space, owned by",
      "nodeOf(start), disjoint from every other, and (once the purge is idle and nothing is",
      "reserved) free + busy + lazy + reserved = space. A finding must show in two snapshots",
      "in a row to count.",
      "Without --url: starts the embedded allocator (--config FILE, default",
      "cluster-config/embedded.conf), runs --ops operations recorded in a history, then",
      "checks the history and every node's books in full: free blocks, busy, lazy, held and",
      "reserved parts disjoint and inside the node's zones and adding up to them; spanning",
      "areas consistent across owners; no reservation older than its lease (+ --grace)."
    })
final class CheckCommand extends CliCommand {

  @Option(names = "--url", paramLabel = "URL", description = "Base URL of a vmap HTTP server, e.g. http://127.0.0.1:8081.")
  String url;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Embedded mode: HOCON file over reference.conf (default: cluster-config/embedded.conf).")
  Path config;

  @Option(names = "--ops", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "Embedded mode: operations to run before checking (default ${DEFAULT-VALUE}).", defaultValue = "2000")
  long ops;

  @Option(names = "--seed", paramLabel = "S", description = "Embedded mode: workload seed (default: from the clock).")
  Long seed;

  @Option(names = "--grace", paramLabel = "MS", converter = Numbers.UnsignedConverter.class,
      description = "How far past its lease a reservation may be, ms (default: one lease).")
  Long graceMs;

  @Option(names = "--wait", paramLabel = "MS", converter = Numbers.UnsignedConverter.class,
      description = "Longest wait for a quiet moment (purge idle, nothing reserved), ms (default ${DEFAULT-VALUE}).",
      defaultValue = "10000")
  long waitMs;

  @Override
  protected int run() throws Exception {
    if (url != null && config != null) throw new UsageException("--url and --config exclude each other");
    try {
      return url != null ? remote() : embedded();
    } catch (CheckFailed e) {
      return failed(e.getMessage());
    }
  }

  // ------------------------------------------------------------------ --url

  private int remote() throws Exception {
    PrintWriter o = out();
    String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    URI infoUri;
    URI fsckUri;
    try {
      infoUri = URI.create(base + "/v1/info?format=json");
      fsckUri = URI.create(base + "/v1/fsck");
      if (infoUri.getScheme() == null || infoUri.getHost() == null) throw new IllegalArgumentException("no scheme or host");
    } catch (IllegalArgumentException e) {
      throw new UsageException("--url '" + url + "' is not an http URL: " + e.getMessage());
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    o.printf("vmap check: %s (/v1/info, /v1/fsck)%n", base);
    long deadline = System.nanoTime() + waitMs * 1_000_000L;
    VmapInfo info = fetch(http, infoUri);
    while (!Checker.quiet(info) && System.nanoTime() < deadline) {
      Thread.sleep(200);
      info = fetch(http, infoUri);
    }
    BooksJson books = fetchBooks(http, fsckUri);
    Set<String> first = strings(findings(info, books));
    List<Checker.Violation> found = new ArrayList<>();
    if (!first.isEmpty()) {
      // Nodes answer one after another: a finding counts only if a second look shows it too.
      Thread.sleep(500);
      VmapInfo again = fetch(http, infoUri);
      BooksJson booksAgain = fetchBooks(http, fsckUri);
      List<Checker.Violation> second = findings(again, booksAgain);
      for (Checker.Violation v : second) if (first.contains(v.toString())) found.add(v);
      if (second.isEmpty()) {
        info = again;
        books = booksAgain;
      }
    }
    summary(o, info);
    if (!Checker.quiet(info)) {
      o.println("note: never quiet within --wait (purge running or space reserved): per-node accounting of /v1/info skipped");
    }
    if (books == null) {
      o.println("note: " + fsckUri + " is not served (an older vmap): free blocks, held parts and reservation ages");
      o.println("      not checked");
    } else {
      long blocks = 0;
      long held = 0;
      long reserved = 0;
      for (NodeBooks b : books.toBooks()) {
        blocks += b.freeBlockCount();
        held += b.held().size();
        reserved += b.reservations().size();
      }
      o.printf("books: %d nodes, %d free blocks, %d held parts, %d reservations (free, busy, lazy, held and reserved%n"
          + "       parts disjoint, inside their node's zones and adding up to them; spanning areas consistent)%n",
          books.nodes().size(), blocks, held, reserved);
    }
    return findings(o, found);
  }

  /** What /v1/info and, when served, /v1/fsck show wrong ({@link Checker#fsck}). */
  private List<Checker.Violation> findings(VmapInfo info, BooksJson books) {
    List<Checker.Violation> out = new ArrayList<>(Checker.fsck(info));
    if (books != null) {
      List<NodeBooks> nodes = books.toBooks();
      out.addAll(Checker.fsck(books.toGeometry(), nodes, grace(nodes)));
    }
    return out;
  }

  /** --grace, else one lease: the longest any reservation shown has. */
  private Duration grace(List<NodeBooks> books) {
    if (graceMs != null) return Duration.ofMillis(graceMs);
    long lease = 0;
    for (NodeBooks b : books) for (NodeBooks.Reserved r : b.reservations()) lease = Math.max(lease, r.leaseMillis());
    return Duration.ofMillis(lease);
  }

  private static VmapInfo fetch(HttpClient http, URI uri) throws Exception {
    String body = get(http, uri, false);
    VmapInfo info;
    try {
      info = Api.read(body, InfoJson.class).toVmapInfo();
    } catch (IllegalArgumentException e) {
      throw new CheckFailed(uri + " did not answer vmap info JSON: " + e.getMessage());
    }
    // A tenant's token sees only its own areas and no node counters: nothing to check the books with.
    if (info.scope() != null) {
      throw new CheckFailed(uri + " showed only tenant " + info.scope() + "'s areas: an fsck needs an admin token in VMAP_TOKEN");
    }
    return info;
  }

  /** The books, or null if the server has no /v1/fsck (it answers 404). */
  private static BooksJson fetchBooks(HttpClient http, URI uri) throws Exception {
    String body = get(http, uri, true);
    if (body == null) return null;
    try {
      BooksJson books = Api.read(body, BooksJson.class);
      books.toGeometry();
      books.toBooks();
      return books;
    } catch (IllegalArgumentException e) {
      throw new CheckFailed(uri + " did not answer vmap fsck JSON: " + e.getMessage());
    }
  }

  /** The body of a 200 answer (gzip accepted); null for a 404 if {@code optional}. */
  private static String get(HttpClient http, URI uri, boolean optional) throws Exception {
    HttpResponse<byte[]> r;
    String body;
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(120)).header("Accept-Encoding", "gzip").GET();
      // A member with authentication on (vmap.http.auth) shows the whole space to an admin token only.
      String token = System.getenv("VMAP_TOKEN");
      if (token != null && !token.isBlank()) b.header("Authorization", "Bearer " + token.strip());
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      boolean gzip = r.headers().firstValue("Content-Encoding").map(v -> v.equalsIgnoreCase("gzip")).orElse(false);
      byte[] bytes = gzip ? new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(r.body())).readAllBytes() : r.body();
      body = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new CheckFailed("cannot reach " + uri + ": " + e);
    }
    // /v1/fsck itself never answers 404: a 404 means a server without it.
    if (optional && r.statusCode() == 404) return null;
    if (r.statusCode() != 200) throw new CheckFailed(uri + " answered " + r.statusCode() + ": " + body);
    return body;
  }

  /** The target could not be checked at all: exit 1 with the reason on stderr. */
  static final class CheckFailed extends Exception {
    private static final long serialVersionUID = 1L;

    CheckFailed(String m) {
      super(m);
    }
  }

  // ------------------------------------------------------------------ embedded

  private int embedded() throws Exception {
    ChaosRunner.tuneCommonPool();
    if (ops < 0) throw new UsageException("ops " + Long.toUnsignedString(ops) + " is not in 0.." + Long.MAX_VALUE);
    RunnerConfig rc = RunnerConfig.load(config);
    VmapSettings settings = rc.settings();
    Geometry g = settings.geometry();
    long theSeed = seed != null ? seed : System.nanoTime();
    PrintWriter o = out();
    o.printf("vmap check: embedded allocator, config %s%n", rc.source());
    o.printf("%d nodes, space %s:%s (%s), zone %s; %d operations first (seed %d)%n", g.nodes(), Unsigned.hex(g.vstart()),
        Unsigned.hex(g.vend()), Numbers.bytes(g.spaceBytes()), Numbers.bytes(g.zone()), ops, theSeed);
    o.flush();
    Duration grace = graceMs != null ? Duration.ofMillis(graceMs) : settings.node().lease();
    History history = new History(g);
    Chaos none = Chaos.none();
    List<Checker.Violation> found = new ArrayList<>();
    VmapInfo info;
    try (Vmap vmap = start(rc)) {
      ChaosWorkload w = new ChaosWorkload(vmap, none, history, ChaosWorkload.Options.defaults(ops, theSeed).withClients(16));
      try {
        w.subscribe();
        if (ops > 0) w.runOps();
      } finally {
        w.close();
      }
      found.addAll(Checker.check(history));
      found.addAll(Inspector.fsck(vmap.system(), vmap.client(), grace, Duration.ofMillis(waitMs)));
      info = vmap.client().info().toCompletableFuture().join();
    }
    summary(o, info);
    o.printf("history: %d records checked (bounds, dedup, overlap, flush, free, find, owner)%n", history.size());
    return findings(o, found);
  }

  private static Vmap start(RunnerConfig rc) {
    try {
      return io.vmap.chaos.Chaos.startVmap(rc.config());
    } catch (ConfigException | IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  // ------------------------------------------------------------------ output

  private static void summary(PrintWriter o, VmapInfo info) {
    o.printf("%5s %8s %6s %6s %8s %18s %8s%n", "node", "busy", "lazy", "held", "reserved", "free bytes", "blocks");
    for (VmapInfo.NodeStats n : info.nodes()) {
      o.printf("%5d %8d %6d %6d %8d %18s %8d%n", n.node(), n.busy(), n.lazy(), n.heldParts(), n.reservations(),
          Long.toUnsignedString(n.freeBytes()), n.freeBlocks());
    }
    o.printf("total: busy=%d (%s bytes) lazy=%d (%s bytes) free=%s reserved=%s space=%s%n", info.busy().size(),
        Long.toUnsignedString(info.busyBytes()), info.lazy().size(), Long.toUnsignedString(info.lazyBytes()),
        Long.toUnsignedString(info.freeBytes()), Long.toUnsignedString(info.reservedBytes()),
        Long.toUnsignedString(info.geometry().spaceBytes()));
    if (info.purge() != null) {
      o.printf("purge: phase %s, epoch %d, %d lazy pages, %d subscribers%n", info.purge().phase(), info.purge().epoch(),
          info.purge().lazyPages(), info.purge().subscribers());
    }
  }

  private static int findings(PrintWriter o, List<Checker.Violation> found) {
    found.stream().limit(50).forEach(v -> o.println("  " + v));
    if (found.size() > 50) o.printf("  ... and %d more%n", found.size() - 50);
    o.printf("violations: %d%n", found.size());
    o.flush();
    return found.isEmpty() ? 0 : Cli.FAILED;
  }

  private static Set<String> strings(List<Checker.Violation> l) {
    Set<String> s = new LinkedHashSet<>();
    for (Checker.Violation v : l) s.add(v.toString());
    return s;
  }
}
