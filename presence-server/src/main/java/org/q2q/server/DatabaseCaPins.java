package org.q2q.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import org.q2q.certstore.CaMismatchException;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.CaPins;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.Fingerprint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CAs of other domains a server learned by federation, pinned in its database (table
 * {@code foreign_cas}): on PostgreSQL every node of the domain trusts the same CA for a domain, and
 * one node's pin holds on the others. Safe for concurrent use (one row per domain, inserted once).
 */
public final class DatabaseCaPins implements CaPins {
  private static final Logger log = LoggerFactory.getLogger(DatabaseCaPins.class);
  /** Where versions before the database kept the pins, one file per domain. */
  public static final String OLD_FOLDER = "federation-cas";

  private final ServerDatabase db;
  private final Clock clock;

  public DatabaseCaPins(ServerDatabase db, Clock clock) {
    this.db = db;
    this.clock = clock;
  }

  /**
   * The pins of {@code db}, after importing those an older version kept in files under {@code
   * dataDir} (the folder is then renamed {@code federation-cas.imported}, so that a forgotten pin
   * does not come back from it).
   */
  public static DatabaseCaPins open(ServerDatabase db, Path dataDir, Clock clock) throws IOException {
    DatabaseCaPins pins = new DatabaseCaPins(db, clock);
    Path old = dataDir.resolve(OLD_FOLDER);
    if (Files.isDirectory(old)) {
      for (Map.Entry<String, X509Certificate> e : new CaPinStore(old).all().entrySet()) {
        try {
          pins.verifyOrPin(e.getKey(), e.getValue(), null);
        } catch (CaMismatchException | CertificateException ex) {
          log.warn("federation pin of {} in {} not imported: {}", e.getKey(), old, ex.getMessage());
        }
      }
      Files.move(old, dataDir.resolve(OLD_FOLDER + ".imported"), StandardCopyOption.REPLACE_EXISTING);
      log.info("imported the federation pins of {} into the database", old);
    }
    return pins;
  }

  @Override
  public Optional<X509Certificate> get(String domain) throws IOException {
    try (Connection c = db.dataSource().getConnection()) {
      return read(c, domain);
    } catch (SQLException e) {
      throw failure("read the pinned CA of " + domain, e);
    }
  }

  @Override
  public boolean verifyOrPin(String domain, X509Certificate ca, Fingerprint expected)
      throws IOException, CaMismatchException, CertificateException {
    CaPins.checkIsCaFor(domain, ca);
    Fingerprint actual = Fingerprint.of(ca);
    if (expected != null && !expected.equals(actual)) {
      throw new CaMismatchException(domain, expected, actual, false);
    }
    int inserted;
    Optional<X509Certificate> pinned;
    try (Connection c = db.dataSource().getConnection()) {
      try (PreparedStatement p = c.prepareStatement(
          "INSERT INTO foreign_cas(domain, ca_pem, pinned_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")) {
        p.setString(1, domain);
        p.setString(2, Certificates.toPem(List.of(ca)));
        p.setLong(3, clock.millis());
        inserted = p.executeUpdate();
      }
      pinned = inserted == 1 ? Optional.of(ca) : read(c, domain); // first pin wins, on any node
    } catch (SQLException e) {
      throw failure("pin the CA of " + domain, e);
    }
    if (pinned.isPresent() && !pinned.get().equals(ca)) {
      throw new CaMismatchException(domain, Fingerprint.of(pinned.get()), actual, true);
    }
    return inserted == 1;
  }

  @Override
  public SortedMap<String, X509Certificate> all() throws IOException {
    SortedMap<String, X509Certificate> out = new TreeMap<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement("SELECT domain, ca_pem FROM foreign_cas");
        ResultSet rs = p.executeQuery()) {
      while (rs.next()) {
        parse(rs.getString(1), rs.getString(2)).ifPresent(ca -> out.put(Certificates.addressOf(ca).orElseThrow()
            .domain(), ca));
      }
    } catch (SQLException e) {
      throw failure("list the pinned CAs", e);
    }
    return out;
  }

  @Override
  public boolean forget(String domain) throws IOException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement p = c.prepareStatement("DELETE FROM foreign_cas WHERE domain = ?")) {
      p.setString(1, domain);
      return p.executeUpdate() > 0;
    } catch (SQLException e) {
      throw failure("forget the CA of " + domain, e);
    }
  }

  private static Optional<X509Certificate> read(Connection c, String domain) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT ca_pem FROM foreign_cas WHERE domain = ?")) {
      p.setString(1, domain);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? parse(domain, rs.getString(1)) : Optional.empty();
      }
    }
  }

  /** A stored pin; one that no longer parses or names another domain is skipped (learned again). */
  private static Optional<X509Certificate> parse(String domain, String pem) {
    try {
      X509Certificate ca = Certificates.fromPem(pem).get(0);
      CaPins.checkIsCaFor(domain, ca);
      return Optional.of(ca);
    } catch (IOException | CertificateException | RuntimeException e) {
      log.warn("the pinned CA of {} in the database is unusable ({}); it will be learned again", domain,
          e.getMessage());
      return Optional.empty();
    }
  }

  private IOException failure(String what, SQLException e) {
    return new IOException("cannot " + what + " in the database " + db.location() + ": " + e.getMessage(), e);
  }
}
