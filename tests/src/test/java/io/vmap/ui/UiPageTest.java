package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import io.vmap.client.AllocOptions;
import io.vmap.client.VmapSettings;
import io.vmap.http.LiveMember;
import io.vmap.node.NodeSettings;
import io.vmap.protocol.PurgeProtocol;
import io.vmap.space.Geometry;
import io.vmap.state.Quota;
import io.vmap.state.Quotas;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The operator page in a real headless Chromium (Debian's, installed by scripts/chromium.sh, which
 * `mvn verify` runs first), against a member with known areas (16 zones of 64 KiB at 0x100000 over
 * 2 nodes) and a flush subscriber that never acks: the map has a cell per zone and the all-busy
 * zone is coloured busy, hovering an area shows its bounds, and the purge panel shows the
 * subscriber as stuck with what to do and draws epochs over time once there are two samples; then,
 * without a reload, the page follows an allocation and an unsubscription made through the API.
 * Saves a screenshot under tests/target/screenshots.
 */
@Tag("integration")
class UiPageTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;
  static final Duration PATIENCE = Duration.ofSeconds(90);

  @TempDir Path profile;
  LiveMember m;
  ChromeDriver driver;
  ActorRef<PurgeProtocol.Flush> silent;

  @BeforeEach
  void start() throws Exception {
    // storage-a may hold 10 areas: the first test fills 9, the Tenants panel marks it.
    m = new LiveMember("ui-page", VmapSettings.defaults().withGeometry(new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2), null)
        .withNode(NodeSettings.defaults().withQuotas(new Quotas(Quota.NONE, Map.of("storage-a", new Quota(Quota.UNLIMITED, 10))))));
    driver = browser(profile);
  }

  @AfterEach
  void stop() throws Exception {
    if (driver != null) driver.quit();
    if (silent != null) m.vmap.client().unsubscribeFlush(silent);
    if (m != null) m.close();
  }

  static String hex(long v) {
    return String.format("0x%016x", v);
  }

  @Test
  void anOperatorSeesZonesAreasAndAStalledPurge() throws Exception {
    // Zone 0 all busy; an area across zones 1 and 2; some smaller ones; one freed but held back
    // from reuse by a subscriber that never acks its flush.
    assertEquals(hex(BASE), m.alloc("{\"size\":65536,\"node\":0,\"tag\":\"full\"}"));
    assertEquals(hex(0x118000L), m.alloc("{\"size\":65536,\"vstart\":\"0x118000\",\"vend\":\"0x128000\",\"tag\":\"span\"}"));
    Random r = new Random(7);
    List<String> tags = List.of("vmap_stack", "module_alloc", "ioremap");
    for (int i = 0; i < 24; i++) {
      m.alloc("{\"size\":" + (4096 * (1 + r.nextInt(6))) + ",\"tag\":\"" + tags.get(i % 3) + "\"}");
    }
    // Two tenants' areas (embedded clients acting for them), for the Tenants panel.
    for (int i = 0; i < 9; i++) m.vmap.client("storage-a").alloc(AllocOptions.size(4096).tag("blk")).toCompletableFuture().get();
    for (int i = 0; i < 2; i++) m.vmap.client("storage-b").alloc(AllocOptions.size(16384).tag("log")).toCompletableFuture().get();
    String gone = m.alloc("{\"size\":16384,\"node\":1,\"tag\":\"gone\"}");
    silent = m.system.systemActorOf(Behaviors.ignore(), "silent-cache", Props.empty());
    m.vmap.client().subscribeFlush(silent).toCompletableFuture().get();
    assertEquals(204, m.send("DELETE", "/v1/areas/" + gone, null).status());
    m.vmap.client().purge(); // its epoch waits for the silent subscriber

    driver.get(m.base + "/ui?interval=1000");
    WebDriverWait wait = new WebDriverWait(driver, PATIENCE);
    wait.ignoring(StaleElementReferenceException.class);

    // The map: one cell per zone, zone 0 coloured busy. (The page redraws on every poll, so each
    // look reads what it needs at once and is tried again if the drawing was replaced meanwhile.)
    wait.until(d -> d.findElements(By.cssSelector("#map rect.cell")).size() == 16);
    List<String> zone0 = wait.until(d -> attributes(d.findElement(By.cssSelector("#map rect.cell[data-index='0']")),
        "data-state", "fill", "data-node"));
    assertEquals(List.of("busy", "rgb(214,39,40)", "0"), zone0, "zone 0: all busy, busy colour, node 0");
    assertEquals(List.of("1"), wait.until(d -> attributes(d.findElement(By.cssSelector("#map rect.cell[data-index='1']")), "data-node")));
    assertTrue(wait.until(d -> d.findElements(By.cssSelector("#map line.spanning")).size()) >= 1, "the spanning area is drawn across zones");

    // Hovering an area shows its bounds.
    String spanning = "#areas rect.area[data-start='" + hex(0x118000L) + "']";
    String tip = wait.until(d -> {
      new Actions(d).moveToElement(d.findElement(By.cssSelector(spanning))).perform();
      String t = d.findElement(By.id("tooltip")).getText();
      return t.contains("start " + hex(0x118000L)) && t.contains("end   " + hex(0x128000L)) ? t : null;
    });
    assertTrue(tip.contains("tag span") && tip.contains("node  1") && tip.contains("tenant default")
        && tip.contains("spans zones of nodes 1, 0"), tip);
    assertTrue(tip.contains("64.0 KiB (65536 bytes)"), tip);

    // The purge panel: the subscriber that withholds its ack stands out, with what to do.
    String path = silent.path().toString();
    String holder = wait.until(d -> {
      for (WebElement tr : d.findElements(By.cssSelector("#holders tr.holder.stuck"))) {
        if (path.equals(tr.getAttribute("data-subscriber"))) return tr.getText();
      }
      return null;
    });
    assertTrue(holder.contains(path) && holder.contains("(no ack)"), holder);
    String advice = wait.until(d -> {
      WebElement a = d.findElement(By.id("purge-advice"));
      return a.isDisplayed() ? a.getText() : null;
    });
    assertTrue(advice.contains("unsubscribeFlush") && advice.contains(path), advice);
    assertEquals("flushing", wait.until(d -> d.findElement(By.id("purge-phase")).getText()));
    // Epochs over time: the route samples the coordinator once a second while watched; with two
    // samples the page draws the line of epochs run.
    wait.until(d -> !d.findElements(By.id("epochs-line")).isEmpty());
    String points = wait.until(d -> d.findElement(By.id("epochs-line")).getAttribute("points"));
    assertTrue(points.trim().split("\\s+").length >= 2, points);
    // The Tenants panel, for the picture: storage-a at 9 of its 10 areas stands out.
    wait.until(d -> d.findElements(By.cssSelector("#tenants-table tr.tenant.near[data-tenant='storage-a']")).size() == 1
        && d.findElements(By.cssSelector("#tenants-table tr.tenant")).size() == 3);
    wait.until(d -> d.findElement(By.id("tooltip")).isDisplayed());
    screenshot("ui.png");

    // Live: the page follows changes made through the API without being reloaded (a mark left on
    // this window survives). A whole-zone area can only take a zone that was all free: its cell
    // turns busy; unsubscribing the silent subscriber lets the epoch finish: its row goes.
    driver.executeScript("window.vmapSameLoad = true;");
    List<String> before = wait.until(d -> d.findElements(By.cssSelector("#map rect.cell")).stream()
        .map(c -> c.getAttribute("data-state")).toList());
    String whole = m.alloc("{\"size\":65536,\"tag\":\"live\"}");
    int cell = (int) ((Long.decode(whole) - BASE) / ZONE);
    assertEquals("free", before.get(cell), "zone " + cell + " before " + whole + ": " + before);
    wait.until(d -> "busy".equals(d.findElement(By.cssSelector("#map rect.cell[data-index='" + cell + "']")).getAttribute("data-state")));
    m.vmap.client().unsubscribeFlush(silent);
    silent = null;
    wait.until(d -> d.findElements(By.cssSelector("#holders tr.holder")).isEmpty()
        && !d.findElement(By.id("purge-advice")).isDisplayed());
    assertEquals(Boolean.TRUE, driver.executeScript("return window.vmapSameLoad === true;"), "the page was not reloaded");

    // Zooming into zone 1 shows that zone alone.
    // One click (tried again only if a redraw replaced the cell under it), then the range follows.
    wait.ignoring(org.openqa.selenium.ElementClickInterceptedException.class).until(d -> {
      d.findElement(By.cssSelector("#map rect.cell[data-index='1']")).click();
      return true;
    });
    wait.until(d -> d.findElement(By.id("range")).getText().startsWith(hex(BASE + ZONE) + " – " + hex(BASE + 2 * ZONE)));
    wait.until(d -> d.findElements(By.cssSelector("#map rect.cell")).size() == 1);
    assertEquals("", wait.until(d -> d.findElement(By.id("error")).getText()), "no error banner");
  }

  /**
   * The tenants panel with GET /v1/tenants (shown) and against a member without it (404: hidden);
   * given that route's answer (the rows of /v1/info's "tenants", in
   * the shape that work defines) in place of the 404, it draws usage against quota and marks the
   * tenant near its quota.
   */
  @Test
  void theTenantsPanelIsHiddenWithoutTheRouteAndDrawsUsageAgainstQuota() throws Exception {
    driver.get(m.base + "/ui?interval=500");
    WebDriverWait wait = new WebDriverWait(driver, PATIENCE);
    wait.until(d -> {
      String n = d.findElement(By.tagName("body")).getAttribute("data-refreshed");
      return n != null && Integer.parseInt(n) >= 2; // two polls, each asked /v1/tenants first time round
    });
    // This member serves the route (the tenants work added it): the panel shows its answer.
    assertEquals(200, m.send("GET", "/v1/tenants", null).status());
    wait.until(d -> d.findElement(By.id("tenants")).isDisplayed());
    // A member of a version without the route answers 404: no panel for it.
    Object hidden = driver.executeAsyncScript(
        "const done = arguments[arguments.length - 1];"
            + "const real = window.fetch.bind(window);"
            + "window.fetch = (url, opts) => String(url).startsWith('/v1/tenants')"
            + "  ? Promise.resolve(new Response('{\"error\":\"ENOENT\",\"reason\":\"no route\"}',"
            + "      {status: 404, headers: {'Content-Type': 'application/json'}}))"
            + "  : real(url, opts);"
            + "drawTenants().then(() => { window.fetch = real; done('drawn'); }, e => done(String(e)));");
    assertEquals("drawn", hidden);
    assertFalse(driver.findElement(By.id("tenants")).isDisplayed(), "no panel for a route that is not there");

    String answer = "{\"tenants\":["
        + "{\"tenant\":\"a\",\"areas\":9,\"bytes\":36864,\"liveAreas\":7,\"liveBytes\":28672,\"lazyAreas\":2,"
        + "\"lazyBytes\":8192,\"maxAreas\":10,\"maxBytes\":null},"
        + "{\"tenant\":\"b\",\"areas\":1,\"bytes\":4096,\"liveAreas\":1,\"liveBytes\":4096,\"lazyAreas\":0,"
        + "\"lazyBytes\":0,\"maxAreas\":null,\"maxBytes\":1048576},"
        + "{\"tenant\":\"default\",\"areas\":3,\"bytes\":12288,\"liveAreas\":3,\"liveBytes\":12288,\"lazyAreas\":0,"
        + "\"lazyBytes\":0,\"maxAreas\":null,\"maxBytes\":null}]}";
    Object drawn = driver.executeAsyncScript(
        "const answer = arguments[0], done = arguments[arguments.length - 1];"
            + "const real = window.fetch.bind(window);"
            + "window.fetch = (url, opts) => String(url).startsWith('/v1/tenants')"
            + "  ? Promise.resolve(new Response(answer, {status: 200, headers: {'Content-Type': 'application/json'}}))"
            + "  : real(url, opts);"
            + "drawTenants().then(() => done('drawn'), e => done(String(e)));", answer);
    assertEquals("drawn", drawn);
    wait.until(d -> d.findElement(By.id("tenants")).isDisplayed());
    // A poll of the real route may have been in flight when fetch was replaced: its drawing can land
    // after ours, and the next poll draws the stubbed answer again.
    wait.ignoring(StaleElementReferenceException.class);
    // Each look reads what it needs at once (a later poll redraws the same rows) and is tried again
    // if the drawing was replaced meanwhile.
    List<String> seen = wait.until(d -> {
      if (d.findElements(By.cssSelector("#tenants-table tr.tenant")).size() != 3) return null;
      WebElement a = d.findElement(By.cssSelector("#tenants-table tr.tenant[data-tenant='a']"));
      WebElement b = d.findElement(By.cssSelector("#tenants-table tr.tenant[data-tenant='b']"));
      return List.of(a.getAttribute("class"), a.getText(), b.getAttribute("class"), b.getText(),
          d.findElement(By.cssSelector("#tenants-table tr.tenant[data-tenant='default']")).getText(),
          d.findElement(By.id("tenants-note")).getText());
    });
    String aText = seen.get(1);
    String bText = seen.get(3);
    assertTrue(seen.get(0).contains("near"), "9 of 10 areas is near the quota");
    assertTrue(aText.contains("9 / 10") && aText.contains("7 · 28.0 KiB") && aText.contains("2 · 8.00 KiB")
        && aText.contains("90.0%"), aText);
    assertFalse(seen.get(2).contains("near"), bText);
    assertTrue(bText.contains("4.00 KiB / 1.00 MiB") && bText.contains("1 / no limit"), bText);
    assertTrue(seen.get(4).contains("no quota"), seen.get(4));
    assertTrue(seen.get(5).contains("1 tenant is at 90% of a quota or more"), seen.get(5));
  }

  // ------------------------------------------------------------------ the browser

  /** Headless Chromium through chromedriver, from the paths scripts/chromium.sh wrote (or found on PATH). */
  static ChromeDriver browser(Path profile) throws IOException {
    String[] paths = chromium();
    ChromeOptions o = new ChromeOptions();
    o.setBinary(paths[0]);
    o.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--user-data-dir=" + profile.toAbsolutePath(), "--window-size=1100,2300");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(paths[1])).usingAnyFreePort().build();
    ChromeDriver d = new ChromeDriver(service, o);
    d.manage().window().setSize(new Dimension(1100, 2300));
    return d;
  }

  /** The browser and the driver: from vmap.chromium.file (set by the build), else the Debian paths. */
  static List<String> attributes(WebElement e, String... names) {
    List<String> out = new java.util.ArrayList<>();
    for (String n : names) out.add(e.getAttribute(n));
    return out;
  }

  static String[] chromium() throws IOException {
    String file = System.getProperty("vmap.chromium.file");
    String browser = "/usr/bin/chromium";
    String driver = "/usr/bin/chromedriver";
    if (file != null && Files.exists(Path.of(file))) {
      Properties p = new Properties();
      try (InputStream in = Files.newInputStream(Path.of(file))) {
        p.load(in);
      }
      browser = p.getProperty("vmap.chromium.binary", browser);
      driver = p.getProperty("vmap.chromium.driver", driver);
    }
    if (!Files.isExecutable(Path.of(browser)) || !Files.isExecutable(Path.of(driver))) {
      fail("headless Chromium is required for this test and was not found (browser " + browser + ", driver " + driver
          + "): run `bash scripts/chromium.sh install` (mvn verify runs it before the integration tests)");
    }
    return new String[] {browser, driver};
  }

  void screenshot(String name) throws IOException {
    Path dir = Path.of(System.getProperty("vmap.screenshots", "target/screenshots"));
    Files.createDirectories(dir);
    File shot = driver.getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
  }
}
