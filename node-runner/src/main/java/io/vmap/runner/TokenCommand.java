package io.vmap.runner;

import io.vmap.cli.CliCommand;
import io.vmap.cli.UsageException;
import io.vmap.http.TokenStore;
import io.vmap.state.Principal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmap token}: a new bearer token for the HTTP API. Prints the token (shown once: only its
 * hash is ever stored) and the line for the tokens file, or appends that line itself.
 */
@Command(
    name = "token",
    header = "Makes a bearer token for the HTTP API (vmap.http.auth).",
    description = {
      "Draws 256 random bits, prints the token on the first line and, on the second, the line to",
      "add to the tokens file (vmap.http.auth.tokens-file): its SHA-256, the tenant and the role.",
      "The token is shown only now; give it to the client. Members re-read the file when it",
      "changes: no restart. To revoke a token, delete its line."
    })
final class TokenCommand extends CliCommand {

  @Option(names = "--tenant", paramLabel = "NAME", required = true,
      description = "Tenant the token acts for (letters, digits, '.', '_', '-'; at most 64).")
  String tenant;

  @Option(names = "--role", paramLabel = "ROLE", defaultValue = "tenant",
      description = "tenant (its own areas only) or admin (every area, purge, metrics); default ${DEFAULT-VALUE}.")
  String role;

  @Option(names = "--append", paramLabel = "FILE",
      description = "Also append the line to FILE (created with mode 600 if missing).")
  Path append;

  @Override
  protected int run() {
    Principal p;
    try {
      p = TokenStore.principal(tenant, role);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    String token = TokenStore.newToken();
    TokenStore.Entry entry = new TokenStore.Entry(TokenStore.sha256Hex(token), p);
    if (append != null) append(append, entry.line());
    out().println(token);
    out().println(entry.line());
    err().println("vmap token: the first line is the token, shown only now; "
        + (append != null ? "its hash was appended to " + append : "add the second line to the tokens file"));
    return 0;
  }

  private static void append(Path file, String line) {
    try {
      if (!Files.exists(file)) {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      }
      Files.writeString(file, line + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    } catch (UnsupportedOperationException e) {
      throw new UsageException("cannot create " + file + " with mode 600 on this file system");
    } catch (IOException e) {
      throw new UsageException("cannot append to " + file + ": " + e.getMessage());
    }
  }
}
