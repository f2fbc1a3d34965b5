package org.q2q.server;

import java.io.IOException;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * Test fixture: a fresh, uniquely named PostgreSQL database on the server named by {@code
 * Q2Q_TEST_POSTGRES} (default {@value #DEFAULT_URL}, which {@code .ci/run} sets up), dropped on
 * {@link #close()}. Create one per test class.
 *
 * <p>When PostgreSQL cannot be reached the test is skipped with the reason, unless the variable
 * {@code CI} is set: there it fails, so that a CI machine without the database cannot pass by
 * skipping. Published in the presence-server test-jar for the tests of tools.
 */
public final class PostgresTestDatabase implements AutoCloseable {
  /** The server and an account allowed to create databases. */
  public static final String DEFAULT_URL = "postgresql://q2q:q2q-test@127.0.0.1:5432/postgres";

  private final DatabaseLocation admin;
  private final String name;
  private final String url;
  private final DatabaseLocation location;

  private PostgresTestDatabase(DatabaseLocation admin, String name, String url) throws IOException {
    this.admin = admin;
    this.name = name;
    this.url = url;
    this.location = DatabaseLocation.postgresql(url, null, Map.of());
  }

  /** A new empty database; skips (or in CI fails) the calling test if PostgreSQL is unreachable. */
  public static PostgresTestDatabase create() throws IOException {
    String adminUrl = System.getenv().getOrDefault("Q2Q_TEST_POSTGRES", DEFAULT_URL);
    DatabaseLocation admin = DatabaseLocation.postgresql(adminUrl, null, System.getenv());
    String name = "q2q_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    try (Connection c = connect(admin); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      String why = "PostgreSQL at " + admin + " (Q2Q_TEST_POSTGRES) is not usable: " + e.getMessage();
      if (System.getenv("CI") != null) {
        throw new AssertionError(why + " (CI is set: the database must be there)", e);
      }
      Assumptions.abort(why);
    }
    URI u = URI.create(adminUrl);
    String url = u.getScheme() + "://" + u.getRawUserInfo() + "@" + u.getHost()
        + (u.getPort() < 0 ? "" : ":" + u.getPort()) + "/" + name;
    return new PostgresTestDatabase(admin, name, url);
  }

  private static Connection connect(DatabaseLocation l) throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", l.user());
    if (l.password() != null) {
      p.setProperty("password", l.password());
    }
    p.setProperty("connectTimeout", "5");
    return DriverManager.getConnection(l.jdbcUrl(), p);
  }

  /** The database, for {@link PresenceServer.Builder#database} and {@link ServerDatabase#open}. */
  public DatabaseLocation location() {
    return location;
  }

  /** Its URL with the password, as {@code q2q server --database} takes it. */
  public String url() {
    return url;
  }

  /** Its name. */
  public String name() {
    return name;
  }

  /** Drops the database (ending connections a test left open). */
  @Override
  public void close() throws SQLException {
    try (Connection c = connect(admin); Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
  }
}
