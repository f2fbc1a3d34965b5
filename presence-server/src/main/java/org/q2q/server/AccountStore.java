package org.q2q.server;

import java.io.IOException;
import java.math.BigInteger;
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
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.q2q.certstore.Address;
import org.q2q.certstore.PasswordHasher;
import org.q2q.certstore.SecureFiles;

/**
 * The presence server's accounts and issued certificates, in an embedded SQLite database
 * ({@code q2q.db} in the data folder, mode 0600, WAL journal so the server and an offline
 * {@code q2q server adduser} can use it at the same time).
 *
 * <pre>
 * accounts(address PK, password_hash, created_ms)          password_hash: Argon2id PHC string
 * certificates(serial PK, address, not_after_ms, issued_ms) serial: hex
 * </pre>
 *
 * The schema version is SQLite's {@code user_version}; a database from a newer q2q is refused.
 * Safe for concurrent use (one connection, calls serialised).
 */
public final class AccountStore implements AutoCloseable {
  /** The database file name inside the data folder. */
  public static final String FILE_NAME = "q2q.db";
  /** The schema version this code writes. */
  static final int SCHEMA_VERSION = 1;

  /** One account. */
  public record Account(Address address, String passwordHash, Instant created) {}

  /** One issued certificate. */
  public record IssuedCertificate(BigInteger serial, Address address, Instant notAfter, Instant issued) {}

  private final Path file;
  private final Clock clock;
  private final Connection db; // guarded by this

  private AccountStore(Path file, Clock clock, Connection db) {
    this.file = file;
    this.clock = clock;
    this.db = db;
  }

