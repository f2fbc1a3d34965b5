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
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
 * certificates(serial PK, address, not_after_ms, issued_ms, key_sha256)
 *                                                          serial: hex; key_sha256: hex, null before v2
 * revocations(serial PK, address, revoked_ms, reason)      serials this server no longer honours
 * </pre>
 *
 * <p>Revocation is by serial: a certificate this domain's CA issued is refused by the server (and
 * so never offered to peers) once its serial is in {@code revocations}; {@link Revocations} keeps
 * the in-memory copy the server checks on every call, and notices changes made by another process
 * (the administrator's {@code q2q server revoke}) through {@link #dataVersion()}.
 *
 * The schema version is SQLite's {@code user_version}; a database from a newer q2q is refused.
 * Safe for concurrent use (one connection, calls serialised).
 */
public final class AccountStore implements AutoCloseable {
  /** The database file name inside the data folder. */
  public static final String FILE_NAME = "q2q.db";
  /** The schema version this code writes. */
  static final int SCHEMA_VERSION = 2;

  /** One account. */
  public record Account(Address address, String passwordHash, Instant created) {}

  /** One issued certificate. */
  public record IssuedCertificate(BigInteger serial, Address address, Instant notAfter, Instant issued) {}

  /** One issued certificate and whether it was revoked (for listings). */
  public record CertificateStatus(IssuedCertificate certificate, Optional<Instant> revoked, String reason) {}

  private final Path file;
  private final Clock clock;
  private final Connection db; // guarded by this
  private final List<Runnable> revocationListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

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
      if (version < 1) {
        createVersion1(s);
      }
      // version 1 -> 2: revocations, and the key of each certificate (a renewal replaces the
      // certificates of the same key; the per-account cap counts keys, i.e. devices)
      s.execute("ALTER TABLE certificates ADD COLUMN key_sha256 TEXT");
      s.execute(
          "CREATE TABLE IF NOT EXISTS revocations ("
              + " serial TEXT PRIMARY KEY NOT NULL,"
              + " address TEXT NOT NULL,"
              + " revoked_ms INTEGER NOT NULL,"
              + " reason TEXT NOT NULL)");
      s.execute("PRAGMA user_version = " + SCHEMA_VERSION);
      c.commit();
    } catch (SQLException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  private static void createVersion1(Statement s) throws SQLException {
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

  /** Records a certificate issued for {@code address} (key unknown). */
  public void recordCertificate(BigInteger serial, Address address, Instant notAfter) throws IOException {
    recordCertificate(serial, address, notAfter, null);
  }

  /**
   * Records a certificate issued for {@code address} to the key whose SHA-256 (of its encoding) is
   * {@code keySha256} (hex; null if unknown).
   */
  public synchronized void recordCertificate(BigInteger serial, Address address, Instant notAfter, String keySha256)
      throws IOException {
    try (PreparedStatement p =
        db.prepareStatement(
            "INSERT INTO certificates(serial, address, not_after_ms, issued_ms, key_sha256) VALUES (?, ?, ?, ?, ?)")) {
      p.setString(1, serial.toString(16));
      p.setString(2, address.toString());
      p.setLong(3, notAfter.toEpochMilli());
      p.setLong(4, clock.millis());
      p.setString(5, keySha256);
      p.executeUpdate();
    } catch (SQLException e) {
      throw failure("record a certificate for " + address, e);
    }
  }

  /**
   * Replaces the password hash of an existing account.
   *
   * @return false if there is no such account
   */
  public synchronized boolean changePassword(Address address, String passwordHash) throws IOException {
    try (PreparedStatement p = db.prepareStatement("UPDATE accounts SET password_hash = ? WHERE address = ?")) {
      p.setString(1, passwordHash);
      p.setString(2, address.toString());
      return p.executeUpdate() == 1;
    } catch (SQLException e) {
      throw failure("change the password of " + address, e);
    }
  }

  /** Sets a new password (the administrator's {@code q2q server passwd}); the password is hashed here. */
  public void setPassword(Address address, String password, PasswordHasher hasher) throws IOException {
    if (password.isEmpty()) {
      throw new IllegalArgumentException("the password is empty");
    }
    if (!changePassword(address, hasher.hash(password))) {
      throw new IllegalStateException("there is no account " + address);
    }
  }

  /** Runs {@code listener} after each revocation made through this store (not by other processes). */
  public void onRevocation(Runnable listener) {
    revocationListeners.add(listener);
  }

  private int revoked(int count) {
    if (count > 0) {
      revocationListeners.forEach(Runnable::run);
    }
    return count;
  }

  /**
   * Revokes one certificate of {@code address}.
   *
   * @return false if no such certificate was issued to {@code address} or it is revoked already
   */
  public boolean revoke(Address address, BigInteger serial, String reason) throws IOException {
    return revoked(revokeLocked(address, serial, reason)) == 1;
  }

  private synchronized int revokeLocked(Address address, BigInteger serial, String reason) throws IOException {
    try (PreparedStatement p =
        db.prepareStatement(
            "INSERT OR IGNORE INTO revocations(serial, address, revoked_ms, reason)"
                + " SELECT serial, address, ?, ? FROM certificates WHERE serial = ? AND address = ?")) {
      p.setLong(1, clock.millis());
      p.setString(2, reason);
      p.setString(3, serial.toString(16));
      p.setString(4, address.toString());
      return p.executeUpdate();
    } catch (SQLException e) {
      throw failure("revoke a certificate of " + address, e);
    }
  }

  /**
   * Revokes every certificate of {@code address} not revoked yet, except {@code keep} (null: all).
   *
   * @return how many were revoked
   */
  public int revokeAll(Address address, BigInteger keep, String reason) throws IOException {
    return revoked(revokeAllLocked(address, keep, reason));
  }

  private synchronized int revokeAllLocked(Address address, BigInteger keep, String reason) throws IOException {
    try (PreparedStatement p =
        db.prepareStatement(
            "INSERT OR IGNORE INTO revocations(serial, address, revoked_ms, reason)"
                + " SELECT serial, address, ?, ? FROM certificates WHERE address = ? AND serial <> ?")) {
      p.setLong(1, clock.millis());
      p.setString(2, reason);
      p.setString(3, address.toString());
      p.setString(4, keep == null ? "" : keep.toString(16));
      return p.executeUpdate();
    } catch (SQLException e) {
      throw failure("revoke the certificates of " + address, e);
    }
  }

  /**
   * Revokes the certificates of {@code address} for the key {@code keySha256}, except {@code keep}:
   * a renewal for the same key replaces them.
   *
   * @return how many were revoked
   */
  public int revokeSameKey(Address address, String keySha256, BigInteger keep, String reason)
      throws IOException {
    return revoked(revokeSameKeyLocked(address, keySha256, keep, reason));
  }

  private synchronized int revokeSameKeyLocked(Address address, String keySha256, BigInteger keep, String reason)
      throws IOException {
    try (PreparedStatement p =
        db.prepareStatement(
            "INSERT OR IGNORE INTO revocations(serial, address, revoked_ms, reason)"
                + " SELECT serial, address, ?, ? FROM certificates"
                + " WHERE address = ? AND key_sha256 = ? AND serial <> ?")) {
      p.setLong(1, clock.millis());
      p.setString(2, reason);
      p.setString(3, address.toString());
      p.setString(4, keySha256);
      p.setString(5, keep.toString(16));
      return p.executeUpdate();
    } catch (SQLException e) {
      throw failure("revoke the older certificates of a key of " + address, e);
    }
  }

  /**
   * How many distinct keys (devices) of {@code address} hold a certificate that is neither revoked
   * nor expired at {@code now}; a certificate of unknown key counts as one key.
   */
  public int liveKeys(Address address, Instant now) throws IOException {
    return liveKeysOtherThan(address, "", now);
  }

  /** Like {@link #liveKeys}, not counting the key {@code keySha256} (a renewal of a known device). */
  public synchronized int liveKeysOtherThan(Address address, String keySha256, Instant now) throws IOException {
    try (PreparedStatement p =
        db.prepareStatement(
            "SELECT COUNT(DISTINCT COALESCE(c.key_sha256, 'serial:' || c.serial)) FROM certificates c"
                + " WHERE c.address = ? AND c.not_after_ms > ? AND (c.key_sha256 IS NULL OR c.key_sha256 <> ?)"
                + " AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial)")) {
      p.setString(1, address.toString());
      p.setLong(2, now.toEpochMilli());
      p.setString(3, keySha256);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? rs.getInt(1) : 0;
      }
    } catch (SQLException e) {
      throw failure("count the certificates of " + address, e);
    }
  }

  /** Every revoked serial (the server's revocation list). */
  public synchronized Set<BigInteger> revokedSerials() throws IOException {
    Set<BigInteger> out = new HashSet<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("SELECT serial FROM revocations")) {
      while (rs.next()) {
        out.add(new BigInteger(rs.getString(1), 16));
      }
      return out;
    } catch (SQLException e) {
      throw failure("read the revocations", e);
    }
  }

  /** The certificates issued for {@code address} with their revocation, oldest first. */
  public synchronized List<CertificateStatus> certificateStatuses(Address address) throws IOException {
    List<CertificateStatus> out = new ArrayList<>();
    try (PreparedStatement p =
        db.prepareStatement(
            "SELECT c.serial, c.not_after_ms, c.issued_ms, r.revoked_ms, r.reason FROM certificates c"
                + " LEFT JOIN revocations r ON r.serial = c.serial WHERE c.address = ?"
                + " ORDER BY c.issued_ms, c.serial")) {
      p.setString(1, address.toString());
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          IssuedCertificate c = new IssuedCertificate(new BigInteger(rs.getString(1), 16), address,
              Instant.ofEpochMilli(rs.getLong(2)), Instant.ofEpochMilli(rs.getLong(3)));
          long revoked = rs.getLong(4);
          boolean isRevoked = !rs.wasNull();
          out.add(new CertificateStatus(c, isRevoked ? Optional.of(Instant.ofEpochMilli(revoked)) : Optional.empty(),
              isRevoked ? rs.getString(5) : ""));
        }
      }
      return out;
    } catch (SQLException e) {
      throw failure("list the certificates of " + address, e);
    }
  }

  /**
   * SQLite's {@code data_version} of this connection: it changes when another connection (another
   * process, e.g. {@code q2q server revoke}) commits a change, so a poller can tell cheaply whether
   * to reload.
   */
  public synchronized long dataVersion() throws IOException {
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("PRAGMA data_version")) {
      return rs.next() ? rs.getLong(1) : 0;
    } catch (SQLException e) {
      throw failure("read the data version", e);
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
