package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.PasswordHasher;

/** The SQLite account database, on real files. */
class AccountStoreTest {
  private static final Address ALICE = Address.parse("alice@localhost");
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-21T10:00:00Z"), ZoneOffset.UTC);
  /** Cheap Argon2 parameters: these tests are about storage, not hashing cost. */
  private static final PasswordHasher FAST = new PasswordHasher(64, 1, 1);

  @TempDir Path dir;

  @Test
  void accountsAndCertificatesSurviveReopening() throws Exception {
    try (AccountStore s = AccountStore.open(dir, CLOCK)) {
      assertThat(s.find(ALICE)).isEmpty();
      s.addAccount(ALICE, "secret", FAST);
      assertThat(s.create(ALICE, "other-hash")).isFalse();
      s.recordCertificate(BigInteger.valueOf(0xabcdef), ALICE, CLOCK.instant().plus(365, ChronoUnit.DAYS));
    }
    try (AccountStore s = AccountStore.open(dir, CLOCK)) {
      AccountStore.Account a = s.find(ALICE).orElseThrow();
      assertThat(a.created()).isEqualTo(CLOCK.instant());
      assertThat(FAST.verify("secret", a.passwordHash())).isTrue();
      assertThat(s.addresses()).containsExactly(ALICE);
      assertThat(s.certificates(ALICE)).singleElement().satisfies(c -> {
        assertThat(c.serial()).isEqualTo(BigInteger.valueOf(0xabcdef));
        assertThat(c.notAfter()).isEqualTo(CLOCK.instant().plus(365, ChronoUnit.DAYS));
      });
    }
  }

  @Test
  void theDatabaseIsPrivateVersionedAndInWalMode() throws Exception {
    try (AccountStore s = AccountStore.open(dir.resolve("data"), CLOCK)) {
      s.addAccount(ALICE, "secret", FAST);
      assertThat(Files.getPosixFilePermissions(s.file())).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      assertThat(Files.getPosixFilePermissions(dir.resolve("data"))).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("data/q2q.db"));
        Statement st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
        assertThat(rs.getString(1)).isEqualTo("wal");
      }
      try (ResultSet rs = st.executeQuery("PRAGMA user_version")) {
        assertThat(rs.getInt(1)).isEqualTo(AccountStore.SCHEMA_VERSION);
      }
      st.execute("PRAGMA user_version = 99");
    }
    assertThatThrownBy(() -> AccountStore.open(dir.resolve("data"), CLOCK))
        .hasMessageContaining("schema version 99").hasMessageContaining("upgrade q2q");
  }

  @Test
  void domainsAndEmptyPasswordsAreNotAccounts() throws Exception {
    try (AccountStore s = AccountStore.open(dir, CLOCK)) {
      assertThatThrownBy(() -> s.addAccount(Address.parse("localhost"), "pw", FAST)).hasMessageContaining("is a domain");
      assertThatThrownBy(() -> s.addAccount(ALICE, "", FAST)).hasMessageContaining("empty");
      assertThat(s.addresses()).isEmpty();
    }
  }

  @Test
  void twoStoresOnOneDatabaseSeeEachOthersWrites() throws Exception {
    try (AccountStore server = AccountStore.open(dir, CLOCK); AccountStore admin = AccountStore.open(dir, CLOCK)) {
      assertThat(server.find(ALICE)).isEmpty();
      admin.addAccount(ALICE, "secret", FAST);
      assertThat(server.find(ALICE)).isPresent();
    }
  }

  @Test
  void aVersion1DatabaseIsUpgradedKeepingItsAccountsAndCertificates() throws Exception {
    Files.createDirectories(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(AccountStore.FILE_NAME));
        Statement st = c.createStatement()) {
      // the schema q2q wrote before revocations existed
      st.execute("CREATE TABLE accounts (address TEXT PRIMARY KEY NOT NULL, password_hash TEXT NOT NULL,"
          + " created_ms INTEGER NOT NULL)");
      st.execute("CREATE TABLE certificates (serial TEXT PRIMARY KEY NOT NULL,"
          + " address TEXT NOT NULL REFERENCES accounts(address), not_after_ms INTEGER NOT NULL,"
          + " issued_ms INTEGER NOT NULL)");
      st.execute("INSERT INTO accounts VALUES ('alice@localhost', 'hash', 1)");
      st.execute("INSERT INTO certificates VALUES ('abc', 'alice@localhost', "
          + CLOCK.instant().plus(1, ChronoUnit.DAYS).toEpochMilli() + ", 1)");
      st.execute("PRAGMA user_version = 1");
    }
    try (AccountStore s = AccountStore.open(dir, CLOCK)) {
      assertThat(s.find(ALICE)).isPresent();
      assertThat(s.liveKeys(ALICE, CLOCK.instant())).isEqualTo(1);
      assertThat(s.revoke(ALICE, new BigInteger("abc", 16), "test")).isTrue();
      assertThat(s.revokedSerials()).containsExactly(new BigInteger("abc", 16));
      assertThat(s.liveKeys(ALICE, CLOCK.instant())).isZero();
    }
  }
}
