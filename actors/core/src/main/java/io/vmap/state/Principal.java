package io.vmap.state;

/**
 * Who makes a request: a tenant, and whether it has the admin role (DESIGN.md "Tenants"). Every
 * area belongs to the tenant that allocated it; a tenant frees and finds only its own areas, as if
 * the others did not exist, while an admin sees and may free every area.
 *
 * <p>The {@link #SYSTEM} principal, the default tenant with the admin role, is what callers get
 * when nobody authenticates: {@code Vmap.client()} (the embedding system itself) and the HTTP API
 * with authentication off. It behaves exactly as vmap did before tenants existed.
 *
 * @param tenant 1 to {@value #MAX_TENANT} characters out of {@code A-Z a-z 0-9 . _ -}: it appears in
 *     logs, metric labels and request-id keys, so nothing else is allowed
 */
public record Principal(String tenant, boolean admin) {

  /** The tenant of every area allocated without a tenant (and of every area stored before tenants). */
  public static final String DEFAULT_TENANT = "default";

  public static final int MAX_TENANT = 64;

  /** The default tenant with the admin role: the embedding system, or an HTTP API without authentication. */
  public static final Principal SYSTEM = new Principal(DEFAULT_TENANT, true);

  public Principal {
    checkTenant(tenant);
  }

  /** A tenant without the admin role. */
  public static Principal tenant(String name) {
    return new Principal(name, false);
  }

  /** A tenant with the admin role. */
  public static Principal admin(String name) {
    return new Principal(name, true);
  }

  /** Whether this principal may see (find, free, list) an area of {@code owner}. */
  public boolean sees(String owner) {
    return admin || tenant.equals(owner);
  }

  /**
   * {@code name} if it is a valid tenant name.
   *
   * @throws IllegalArgumentException naming the value and the rule it breaks
   */
  public static String checkTenant(String name) {
    if (name == null || name.isEmpty()) throw new IllegalArgumentException("tenant: must not be empty");
    if (name.length() > MAX_TENANT) {
      throw new IllegalArgumentException("tenant: longer than " + MAX_TENANT + " characters: '" + name.substring(0, 16) + "...'");
    }
    for (int i = 0; i < name.length(); i++) {
      char ch = name.charAt(i);
      boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
          || ch == '.' || ch == '_' || ch == '-';
      if (!ok) {
        throw new IllegalArgumentException("tenant '" + printable(name) + "': only letters, digits, '.', '_' and '-' are allowed");
      }
    }
    return name;
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < MAX_TENANT; i++) {
      char ch = s.charAt(i);
      b.append(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return admin ? tenant + " (admin)" : tenant;
  }
}
