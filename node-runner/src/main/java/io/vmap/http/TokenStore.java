package io.vmap.http;

import io.vmap.state.Principal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bearer tokens of the HTTP API, each mapped to a {@link Principal} (a tenant and a role),
 * stored as the SHA-256 of the token, never the token itself.
 *
 * <p>SHA-256 is enough here because the tokens are not passwords: {@link #newToken} draws 256 bits
 * from {@link SecureRandom}, so there is no dictionary to try and a preimage search is out of
 * reach; slow, salted hashes (bcrypt, argon2) exist to protect low-entropy secrets people choose.
 * A fast hash also costs next to nothing per request. A token is looked up by its hash, so the
 * lookup's timing can only tell an attacker about hashes, which do not help them find a token.
 *
 * <p>Tokens come from configuration ({@code vmap.http.auth.tokens}) and from a file ({@code
 * vmap.http.auth.tokens-file}), one token per line: {@code <sha256 hex> <tenant> <tenant|admin>},
 * {@code #} starts a comment. The file is read again when its content changes, checked at most
 * every {@code check-interval} when a request arrives: revoking or adding a token needs no
 * restart. A file that no longer parses (a half-written edit) leaves the tokens loaded before in
 * place, and the error is logged with its line.
 */
public final class TokenStore {

  private static final Logger LOG = LoggerFactory.getLogger(TokenStore.class);
  private static final HexFormat HEX = HexFormat.of();

  /** One line of the token file, or one entry of {@code vmap.http.auth.tokens}. */
  public record Entry(String sha256, Principal principal) {
    public Entry {
      sha256 = checkHash(sha256);
    }

    /** The line to store: {@code <sha256 hex> <tenant> <role>}. */
    public String line() {
      return sha256 + " " + principal.tenant() + " " + (principal.admin() ? "admin" : "tenant");
    }
  }

  private final Map<String, Principal> fixed;
  private final Path file;
  private final long checkIntervalNanos;
  private final LongSupplier nanoTime;

  private volatile Map<String, Principal> tokens;
  private byte[] fileContent;
  private long lastCheck;
  private boolean checkedOnce;

  private TokenStore(List<Entry> fixed, Path file, Duration checkInterval, LongSupplier nanoTime) {
    this.fixed = toMap(fixed, "vmap.http.auth.tokens");
    this.file = file;
    this.checkIntervalNanos = checkInterval.toNanos();
    this.nanoTime = nanoTime;
    this.tokens = this.fixed;
  }

  /**
   * A store of {@code fixed} tokens and those of {@code file} (null: none).
   *
   * @throws IllegalArgumentException if the file cannot be read or parsed (naming it and the line)
   */
  public static TokenStore of(List<Entry> fixed, Path file, Duration checkInterval) {
    TokenStore s = new TokenStore(fixed, file, checkInterval, System::nanoTime);
    if (file != null) s.load(true);
    return s;
  }

  /** The principal of {@code token}, if it is a known token (the file re-read first if it changed). */
  public Optional<Principal> principalFor(String token) {
    refreshIfDue();
    return Optional.ofNullable(tokens.get(sha256Hex(token)));
  }

  /** How many tokens are known now. */
  public int size() {
    refreshIfDue();
    return tokens.size();
  }

  /** Reads the file again if its content changed since the last read; keeps the old tokens on an error. */
  public synchronized void reloadIfChanged() {
    if (file != null) load(false);
  }

  private void refreshIfDue() {
    if (file == null) return;
    long now = nanoTime.getAsLong();
    synchronized (this) {
      if (checkedOnce && now - lastCheck < checkIntervalNanos) return;
      checkedOnce = true;
      lastCheck = now;
      load(false);
    }
  }

  private void load(boolean first) {
    byte[] content;
    try {
      content = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      fail(first, "vmap.http.auth.tokens-file: " + file + ": no such file (make tokens with `vmap token`)");
      return;
    } catch (IOException e) {
      fail(first, "vmap.http.auth.tokens-file: " + file + ": cannot read: " + e.getMessage());
      return;
    }
    if (fileContent != null && Arrays.equals(content, fileContent)) return;
    Map<String, Principal> parsed;
    try {
      parsed = new HashMap<>(fixed);
      parsed.putAll(toMap(parse(new String(content, StandardCharsets.UTF_8)), file.toString()));
    } catch (IllegalArgumentException e) {
      fail(first, "vmap.http.auth.tokens-file: " + file + ": " + e.getMessage());
      return;
    }
    fileContent = content;
    tokens = Map.copyOf(parsed);
    if (!first) LOG.info("tokens file {} changed: {} tokens now", file, tokens.size());
  }

  private void fail(boolean first, String reason) {
    if (first) throw new IllegalArgumentException(reason);
    LOG.error("{}; keeping the {} tokens loaded before", reason, tokens.size());
  }

  /**
   * The entries of a token file's text.
   *
   * @throws IllegalArgumentException naming the first bad line
   */
  public static List<Entry> parse(String text) {
    List<Entry> out = new java.util.ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      int hash = line.indexOf('#');
      if (hash >= 0) line = line.substring(0, hash);
      line = line.strip();
      if (line.isEmpty()) continue;
      String[] f = line.split("\\s+");
      if (f.length != 3) {
        throw new IllegalArgumentException("line " + (i + 1) + ": expected '<sha256 hex> <tenant> <tenant|admin>', got "
            + f.length + " fields");
      }
      try {
        out.add(new Entry(f[0], principal(f[1], f[2])));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage());
      }
    }
    return out;
  }

  /** The principal of {@code tenant} with {@code role} ("tenant" or "admin"). */
  public static Principal principal(String tenant, String role) {
    return switch (role.toLowerCase(Locale.ROOT)) {
      case "tenant" -> Principal.tenant(tenant);
      case "admin" -> Principal.admin(tenant);
      default -> throw new IllegalArgumentException("role '" + role + "': must be tenant or admin");
    };
  }

  private static Map<String, Principal> toMap(List<Entry> entries, String where) {
    Map<String, Principal> m = new HashMap<>();
    for (Entry e : entries) {
      Principal before = m.put(e.sha256(), e.principal());
      if (before != null && !before.equals(e.principal())) {
        throw new IllegalArgumentException(where + ": token " + e.sha256().substring(0, 12) + "... is given twice, for "
            + before + " and " + e.principal());
      }
    }
    return m;
  }

  private static String checkHash(String h) {
    if (h == null || h.length() != 64) {
      throw new IllegalArgumentException("'" + (h == null ? "" : h.length() > 16 ? h.substring(0, 16) + "..." : h)
          + "' is not a SHA-256 in hex (64 characters); store the hash `vmap token` prints, never the token");
    }
    String lower = h.toLowerCase(Locale.ROOT);
    for (int i = 0; i < lower.length(); i++) {
      char ch = lower.charAt(i);
      if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
        throw new IllegalArgumentException("'" + h.substring(0, 16) + "...' is not a SHA-256 in hex");
      }
    }
    return lower;
  }

  // ------------------------------------------------------------------ making tokens

  /** A new token: {@code vmap_} and 256 random bits, base64url. */
  public static String newToken() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return "vmap_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** SHA-256 of the token's UTF-8 bytes, lower-case hex: what is stored. */
  public static String sha256Hex(String token) {
    try {
      return HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
