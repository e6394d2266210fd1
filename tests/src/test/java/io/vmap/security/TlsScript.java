package io.vmap.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the project's {@code scripts/tls.sh} (keytool only) so the tests use key material made the
 * way an operator makes it, and the script itself is exercised.
 */
public final class TlsScript {

  /** Test keys are 2048-bit (VMAP_TLS_KEY_SIZE): half the keytool time of the 3072-bit default. */
  public static final String TEST_KEY_SIZE = "2048";

  /** What one run printed, and how it ended. */
  public record Result(int exit, String out, String err) {
    public Result orThrow(List<String> args) {
      if (exit != 0) {
        throw new IllegalStateException("scripts/tls.sh " + String.join(" ", args) + " exited " + exit + ":\n" + err + out);
      }
      return this;
    }
  }

  private TlsScript() {}

  /** The repository root (tests run from tests/ under Maven, from the root in an IDE). */
  public static Path repo() {
    Path here = Path.of("").toAbsolutePath();
    return Files.isDirectory(here.resolve("cluster-config")) ? here : here.getParent();
  }

  /** {@code scripts/tls.sh ARGS}; fails with the script's output unless it exits 0. */
  public static Result run(String... args) {
    return run(Map.of(), args).orThrow(List.of(args));
  }

  /** {@code scripts/tls.sh ARGS} with extra environment; the caller checks the exit. */
  public static Result run(Map<String, String> env, String... args) {
    List<String> cmd = new ArrayList<>(List.of("bash", repo().resolve("scripts/tls.sh").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    // Defaults, unless a developer's shell set them: the members below read the same defaults.
    for (String v : List.of("VMAP_TLS_DIR", "VMAP_TLS_KEY_STORE_PASSWORD", "VMAP_TLS_TRUST_STORE_PASSWORD", "VMAP_TLS_CA_PASSWORD")) {
      pb.environment().remove(v);
    }
    pb.environment().put("VMAP_TLS_KEY_SIZE", TEST_KEY_SIZE);
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
      String out = read(p.getInputStream());
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("scripts/tls.sh " + String.join(" ", args) + " did not finish in 5 minutes");
      }
      return new Result(p.exitValue(), out, err.join());
    } catch (IOException e) {
      throw new IllegalStateException("cannot run scripts/tls.sh: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running scripts/tls.sh", e);
    }
  }

  private static String read(java.io.InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }
}
