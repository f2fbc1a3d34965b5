package org.q2q.server;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.sql.Connection;
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

/**
 * The presence server's accounts, the certificates it issued and their revocations, in its {@link
 * ServerDatabase} (SQLite by default, or PostgreSQL shared by several nodes).
 *
 * <pre>
 * accounts(address PK, password_hash, created_ms)          password_hash: Argon2id PHC string
 * certificates(serial PK, address, not_after_ms, issued_ms, key_sha256)
 *                                                          serial: hex; key_sha256: hex, null before v2
 * revocations(serial PK, address, revoked_ms, reason)      serials this server no longer honours
 * revisions('revocations', value)                          bumped with every revocation
 * </pre>
 *
 * <p>Revocation is by serial: a certificate this domain's CA issued is refused by the server (and
 * so never offered to peers) once its serial is in {@code revocations}; {@link Revocations} keeps
 * the in-memory copy the server checks on every call, and notices changes made by another process
 * or node (the administrator's {@code q2q server revoke}, Sign on another node) through {@link
 * #dataVersion()}, the revocation counter each revocation bumps in its own transaction.
 *
 * Safe for concurrent use.
 */
public final class AccountStore implements AutoCloseable {
  /** The SQLite file name inside the data folder. */
  public static final String FILE_NAME = DatabaseLocation.SQLITE_FILE_NAME;
  /** SQLite's {@code user_version} this code writes. */
  static final int SCHEMA_VERSION = ServerDatabase.SQLITE_USER_VERSION;

  /** One account. */
  public record Account(Address address, String passwordHash, Instant created) {}

  /** One issued certificate. */
  public record IssuedCertificate(BigInteger serial, Address address, Instant notAfter, Instant issued) {}

  /** One issued certificate and whether it was revoked (for listings). */
  public record CertificateStatus(IssuedCertificate certificate, Optional<Instant> revoked, String reason) {}

  private final ServerDatabase db;
  private final boolean ownsDatabase;
  private final Clock clock;
  private final List<Runnable> revocationListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The accounts in {@code db}, which the caller closes. */
  public AccountStore(ServerDatabase db, Clock clock) {
    this(db, false, clock);
  }

  private AccountStore(ServerDatabase db, boolean ownsDatabase, Clock clock) {
    this.db = db;
    this.ownsDatabase = ownsDatabase;
    this.clock = clock;
  }

  /**
   * Opens (creating if needed) the SQLite database in {@code dataDir}; {@link #close()} closes it.
   *
   * @throws IOException if it cannot be opened or is from a newer version of q2q
   */
  public static AccountStore open(Path dataDir, Clock clock) throws IOException {
    return open(DatabaseLocation.sqlite(dataDir), clock);
  }

  /**
   * Opens the database at {@code location} (the administrator's commands); {@link #close()} closes it.
   *
   * @throws IOException if it cannot be opened or is from a newer version of q2q
   */
  public static AccountStore open(DatabaseLocation location, Clock clock) throws IOException {
    return new AccountStore(ServerDatabase.open(location), true, clock);
  }

  /** The database. */
  public ServerDatabase database() {
    return db;
  }

  /** Where the database is (for messages). */
  public DatabaseLocation location() {
    return db.location();
  }

