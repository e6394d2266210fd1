package io.vmap.runner;

import akka.http.javadsl.ServerBinding;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;
import io.vmap.client.Vmap;
import io.vmap.http.HealthProbe;
import io.vmap.http.VmapHttpServer;
import io.vmap.http.api.Api;
import io.vmap.http.api.NodesJson;
import io.vmap.http.api.PurgeStatusJson;
import io.vmap.http.api.SpaceJson;
import io.vmap.http.api.TenantsJson;
import io.vmap.space.Geometry;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmap top}: a member's nodes, space map and purge status in the terminal, refreshed, drawn
 * from the member's JSON ({@link TopFrame}). With {@code --url} it watches that member; without, it
 * starts the embedded allocator (as {@code vmap demo} does) with its HTTP API on loopback and a light
 * workload through that API, and watches it, so the page at {@code /ui} is there too.
 */
@Command(
    name = "top",
    header = "Shows a member's nodes, space map and purge status, refreshing.",
    description = {
      "Polls GET /v1/nodes, /v1/space and /v1/purge/status of --url and draws them. Without",
      "--url, starts the embedded allocator with a light workload over its HTTP API (the",
      "operator page is at the printed address). --once prints one frame and exits. With",
      "authentication on, an admin token in VMAP_TOKEN."
    })
final class TopCommand extends CliCommand {

  @Option(names = "--url", paramLabel = "URL", description = "A member's HTTP address, e.g. http://127.0.0.1:8080.")
  String url;

  @Option(names = "--once", description = "Print one frame and exit.")
  boolean once;

  @Option(names = "--interval", paramLabel = "SECONDS", description = "Seconds between frames (default ${DEFAULT-VALUE}).",
      defaultValue = "2")
  double interval;

  @Option(names = "--width", paramLabel = "COLUMNS", converter = Numbers.UnsignedConverter.class,
      description = "Width of the frame (default: $COLUMNS, else 120).")
  Long width;

  @Option(names = "--map-rows", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "Rows of the space map (default ${DEFAULT-VALUE}).", defaultValue = "8")
  long mapRows;

  @Option(names = "--no-color", description = "No ANSI colours (the default when stdout is not a terminal).")
  boolean noColor;

  @Option(names = "--nodes", paramLabel = "N", converter = Numbers.UnsignedConverter.class,
      description = "Embedded only: vmap nodes (default: the configuration's).")
  Long nodes;

  @Option(names = "--config", paramLabel = "FILE", description = "Embedded only: HOCON file (default: cluster-config/embedded.conf).")
  Path config;

  @Option(names = "--http-port", paramLabel = "PORT", converter = Numbers.UnsignedConverter.class,
      description = "Embedded only: port of the HTTP API on 127.0.0.1 (default: any free one).")
  Long httpPort;

  @Option(names = "--rate", paramLabel = "OPS", converter = Numbers.UnsignedConverter.class,
      description = "Embedded only: requests per second of the light workload (default ${DEFAULT-VALUE}; 0: none).",
      defaultValue = "100")
  long rate;

  /**
   * Made by the first request, not with the command: picocli builds every subcommand for any
   * `vmap` command, and an HttpClient starts a selector thread and loads its classes, which every
   * `vmap node` paid at start-up.
   */
  private HttpClient http;

