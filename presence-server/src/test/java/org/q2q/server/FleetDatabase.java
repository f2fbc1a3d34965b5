package org.q2q.server;

import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A fresh PostgreSQL database for one test class, on the server named by {@code Q2Q_TEST_POSTGRES}
 * (default {@code postgresql://q2q:q2q-test@127.0.0.1:5432/postgres}, which .ci/run sets up), with
 * the node directory's tables. Unreachable: the test is skipped, unless {@code CI} is set.
 */
public final class FleetDatabase implements AutoCloseable {
  private final String adminUrl;
  private final String user;
  private final String password;
  private final String name;
  private final PGSimpleDataSource dataSource;

  private FleetDatabase(String adminUrl, String user, String password, String name) {
    this.adminUrl = adminUrl;
    this.user = user;
    this.password = password;
    this.name = name;
    this.dataSource = new PGSimpleDataSource();
    dataSource.setUrl(adminUrl.substring(0, adminUrl.lastIndexOf('/') + 1) + name);
    dataSource.setUser(user);
    dataSource.setPassword(password);
  }

  /** Creates the database and the node directory's tables. */
  public static FleetDatabase create() throws SQLException, IOException {
    String url = System.getenv().getOrDefault("Q2Q_TEST_POSTGRES", "postgresql://q2q:q2q-test@127.0.0.1:5432/postgres");
    java.net.URI u = java.net.URI.create(url);
    String[] userInfo = u.getUserInfo().split(":", 2);
    String jdbc = "jdbc:postgresql://" + u.getHost() + ":" + (u.getPort() < 0 ? 5432 : u.getPort()) + u.getPath();
    String name = "q2q_fleet_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
    try (Connection c = DriverManager.getConnection(jdbc, userInfo[0], userInfo.length > 1 ? userInfo[1] : null);
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      if (System.getenv("CI") != null) {
        throw e;
      }
      assumeThat(false).as("PostgreSQL at " + jdbc + " is not reachable: " + e.getMessage()).isTrue();
    }
    FleetDatabase db = new FleetDatabase(jdbc, userInfo[0], userInfo.length > 1 ? userInfo[1] : null, name);
    try (InputStream in = FleetDatabase.class.getResourceAsStream("/db/migration/postgresql/V10__node_directory.sql");
        Connection c = db.dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    return db;
  }

  /** The database. */
  public DataSource dataSource() {
    return dataSource;
  }

  /** Drops the database. */
  @Override
  public void close() throws SQLException {
    try (Connection c = DriverManager.getConnection(adminUrl, user, password);
        Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }
  }
}
