package io.vmap.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmap.cli.Cli;
import io.vmap.http.TokenStore;
import io.vmap.state.Principal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vmap token}: a fresh token once, and the line to store (its hash, never the token). */
class TokenCommandTest {

  @TempDir Path dir;

  @Test
  void printsTheTokenOnceAndTheLineWithItsHash() {
    VmapCommandTest.Run r = VmapCommandTest.vmap("token", "--tenant", "storage-a");
    assertEquals(0, r.exit(), r.err());
    List<String> lines = r.lines();
    assertEquals(2, lines.size(), r.out());
    String token = lines.get(0);
    assertTrue(token.matches("vmap_[A-Za-z0-9_-]{43}"), token);
    assertEquals(TokenStore.sha256Hex(token) + " storage-a tenant", lines.get(1));
    assertTrue(!lines.get(1).contains(token));
    // The line is what the store reads, and the token then names the tenant.
    List<TokenStore.Entry> parsed = TokenStore.parse(lines.get(1));
    assertEquals(Principal.tenant("storage-a"), parsed.get(0).principal());
    assertNotEquals(token, VmapCommandTest.vmap("token", "--tenant", "storage-a").lines().get(0), "a new token each time");
  }

  @Test
  void appendsAnAdminLineToAFileCreatedPrivate() throws Exception {
    Path file = dir.resolve("tokens");
    VmapCommandTest.Run r = VmapCommandTest.vmap("token", "--tenant", "ops", "--role", "admin", "--append", file.toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals(r.lines().get(1) + System.lineSeparator(), Files.readString(file));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    TokenStore store = TokenStore.of(List.of(), file, java.time.Duration.ZERO);
    assertEquals(Principal.admin("ops"), store.principalFor(r.lines().get(0)).orElseThrow());
  }

  @Test
  void badTenantsAndRolesAreUsageErrors() {
    VmapCommandTest.Run badRole = VmapCommandTest.vmap("token", "--tenant", "a", "--role", "root");
    assertEquals(Cli.USAGE, badRole.exit());
    assertEquals("vmap token: role 'root': must be tenant or admin", badRole.err().strip());
    VmapCommandTest.Run badTenant = VmapCommandTest.vmap("token", "--tenant", "a b");
    assertEquals(Cli.USAGE, badTenant.exit());
    assertTrue(badTenant.err().contains("tenant 'a b': only letters, digits"), badTenant.err());
  }
}