  /**
   * Opens (creating if needed) the database in {@code dataDir}.
   *
   * @throws IOException if it cannot be opened or is from a newer version of q2q
   */
  public static AccountStore open(Path dataDir, Clock clock) throws IOException {
    Path dir = SecureFiles.createPrivateDirectories(dataDir);
    Path file = dir.resolve(FILE_NAME);
    createPrivateFile(file);
    Connection c = null;
    try {
      c = DriverManager.getConnection("jdbc:sqlite:" + file);
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA busy_timeout = 5000");
        s.execute("PRAGMA journal_mode = WAL");
        s.execute("PRAGMA foreign_keys = ON");
      }
      migrate(c, file);
      return new AccountStore(file, clock, c);
    } catch (SQLException e) {
      closeQuietly(c);
      throw new IOException("cannot open the account database " + file + ": " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      closeQuietly(c);
      throw e;
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

  private static void migrate(Connection c, Path file) throws SQLException, IOException {
    int version;
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
      version = rs.next() ? rs.getInt(1) : 0;
    }
    if (version > SCHEMA_VERSION) {
      throw new IOException(
          "the account database " + file + " has schema version " + version
              + ", newer than this q2q understands (" + SCHEMA_VERSION + "); upgrade q2q");
    }
    if (version == SCHEMA_VERSION) {
      return;
    }
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      // version 0 -> 1
      s.execute(
          "CREATE TABLE IF NOT EXISTS accounts ("
              + " address TEXT PRIMARY KEY NOT NULL,"
              + " password_hash TEXT NOT NULL,"
              + " created_ms INTEGER NOT NULL)");
      s.execute(
          "CREATE TABLE IF NOT EXISTS certificates ("
              + " serial TEXT PRIMARY KEY NOT NULL,"
              + " address TEXT NOT NULL REFERENCES accounts(address),"
              + " not_after_ms INTEGER NOT NULL,"
              + " issued_ms INTEGER NOT NULL)");
      s.execute("CREATE INDEX IF NOT EXISTS certificates_by_address ON certificates(address)");
      s.execute("PRAGMA user_version = " + SCHEMA_VERSION);
      c.commit();
    } catch (SQLException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  /** The database file. */
  public Path file() {
    return file;
  }

  /** The account of {@code address}, if any. */
  public synchronized Optional<Account> find(Address address) throws IOException {
    try (PreparedStatement p =
        db.prepareStatement("SELECT password_hash, created_ms FROM accounts WHERE address = ?")) {
      p.setString(1, address.toString());
      try (ResultSet rs = p.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new Account(address, rs.getString(1), Instant.ofEpochMilli(rs.getLong(2))));
      }
    } catch (SQLException e) {
      throw failure("read the account of " + address, e);
    }
  }

  /**
   * Creates an account with an already hashed password.
   *
   * @return false (and changes nothing) if the account exists
   */
  public synchronized boolean create(Address address, String passwordHash) throws IOException {
    checkUserAddress(address);
    try (PreparedStatement p =
        db.prepareStatement(
            "INSERT OR IGNORE INTO accounts(address, password_hash, created_ms) VALUES (?, ?, ?)")) {
      p.setString(1, address.toString());
      p.setString(2, passwordHash);
      p.setLong(3, clock.millis());
      return p.executeUpdate() == 1;
    } catch (SQLException e) {
      throw failure("create the account " + address, e);
    }
  }

  /**
   * Adds an account (the administrator's {@code q2q server adduser}); the password is hashed here.
   *
   * @throws IllegalStateException if the account already exists
   */
  public void addAccount(Address address, String password, PasswordHasher hasher) throws IOException {
    checkUserAddress(address);
    if (password.isEmpty()) {
      throw new IllegalArgumentException("the password is empty");
    }
    if (!create(address, hasher.hash(password))) {
      throw new IllegalStateException("the account " + address + " already exists");
    }
  }

  /** Every account's address, sorted. */
  public synchronized List<Address> addresses() throws IOException {
    List<Address> out = new ArrayList<>();
    try (Statement s = db.createStatement();
        ResultSet rs = s.executeQuery("SELECT address FROM accounts ORDER BY address")) {
      while (rs.next()) {
        out.add(Address.parse(rs.getString(1)));
      }
      return out;
    } catch (SQLException e) {
      throw failure("list the accounts", e);
    }
  }

  /** Records a certificate issued for {@code address}. */
  public synchronized void recordCertificate(BigInteger serial, Address address, Instant notAfter)
      throws IOException {
    try (PreparedStatement p =
        db.prepareStatement(
            "INSERT INTO certificates(serial, address, not_after_ms, issued_ms) VALUES (?, ?, ?, ?)")) {
      p.setString(1, serial.toString(16));
      p.setString(2, address.toString());
      p.setLong(3, notAfter.toEpochMilli());
      p.setLong(4, clock.millis());
      p.executeUpdate();
    } catch (SQLException e) {
      throw failure("record a certificate for " + address, e);
    }
  }

  /** The certificates issued for {@code address}, oldest first. */
  public synchronized List<IssuedCertificate> certificates(Address address) throws IOException {
    List<IssuedCertificate> out = new ArrayList<>();
    try (PreparedStatement p =
        db.prepareStatement(
            "SELECT serial, not_after_ms, issued_ms FROM certificates WHERE address = ?"
                + " ORDER BY issued_ms, serial")) {
      p.setString(1, address.toString());
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          out.add(new IssuedCertificate(new BigInteger(rs.getString(1), 16), address,
              Instant.ofEpochMilli(rs.getLong(2)), Instant.ofEpochMilli(rs.getLong(3))));
        }
      }
      return out;
    } catch (SQLException e) {
      throw failure("list the certificates of " + address, e);
    }
  }

  @Override
  public synchronized void close() {
    closeQuietly(db);
  }

  private static void checkUserAddress(Address address) {
    if (address.isDomain()) {
      throw new IllegalArgumentException(
          "'" + address + "' is a domain; accounts are for user addresses (name@domain)");
    }
  }

  private IOException failure(String what, SQLException e) {
    return new IOException("cannot " + what + " in " + file + ": " + e.getMessage(), e);
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // closing: nothing left to do
      }
    }
  }
}
