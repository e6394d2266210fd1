package io.vmap.cluster;

/**
 * A member whose journal is not the cluster's (DESIGN.md "Journal identity"): another file or
 * database, or one without an identity while the cluster has one. Such a member hosts no vmap node
 * (a node moved there would start without its history) and leaves the cluster. The message names
 * both identities and the fix.
 */
public final class JournalMismatch extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final transient JournalIdentity cluster;
  private final transient JournalIdentity own;

  /**
   * @param own this member's journal's identity, or null if it has none
   * @param journal where this member's journal is
   * @param persistenceId where the identity is stored in it
   */
  JournalMismatch(JournalIdentity cluster, JournalIdentity own, String journal, String persistenceId) {
    super(message(cluster, own, journal, persistenceId));
    this.cluster = cluster;
    this.own = own;
  }

  /** The cluster's identity. */
  public JournalIdentity cluster() {
    return cluster;
  }

  /** This member's journal's identity, or null if it has none. */
  public JournalIdentity own() {
    return own;
  }

  static String message(JournalIdentity cluster, JournalIdentity own, String journal, String persistenceId) {
    StringBuilder m = new StringBuilder();
    m.append("this member's journal is not the cluster's: it hosts no vmap node and leaves the cluster\n");
    m.append("  cluster's journal:     ").append(cluster.describe()).append('\n');
    m.append("  this member's journal: ");
    if (own == null) {
      m.append("none (").append(journal).append(" has no ").append(persistenceId)
          .append(": a new database, or another one)\n");
    } else {
      m.append(own.describe()).append('\n');
    }
    m.append("A vmap node moved to this member would start without its history and hand out its areas again.\n");
    m.append("Fix: ").append(fix(cluster, journal));
    return m.toString();
  }

  private static String fix(JournalIdentity cluster, String journal) {
    if (cluster.journal().equals(journal)) {
      return "this member opens the journal at the same place as the cluster, yet another one: it was replaced or "
          + "recreated while the cluster ran. Restore it, or stop every member and start the cluster afresh.";
    }
    String dir = JournalIdentity.h2Directory(cluster.journal());
    if (dir != null) {
      return "members on one machine share one journal: start this member with the cluster's --data-dir "
          + "(--data-dir " + dir + ", vmap.data-dir), the same for every member.";
    }
    if (cluster.journal().startsWith("jdbc:postgresql:")) {
      return "every member uses the same PostgreSQL database (" + cluster.journal() + "): set vmap.postgres.* "
          + "or VMAP_PG_HOST/PORT/DB like the other members, and the same vmap.persistence-id-prefix.";
    }
    return "every member must use the same journal (" + cluster.journal() + ") and vmap.persistence-id-prefix.";
  }
}
