package io.vmap.ui;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.vmap.client.VmapSettings;
import io.vmap.http.LiveMember;
import io.vmap.http.TokenStore;
import io.vmap.node.NodeSettings;
import io.vmap.space.Geometry;
import io.vmap.state.Quota;
import io.vmap.state.Quotas;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The operator page against a member with authentication on: its views answer 401 until the
 * operator gives an admin token (kept in the tab's sessionStorage), then the page draws as usual
 * and the Tenants panel shows each tenant's usage against its quota from GET /v1/tenants; hovering a
 * tenant's area names the tenant.
 */
@Tag("integration")
class UiTenantsPageTest {

  static final long BASE = 0x100000L;
  static final long ZONE = 0x10000L;

  @TempDir Path profile;
  LiveMember m;
  ChromeDriver driver;

  @AfterEach
  void stop() throws Exception {
    if (driver != null) driver.quit();
    if (m != null) m.close();
  }

  @Test
  void withAuthenticationTheOperatorGivesAnAdminTokenAndSeesEachTenantAgainstItsQuota() throws Exception {
    String admin = TokenStore.newToken();
    String a = TokenStore.newToken();
    m = new LiveMember("ui-tenants", VmapSettings.defaults()
            .withGeometry(new Geometry(BASE, BASE + 16 * ZONE, 4096, ZONE, 2), null)
            .withNode(NodeSettings.defaults().withQuotas(new Quotas(Quota.NONE, Map.of("a", new Quota(Quota.UNLIMITED, 5))))),
        ConfigFactory.parseString("vmap.http.auth { enabled = on, tokens = ["
            + "{ sha256 = \"" + TokenStore.sha256Hex(admin) + "\", tenant = ops, role = admin },"
            + "{ sha256 = \"" + TokenStore.sha256Hex(a) + "\", tenant = a, role = tenant } ] }"));
    List<String> aAreas = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      LiveMember.Resp r = m.send("POST", "/v1/areas", "{\"size\":8192}", "Authorization", "Bearer " + a);
      assertEquals(201, r.status(), r.body());
      aAreas.add(r.json().get("start").asText());
    }
    String aArea = aAreas.get(0);

    driver = UiPageTest.browser(profile);
    driver.get(m.base + "/ui?interval=1000");
    WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(90));
    wait.ignoring(StaleElementReferenceException.class);

    // Without a token: the views answer 401, the page says so and asks for a token.
    String banner = wait.until(d -> {
      WebElement e = d.findElement(By.id("error"));
      return e.isDisplayed() && e.getText().contains("401") ? e.getText() : null;
    });
    assertTrue(banner.contains("EACCES"), banner);
    wait.until(d -> d.findElement(By.id("token-form")).isDisplayed());

    driver.findElement(By.id("token")).sendKeys(admin);
    driver.findElement(By.cssSelector("#token-form button")).click();

    // With the admin token: the map draws, the banner clears, the Tenants panel has a's row.
    wait.until(d -> d.findElements(By.cssSelector("#map rect.cell")).size() == 16);
    String row = wait.until(d -> {
      for (WebElement tr : d.findElements(By.cssSelector("#tenants-table tbody tr.tenant"))) {
        if ("a".equals(tr.getAttribute("data-tenant"))) return tr.getText();
      }
      return null;
    });
    assertTrue(row.contains("2 / 5"), "areas against the area quota: " + row);
    assertTrue(row.contains("16.0 KiB"), "bytes: " + row);

    // Hovering tenant a's area shows whose it is.
    String area = "#areas rect.area[data-start='" + aArea + "']";
    String tip = wait.until(d -> {
      new Actions(d).moveToElement(d.findElement(By.cssSelector(area))).perform();
      String t = d.findElement(By.id("tooltip")).getText();
      return t.contains("start " + aArea) ? t : null;
    });
    assertTrue(tip.contains("tenant a"), tip);
    assertEquals("", wait.until(d -> {
      String t = d.findElement(By.id("error")).getText();
      return t.isEmpty() ? t : null;
    }), "no error banner");
  }
}