  @Override
  protected int run() throws Exception {
    if (!(interval > 0) || interval > 3600) throw new UsageException("interval " + interval + " is not in (0, 3600] seconds");
    int cols = width != null ? Numbers.intIn("width", width, 40, 1000) : columns();
    int rows = Numbers.intIn("map-rows", mapRows, 1, 200);
    boolean color = !noColor && System.console() != null;
    if (url != null) {
      String base = base(url);
      return watch(base, base, cols, rows, color);
    }
    if (httpPort != null) Numbers.intIn("http-port", httpPort, 0, 65535);
    int ops = Numbers.intIn("rate", rate, 0, 100_000);
    RunnerConfig rc = RunnerConfig.load(config);
    Config c = rc.config();
    if (nodes != null) {
      c = c.withValue("vmap.space.nodes", ConfigValueFactory.fromAnyRef(Numbers.intIn("nodes", nodes, 1, Geometry.MAX_NODES)));
    }
    new RunnerConfig(c, rc.source()).settings(); // bad values: exit 2 before starting
    try (Vmap vmap = io.vmap.chaos.Chaos.startVmap(c)) {
      ServerBinding b = VmapHttpServer.start(vmap.system(), vmap.client(), "127.0.0.1",
              httpPort == null ? 0 : httpPort.intValue(), HealthProbe.always())
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      String base = "http://127.0.0.1:" + b.localAddress().getPort();
      err().printf("vmap top: embedded allocator (%s), HTTP API at %s, operator page %s/ui, %d requests/s%n",
          vmap.client().geometry(), base, base, ops);
      err().flush();
      try (LightLoad load = new LightLoad(base, vmap.client().geometry(), ops, System.nanoTime())) {
        load.start();
        if (once && ops > 0) load.awaitRequests(Math.min(100, ops * 2L), Duration.ofSeconds(30));
        return watch(base, "embedded " + base, cols, rows, color);
      }
    }
  }

  private int watch(String base, String source, int cols, int rows, boolean color) throws InterruptedException {
    PrintWriter o = out();
    while (true) {
      String frame;
      try {
        frame = frame(base, source, cols, rows, color);
      } catch (IOException | RuntimeException e) {
        if (once) return failed("cannot read " + base + ": " + e.getMessage());
        frame = "vmap top  " + source + "\n\ncannot read the member: " + e.getMessage() + "\n";
      }
      if (!once) o.print("\033[H\033[2J");
      o.print(frame);
      o.flush();
      if (once) return 0;
      Thread.sleep((long) (interval * 1000));
    }
  }

  /** One frame from the member at {@code base}. */
  String frame(String base, String source, int cols, int rows, boolean color) throws IOException, InterruptedException {
    NodesJson n = get(base + "/v1/nodes", NodesJson.class);
    SpaceJson s = get(base + "/v1/space?cells=" + (cols * rows), SpaceJson.class);
    PurgeStatusJson p = get(base + "/v1/purge/status", PurgeStatusJson.class);
    // 404 while the member has no tenants: the section is left out.
    TenantsJson t = getOrNull(base + "/v1/tenants", TenantsJson.class);
    return TopFrame.render(source, n, s, p, t, cols, color);
  }

  private <T> T get(String u, Class<T> type) throws IOException, InterruptedException {
    T v = getOrNull(u, type);
    if (v == null) throw new IOException("GET " + u + ": 404");
    return v;
  }

  /** As {@link #get}, null for a 404. */
  private <T> T getOrNull(String u, Class<T> type) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(u)).timeout(Duration.ofSeconds(30))
        .header("Accept", "application/json").GET();
    // With authentication on (vmap.http.auth) the views answer an admin token only.
    String token = System.getenv("VMAP_TOKEN");
    if (token != null && !token.isBlank()) b.header("Authorization", "Bearer " + token.strip());
    if (http == null) http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 404) return null;
    if (r.statusCode() != 200) throw new IOException("GET " + u + ": " + r.statusCode() + " " + r.body());
    return Api.read(r.body(), type);
  }

  private static String base(String url) {
    String u = url.trim();
    while (u.endsWith("/")) u = u.substring(0, u.length() - 1);
    URI parsed;
    try {
      parsed = URI.create(u);
    } catch (IllegalArgumentException e) {
      throw new UsageException("url '" + url + "' is not a URL");
    }
    if (parsed.getScheme() == null || !(parsed.getScheme().equals("http") || parsed.getScheme().equals("https"))
        || parsed.getHost() == null) {
      throw new UsageException("url '" + url + "' is not an http(s)://host:port address");
    }
    return u;
  }

  private static int columns() {
    String c = System.getenv("COLUMNS");
    try {
      if (c != null) return Math.max(40, Math.min(1000, Integer.parseInt(c.trim())));
    } catch (NumberFormatException e) {
      // not a number: the default
    }
    return 120;
  }
}
