package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;

/**
 * A data folder from before Flyway: {@code q2q.db} as the previous AccountStore wrote it (its own
 * migration, {@code user_version} 2) opens with the new code, keeps every row, is baselined at 2
 * and carried to the current schema, and keeps opening afterwards.
 */
class SqliteUpgradeTest {
  private static final Address ALICE = Address.parse("alice@localhost");
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-21T10:00:00Z"), ZoneOffset.UTC);

  @TempDir Path dir;

  /** Exactly the statements of the previous AccountStore.migrate for a new database. */
  private void createVersion2Database() throws Exception {
    Path file = dir.resolve("q2q.db");
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
      s.execute("PRAGMA journal_mode = WAL");
      s.execute("CREATE TABLE IF NOT EXISTS accounts ( address TEXT PRIMARY KEY NOT NULL,"
          + " password_hash TEXT NOT NULL, created_ms INTEGER NOT NULL)");
      s.execute("CREATE TABLE IF NOT EXISTS certificates ( serial TEXT PRIMARY KEY NOT NULL,"
          + " address TEXT NOT NULL REFERENCES accounts(address), not_after_ms INTEGER NOT NULL,"
          + " issued_ms INTEGER NOT NULL)");
      s.execute("CREATE INDEX IF NOT EXISTS certificates_by_address ON certificates(address)");
      s.execute("ALTER TABLE certificates ADD COLUMN key_sha256 TEXT");
      s.execute("CREATE TABLE IF NOT EXISTS revocations ( serial TEXT PRIMARY KEY NOT NULL,"
          + " address TEXT NOT NULL, revoked_ms INTEGER NOT NULL, reason TEXT NOT NULL)");
      s.execute("PRAGMA user_version = 2");
      long until = CLOCK.instant().plus(30, ChronoUnit.DAYS).toEpochMilli();
      s.execute("INSERT INTO accounts VALUES ('alice@localhost', '$argon2id$stored', 1000)");
      s.execute("INSERT INTO certificates VALUES ('a1', 'alice@localhost', " + until + ", 2000, 'laptop')");
      s.execute("INSERT INTO certificates VALUES ('a2', 'alice@localhost', " + until + ", 3000, 'phone')");
      s.execute("INSERT INTO revocations VALUES ('a1', 'alice@localhost', 4000, 'stolen')");
    }
  }

  @Test
  void aVersion2DatabaseIsBaselinedAndCarriedForwardWithoutLoss() throws Exception {
    createVersion2Database();
    try (AccountStore s = AccountStore.open(dir, CLOCK)) {
      assertThat(s.find(ALICE).orElseThrow().passwordHash()).isEqualTo("$argon2id$stored");
      assertThat(s.find(ALICE).orElseThrow().created()).isEqualTo(Instant.ofEpochMilli(1000));
      assertThat(s.certificates(ALICE)).extracting(c -> c.serial().toString(16)).containsExactly("a1", "a2");
      assertThat(s.revokedSerials()).containsExactly(new BigInteger("a1", 16));
      assertThat(s.liveKeys(ALICE, CLOCK.instant())).isEqualTo(1);
      long before = s.dataVersion();
      assertThat(s.revoke(ALICE, new BigInteger("a2", 16), "test")).isTrue(); // the new tables work
      assertThat(s.dataVersion()).isGreaterThan(before);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("q2q.db"));
        Statement st = c.createStatement()) {
      List<String> history = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("SELECT version, type FROM flyway_schema_history ORDER BY installed_rank")) {
        while (rs.next()) {
          history.add(rs.getString(1) + " " + rs.getString(2));
        }
      }
      assertThat(history).containsExactly("2 BASELINE", "3 SQL", "4 SQL"); // every later migration applied
      try (ResultSet rs = st.executeQuery("PRAGMA user_version")) {
        assertThat(rs.getInt(1)).isEqualTo(ServerDatabase.SQLITE_USER_VERSION);
      }
    }
    assertThat(Files.getPosixFilePermissions(dir.resolve("q2q.db"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    try (AccountStore s = AccountStore.open(dir, CLOCK)) { // and it keeps opening
      assertThat(s.revokedSerials()).hasSize(2);
    }
  }
}
