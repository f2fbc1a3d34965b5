package org.q2q.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

/**
 * What differs between the server's two database engines. The SQL of the stores is written once
 * for both (ANSI with {@code INSERT ... ON CONFLICT DO NOTHING}, which SQLite has since 3.24); what
 * cannot be, is here.
 */
public enum SqlDialect {
  /** The embedded default: one file, one node, one connection at a time. */
  SQLITE("sqlite"),
  /** Shared by the nodes of a domain. */
  POSTGRESQL("postgresql");

  private final String folder;

  SqlDialect(String folder) {
    this.folder = folder;
  }

  /**
   * Flyway's migration locations: {@code db/migration/common} (SQL both engines run) and then the
   * engine's own folder. Version numbers are unique across both.
   */
  public List<String> migrationLocations() {
    return List.of("classpath:db/migration/common", "classpath:db/migration/" + folder);
  }

  /**
   * Serialises the transactions of {@code c} that name {@code key}, until the transaction ends. On
   * PostgreSQL a transaction-scoped advisory lock (several nodes share the rows); on SQLite nothing,
   * because the process uses one connection and its transactions begin IMMEDIATE (one writer).
   */
  public void lock(Connection c, String key) throws SQLException {
    if (this != POSTGRESQL) {
      return;
    }
    try (PreparedStatement p = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
      p.setLong(1, lockId(key));
      p.execute();
    }
  }

  /** A 64-bit lock id for {@code key} (the first 8 bytes of its SHA-256). */
  static long lockId(String key) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(("q2q:" + key).getBytes(StandardCharsets.UTF_8));
      long id = 0;
      for (int i = 0; i < 8; i++) {
        id = (id << 8) | (h[i] & 0xff);
      }
      return id;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing", e);
    }
  }
}