  /** The account of {@code address}, if any. */
  public Optional<Account> find(Address address) throws IOException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement("SELECT password_hash, created_ms FROM accounts WHERE address = ?")) {
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
  public boolean create(Address address, String passwordHash) throws IOException {
    checkUserAddress(address);
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement(
            "INSERT INTO accounts(address, password_hash, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")) {
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
  public List<Address> addresses() throws IOException {
    List<Address> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement();
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
  public void recordCertificate(BigInteger serial, Address address, Instant notAfter, String keySha256)
      throws IOException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement(
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
  public boolean changePassword(Address address, String passwordHash) throws IOException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement("UPDATE accounts SET password_hash = ? WHERE address = ?")) {
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
    return revoked(revokeWhere("serial = ? AND address = ?", "revoke a certificate of " + address, reason,
        serial.toString(16), address.toString())) == 1;
  }

  /**
   * Revokes every certificate of {@code address} not revoked yet, except {@code keep} (null: all).
   *
   * @return how many were revoked
   */
  public int revokeAll(Address address, BigInteger keep, String reason) throws IOException {
    return revoked(revokeWhere("address = ? AND serial <> ?", "revoke the certificates of " + address,
        reason, address.toString(), keep == null ? "" : keep.toString(16)));
  }

  /**
   * Revokes the certificates of {@code address} for the key {@code keySha256}, except {@code keep}:
   * a renewal for the same key replaces them.
   *
   * @return how many were revoked
   */
  public int revokeSameKey(Address address, String keySha256, BigInteger keep, String reason)
      throws IOException {
    return revoked(revokeWhere("address = ? AND key_sha256 = ? AND serial <> ?",
        "revoke the older certificates of a key of " + address, reason, address.toString(), keySha256,
        keep.toString(16)));
  }

  /**
   * Revokes the issued certificates matching {@code where} (with {@code args} after the reason) and
   * bumps the revocation counter in the same transaction, so that pollers cannot miss it.
   */
  private int revokeWhere(String where, String what, String reason, String... args) throws IOException {
    try {
      return db.inTransaction(c -> {
        int n;
        try (PreparedStatement p = c.prepareStatement(
            "INSERT INTO revocations(serial, address, revoked_ms, reason)"
                + " SELECT serial, address, ?, ? FROM certificates WHERE " + where + " ON CONFLICT DO NOTHING")) {
          p.setLong(1, clock.millis());
          p.setString(2, reason);
          for (int i = 0; i < args.length; i++) {
            p.setString(3 + i, args[i]);
          }
          n = p.executeUpdate();
        }
        if (n > 0) {
          try (PreparedStatement p = c.prepareStatement(
              "UPDATE revisions SET value = value + 1 WHERE name = 'revocations'")) {
            p.executeUpdate();
          }
        }
        return n;
      });
    } catch (SQLException e) {
      throw failure(what, e);
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
  public int liveKeysOtherThan(Address address, String keySha256, Instant now) throws IOException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement(
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
  public Set<BigInteger> revokedSerials() throws IOException {
    Set<BigInteger> out = new HashSet<>();
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT serial FROM revocations")) {
      while (rs.next()) {
        out.add(new BigInteger(rs.getString(1), 16));
      }
      return out;
    } catch (SQLException e) {
      throw failure("read the revocations", e);
    }
  }

  /** The certificates issued for {@code address} with their revocation, oldest first. */
  public List<CertificateStatus> certificateStatuses(Address address) throws IOException {
    List<CertificateStatus> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement(
            "SELECT c.serial, c.not_after_ms, c.issued_ms, r.revoked_ms, r.reason FROM certificates c"
                + " LEFT JOIN revocations r ON r.serial = c.serial WHERE c.address = ?"
                + " ORDER BY c.issued_ms, c.serial")) {
      p.setString(1, address.toString());
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          IssuedCertificate cert = new IssuedCertificate(new BigInteger(rs.getString(1), 16), address,
              Instant.ofEpochMilli(rs.getLong(2)), Instant.ofEpochMilli(rs.getLong(3)));
          long revoked = rs.getLong(4);
          boolean isRevoked = !rs.wasNull();
          out.add(new CertificateStatus(cert, isRevoked ? Optional.of(Instant.ofEpochMilli(revoked)) : Optional.empty(),
              isRevoked ? rs.getString(5) : ""));
        }
      }
      return out;
    } catch (SQLException e) {
      throw failure("list the certificates of " + address, e);
    }
  }

  /**
   * The revocation counter: it changes with every revocation, made by this store, another process
   * ({@code q2q server revoke}) or another node, so a poller can tell cheaply whether to reload.
   */
  public long dataVersion() throws IOException {
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT value FROM revisions WHERE name = 'revocations'")) {
      return rs.next() ? rs.getLong(1) : 0;
    } catch (SQLException e) {
      throw failure("read the revocation counter", e);
    }
  }

  /** The certificates issued for {@code address}, oldest first. */
  public List<IssuedCertificate> certificates(Address address) throws IOException {
    List<IssuedCertificate> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement(
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

  /** Closes the database if this store opened it ({@link #open}). */
  @Override
  public void close() {
    if (ownsDatabase) {
      db.close();
    }
  }

  /** The SQLite file ({@code q2q.db} in the data folder). */
  public Path file() {
    return db.sqliteFile().orElseThrow(() -> new IllegalStateException("the database is not SQLite: " + location()));
  }

  private static void checkUserAddress(Address address) {
    if (address.isDomain()) {
      throw new IllegalArgumentException(
          "'" + address + "' is a domain; accounts are for user addresses (name@domain)");
    }
  }

  private IOException failure(String what, SQLException e) {
    return new IOException("cannot " + what + " in " + location() + ": " + e.getMessage(), e);
  }
}
