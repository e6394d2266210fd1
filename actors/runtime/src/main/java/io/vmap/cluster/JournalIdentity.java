package io.vmap.cluster;

import com.typesafe.config.Config;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;

/**
 * The identity of a durable cluster's journal (DESIGN.md "Journal identity"): a random id written
 * once into the journal, by the member that forms the cluster, when the journal has none. Every
 * member reads it from its own journal and compares it with the cluster's before it hosts any vmap
 * node, so a member whose journal is another file or database (or an empty one, while the cluster
 * has history) never serves a node without that node's history.
 *
 * <p>Stored as one line of text, a plain {@code String} event (Akka's own serializer for strings,
 * so no wire registration), and shared between members as that same line through Distributed Data.
 *
 * @param id the random cluster id
 * @param createdAt when the first member wrote it
 * @param createdBy the member that wrote it (an Akka address)
 * @param journal where that member's journal was (a JDBC URL without credentials, or the plugin id)
 */
public record JournalIdentity(String id, Instant createdAt, String createdBy, String journal) {

  /** The first word of a stored line: what it is and its format version. */
  static final String FORMAT = "vmap-journal-identity/1";

  public JournalIdentity {
    if (id == null || id.isBlank() || id.contains(" ")) throw new IllegalArgumentException("bad journal id '" + id + "'");
    if (createdAt == null) throw new IllegalArgumentException("journal identity " + id + " without a creation time");
    createdBy = createdBy == null || createdBy.isBlank() ? "?" : createdBy.replace(' ', '_');
    journal = journal == null || journal.isBlank() ? "?" : journal;
  }

  /** A new identity, created now by {@code member} in the journal {@code journal}. */
  static JournalIdentity create(String member, String journal) {
    return new JournalIdentity(UUID.randomUUID().toString(), Instant.now(), member, journal);
  }

  /** The stored form: {@code vmap-journal-identity/1 <id> <created> <member> <journal...>}. */
  String line() {
    return FORMAT + " " + id + " " + createdAt + " " + createdBy + " " + journal;
  }

  /**
   * The identity a stored line describes.
   *
   * @throws IllegalArgumentException naming the line if it is not one
   */
  static JournalIdentity parse(String line) {
    String[] w = line == null ? new String[0] : line.split(" ", 5);
    if (w.length != 5 || !w[0].equals(FORMAT)) {
      throw new IllegalArgumentException("not a journal identity: '" + line + "'");
    }
    try {
      return new JournalIdentity(w[1], Instant.parse(w[2]), w[3], w[4]);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("journal identity with a bad time: '" + line + "'", e);
    }
  }

  /** One line for an operator: the id, where and when it was created. */
  String describe() {
    return id + " (created " + createdAt + " by " + createdBy + ", journal " + journal + ")";
  }

  /**
   * Where this member's journal is, for messages: the JDBC URL of akka-persistence-jdbc's database
   * without its settings (no credentials, no H2 INIT script), else the journal plugin's id.
   */
  static String location(Config config) {
    String plugin = config.hasPath("akka.persistence.journal.plugin") ? config.getString("akka.persistence.journal.plugin") : "";
    String url = null;
    if (!plugin.isEmpty() && config.hasPath(plugin + ".use-shared-db")) {
      String shared = "akka-persistence-jdbc.shared-databases." + config.getString(plugin + ".use-shared-db") + ".db.url";
      if (config.hasPath(shared)) url = config.getString(shared);
    } else if (!plugin.isEmpty() && config.hasPath(plugin + ".slick.db.url")) {
      url = config.getString(plugin + ".slick.db.url");
    }
    if (url == null) return plugin.isEmpty() ? "(no journal plugin)" : "journal plugin " + plugin;
    int cut = url.length();
    for (char c : new char[] {';', '?'}) {
      int i = url.indexOf(c);
      if (i >= 0) cut = Math.min(cut, i);
    }
    return url.substring(0, cut);
  }

  /**
   * The directory of an embedded H2 journal ({@code jdbc:h2:file:/dir/vmap-journal} is
   * {@code /dir}), or null if {@code journal} is not one: what {@code --data-dir} must name.
   */
  static String h2Directory(String journal) {
    String prefix = "jdbc:h2:file:";
    if (journal == null || !journal.startsWith(prefix)) return null;
    String file = journal.substring(prefix.length());
    int slash = file.lastIndexOf('/');
    return slash <= 0 ? null : file.substring(0, slash);
  }
}
