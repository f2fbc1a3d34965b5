package org.q2q.server;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Optional;
import java.util.Properties;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationState;
import org.q2q.certstore.Address;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.SecureFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The server's database: a connection pool, the {@link SqlDialect} of its engine, and its schema,
 * brought up to date by Flyway when opened. The stores ({@link AccountStore}, the registration
 * limits) and later tables work through {@link #dataSource()}.
 *
 * <ul>
 *   <li>SQLite (the default): {@code q2q.db} in the data folder, mode 0600, WAL journal so the
 *       server and an offline {@code q2q server adduser} use it at the same time; one pooled
 *       connection (calls are serialised, as one SQLite writer is anyway), transactions begin
 *       IMMEDIATE. A database from before Flyway (its {@code user_version} 1 or 2) is baselined at
 *       that version and carried forward; afterwards {@code user_version} is {@link
 *       #SQLITE_USER_VERSION}, so a q2q from before Flyway refuses it instead of missing changes.
 *   <li>PostgreSQL: a HikariCP pool; several nodes of a domain share the database (Flyway's lock
 *       lets them start at the same time).
 * </ul>
 *
 * A database whose schema is newer than this q2q knows is refused. Safe for concurrent use.
 */
public final class ServerDatabase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServerDatabase.class);
  /** SQLite's {@code user_version} once Flyway manages the schema (1 and 2 were before). */
  public static final int SQLITE_USER_VERSION = 3;
  private static final String FLYWAY_TABLE = "flyway_schema_history";
  private static final int POSTGRES_POOL_SIZE = 10;

  private final DatabaseLocation location;
  private final HikariDataSource pool;

  private ServerDatabase(DatabaseLocation location, HikariDataSource pool) {
    this.location = location;
    this.pool = pool;
  }

  /**
   * Opens the database at {@code location} (creating a SQLite file and its folder if needed) and
   * migrates its schema.
   *
   * @throws IOException with a one-line reason if it cannot be reached, the password is wrong, or
   *     its schema is newer than this q2q's
   */
  public static ServerDatabase open(DatabaseLocation location) throws IOException {
    try {
      if (location.dialect() == SqlDialect.SQLITE) {
        Path file = location.sqliteFile();
        SecureFiles.createPrivateDirectories(file.toAbsolutePath().getParent());
        createPrivateFile(file);
      }
      int baseline = checkBeforeMigrating(location);
      migrate(location, baseline);
      HikariDataSource pool = newPool(location);
      log.debug("opened the database {}", location);
      return new ServerDatabase(location, pool);
    } catch (SQLException e) {
      throw new IOException("cannot open the database " + location + ": " + firstLine(e.getMessage()), e);
    } catch (FlywayException e) {
      throw new IOException("cannot update the schema of the database " + location + ": "
          + firstLine(e.getMessage()), e);
    } catch (RuntimeException e) { // the pool's start: it wraps the driver's exception
      Throwable c = e.getCause() instanceof SQLException ? e.getCause() : e;
      throw new IOException("cannot open the database " + location + ": " + firstLine(c.getMessage()), e);
    }
  }

  private static void createPrivateFile(Path file) throws IOException {
    // SQLite creates its -wal and -shm files with the permissions of the database file.
    if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (FileAlreadyExistsException e) {
        // existing database
      }
    }
  }

  /**
   * Connects once outside the pool (so a wrong password or an unreachable server is reported as
   * the driver says it) and, on SQLite, tells how to treat a database from before Flyway.
   *
   * @return the version to baseline at (a pre-Flyway SQLite database), or 0
   */
  private static int checkBeforeMigrating(DatabaseLocation location) throws SQLException, IOException {
    try (Connection c = connect(location)) {
      if (location.dialect() != SqlDialect.SQLITE) {
        return 0;
      }
      int userVersion;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
        userVersion = rs.next() ? rs.getInt(1) : 0;
      }
      if (userVersion > SQLITE_USER_VERSION) {
        throw newerSchema(location, "schema version " + userVersion);
      }
      if (hasTable(c, FLYWAY_TABLE) || !hasTable(c, "accounts")) {
        return 0; // managed by Flyway already, or new
      }
      if (userVersion < 1 || userVersion > 2) {
        throw new IOException("the database " + location + " has an accounts table but no known schema version ("
            + userVersion + "); is it a q2q database?");
      }
      log.info("the database {} is from before schema migrations (version {}): carrying it forward", location,
          userVersion);
      return userVersion;
    }
  }

  private static boolean hasTable(Connection c, String table) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")) {
      p.setString(1, table);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static Connection connect(DatabaseLocation location) throws SQLException {
    Properties p = new Properties();
    if (location.user() != null) {
      p.setProperty("user", location.user());
    }
    if (location.password() != null) {
      p.setProperty("password", location.password());
    }
    p.setProperty("connectTimeout", "10"); // PostgreSQL, seconds
    return DriverManager.getConnection(location.jdbcUrl(), p);
  }

  private static void migrate(DatabaseLocation location, int baseline) throws IOException, SQLException {
    var config = Flyway.configure(ServerDatabase.class.getClassLoader())
        .dataSource(location.jdbcUrl(), location.user(), location.password())
        .locations(location.dialect().migrationLocations().toArray(String[]::new))
        .table(FLYWAY_TABLE);
    if (baseline > 0) {
      config.baselineOnMigrate(true).baselineVersion(Integer.toString(baseline))
          .baselineDescription("q2q schema " + baseline + " from before Flyway");
    }
    Flyway flyway = config.load();
    MigrationInfo[] future = Arrays.stream(flyway.info().applied())
        .filter(m -> m.getState() == MigrationState.FUTURE_SUCCESS || m.getState() == MigrationState.FUTURE_FAILED)
        .toArray(MigrationInfo[]::new);
    if (future.length > 0) {
      throw newerSchema(location, "schema version " + future[future.length - 1].getVersion());
    }
    var result = flyway.migrate();
    if (result.migrationsExecuted > 0) {
      log.info("database {}: schema migrated to version {}", location, result.targetSchemaVersion);
    }
    if (location.dialect() == SqlDialect.SQLITE) {
      try (Connection c = connect(location); Statement s = c.createStatement()) {
        s.execute("PRAGMA user_version = " + SQLITE_USER_VERSION);
      }
    }
  }

  private static IOException newerSchema(DatabaseLocation location, String what) {
    return new IOException("the database " + location + " has " + what
        + ", newer than this q2q understands; upgrade q2q");
  }

  private static HikariDataSource newPool(DatabaseLocation location) {
    HikariConfig h = new HikariConfig();
    h.setPoolName("q2q-db");
    h.setConnectionTimeout(10_000);
    if (location.dialect() == SqlDialect.SQLITE) {
      SQLiteConfig sc = new SQLiteConfig();
      sc.setBusyTimeout(5000);
      sc.setJournalMode(SQLiteConfig.JournalMode.WAL);
      sc.enforceForeignKeys(true);
      sc.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
      SQLiteDataSource ds = new SQLiteDataSource(sc);
      ds.setUrl(location.jdbcUrl());
      h.setDataSource(ds);
      // one connection: SQLite has one writer anyway, and the stores' transactions then never wait
      // on each other's locks inside one process
      h.setMaximumPoolSize(1);
    } else {
      h.setJdbcUrl(location.jdbcUrl());
      h.setUsername(location.user());
      h.setPassword(location.password());
      h.setMaximumPoolSize(POSTGRES_POOL_SIZE);
      h.setMinimumIdle(1);
    }
    return new HikariDataSource(h);
  }

  /** Where the database is. */
  public DatabaseLocation location() {
    return location;
  }

  /** The engine, for SQL that differs ({@link SqlDialect#lock}, dialect-only migrations). */
  public SqlDialect dialect() {
    return location.dialect();
  }

  /** The pool: take a connection per unit of work and close it (returns it to the pool). */
  public DataSource dataSource() {
    return pool;
  }

  /** The SQLite file, or empty on PostgreSQL. */
  public Optional<Path> sqliteFile() {
    return Optional.ofNullable(location.sqliteFile());
  }

  /** A unit of work in one transaction. */
  @FunctionalInterface
  public interface Transaction<T> {
    T run(Connection c) throws SQLException;
  }

  /** Runs {@code work} in one transaction: committed if it returns, rolled back if it throws. */
  public <T> T inTransaction(Transaction<T> work) throws SQLException {
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        T result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  /**
   * Records {@code domain} and its CA's fingerprint if the database has none yet (a new database),
   * else checks that they are the ones recorded: every node of a domain must serve with the same CA.
   *
   * @throws IOException naming both fingerprints if they differ
   */
  public void recordOrCheckCa(Address domain, Fingerprint ca) throws IOException {
    try {
      String[] recorded = inTransaction(c -> {
        for (String[] fact : new String[][] {{"domain", domain.domain()}, {"ca_sha256", ca.toString()}}) {
          try (PreparedStatement p = c.prepareStatement(
              "INSERT INTO server_facts(name, value) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
            p.setString(1, fact[0]);
            p.setString(2, fact[1]);
            p.executeUpdate();
          }
        }
        return new String[] {fact(c, "domain"), fact(c, "ca_sha256")};
      });
      if (!recorded[0].equals(domain.domain())) {
        throw new IOException("the database " + location + " belongs to the domain " + recorded[0]
            + ", not " + domain.domain());
      }
      if (!recorded[1].equals(ca.toString())) {
        throw new IOException("the database " + location + " was created with the CA " + recorded[1]
            + " but this node's CA (ca.crt in its data folder) is " + ca
            + "; give every node of " + domain.domain() + " the same ca.crt and ca.key");
      }
    } catch (SQLException e) {
      throw new IOException("cannot read the CA recorded in the database " + location + ": " + e.getMessage(), e);
    }
  }

  private static String fact(Connection c, String name) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT value FROM server_facts WHERE name = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? rs.getString(1) : "";
      }
    }
  }

  /** The message of {@code e} up to its first line break (drivers add hints on further lines). */
  static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    int nl = message.indexOf('\n');
    return (nl < 0 ? message : message.substring(0, nl)).trim();
  }

  @Override
  public void close() {
    pool.close();
  }
}
