package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.PasswordHasher;
import org.q2q.server.internal.registration.DomainRateLimits;
import org.q2q.server.internal.registration.DomainRateLimits.Window;

/**
 * What the server's database does, the same on every engine: {@link SqliteDatabaseTest} and
 * {@link PostgresDatabaseTest} run it. "Another node" is a second {@link ServerDatabase} opened
 * on the same database (on SQLite: another process on the same file, such as {@code q2q server
 * revoke}).
 */
@Timeout(60)
abstract class ServerDatabaseContract {
  private static final Address ALICE = Address.parse("alice@localhost");
  private static final Address BOB = Address.parse("bob@localhost");
  private static final PasswordHasher FAST = new PasswordHasher(64, 1, 1);

  protected final MutableClock clock = new MutableClock();
  private ServerDatabase db;
  private ServerDatabase other;

  /** The database under test; the same one every time it is called within a test class. */
  abstract DatabaseLocation location() throws Exception;

  @BeforeEach
  void openAndEmpty() throws Exception {
    db = ServerDatabase.open(location());
    other = ServerDatabase.open(location());
    db.inTransaction(c -> {
      try (Statement s = c.createStatement()) {
        for (String table : List.of("revocations", "certificates", "accounts", "server_facts", "password_failures",
            "rate_buckets", "foreign_cas")) {
          s.executeUpdate("DELETE FROM " + table);
        }
      }
      return null;
    });
  }

  @AfterEach
  void close() {
    if (other != null) {
      other.close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void accountsCertificatesAndRevocations() throws Exception {
    AccountStore s = new AccountStore(db, clock);
    s.addAccount(BOB, "bob-pw", FAST);
    s.addAccount(ALICE, "secret", FAST);
    assertThat(s.create(ALICE, "other")).isFalse();
    assertThatThrownBy(() -> s.addAccount(ALICE, "x", FAST)).hasMessageContaining("already exists");
    assertThat(s.addresses()).containsExactly(ALICE, BOB);
    assertThat(s.find(ALICE).orElseThrow().created()).isEqualTo(clock.instant().truncatedTo(ChronoUnit.MILLIS));
    assertThat(s.changePassword(ALICE, FAST.hash("new"))).isTrue();
    assertThat(FAST.verify("new", s.find(ALICE).orElseThrow().passwordHash())).isTrue();
    assertThat(s.changePassword(Address.parse("nobody@localhost"), "h")).isFalse();

    Instant until = clock.instant().plus(365, ChronoUnit.DAYS).truncatedTo(ChronoUnit.MILLIS);
    s.recordCertificate(BigInteger.valueOf(1), ALICE, until, "laptop");
    s.recordCertificate(BigInteger.valueOf(2), ALICE, until, "phone");
    s.recordCertificate(BigInteger.valueOf(3), ALICE, until, "phone"); // renewal of the phone
    s.recordCertificate(BigInteger.valueOf(4), BOB, until);
    assertThat(s.liveKeys(ALICE, clock.instant())).isEqualTo(2);
    assertThat(s.liveKeysOtherThan(ALICE, "phone", clock.instant())).isEqualTo(1);
    assertThat(s.revokeSameKey(ALICE, "phone", BigInteger.valueOf(3), "renewed")).isEqualTo(1);
    assertThat(s.revoke(ALICE, BigInteger.valueOf(4), "not hers")).isFalse();
    assertThat(s.revokeAll(ALICE, BigInteger.valueOf(3), "stolen")).isEqualTo(1);
    assertThat(s.revokeAll(ALICE, BigInteger.valueOf(3), "again")).isZero();
    assertThat(s.revokedSerials()).containsExactlyInAnyOrder(BigInteger.valueOf(1), BigInteger.valueOf(2));
    assertThat(s.liveKeys(ALICE, clock.instant())).isEqualTo(1);
    assertThat(s.liveKeys(ALICE, until)).isZero(); // expired by then
    assertThat(s.certificateStatuses(ALICE)).extracting(c -> c.certificate().serial().intValue() + " " + c.reason())
        .containsExactly("1 stolen", "2 renewed", "3 ");
    assertThat(s.certificates(BOB)).singleElement().satisfies(c -> assertThat(c.notAfter()).isEqualTo(until));
  }

  @Test
  void aRevocationThroughOneNodeIsSeenByAnother() throws Exception {
    AccountStore here = new AccountStore(db, clock);
    AccountStore there = new AccountStore(other, clock);
    here.addAccount(ALICE, "pw", FAST);
    here.recordCertificate(BigInteger.TEN, ALICE, clock.instant().plus(1, ChronoUnit.DAYS));
    Revocations seenThere = Revocations.of(there);
    assertThat(seenThere.refresh()).isFalse();

    assertThat(here.revoke(ALICE, BigInteger.TEN, "stolen")).isTrue();

    assertThat(seenThere.refresh()).isTrue();
    assertThat(seenThere.isRevoked(BigInteger.TEN)).isTrue();
    assertThat(seenThere.refresh()).isFalse();
  }

  @Test
  void theFirstCaIsRecordedAndAnotherIsRefused() throws Exception {
    Address domain = Address.ofDomain("localhost");
    CertificateAuthority ca = CertificateAuthority.create(domain, clock);
    db.recordOrCheckCa(domain, ca.fingerprint());
    other.recordOrCheckCa(domain, ca.fingerprint()); // a second node with the same CA files

    CertificateAuthority foreign = CertificateAuthority.create(domain, clock);
    assertThatThrownBy(() -> other.recordOrCheckCa(domain, foreign.fingerprint()))
        .hasMessageContaining("was created with the CA " + ca.fingerprint())
        .hasMessageContaining("this node's CA (ca.crt in its data folder) is " + foreign.fingerprint());
    assertThatThrownBy(() -> other.recordOrCheckCa(Address.ofDomain("example.com"), ca.fingerprint()))
        .hasMessageContaining("belongs to the domain localhost, not example.com");
  }

  @Test
  void aFullFailureWindowBlocksOnEveryNodeUntilItsOldestFailureAgesOut() throws Exception {
    DomainRateLimits here = new DomainRateLimits(db, clock);
    DomainRateLimits there = new DomainRateLimits(other, clock);
    Window k = new Window("k", 5, Duration.ofMinutes(1));
    for (int i = 0; i < 5; i++) {
      assertThat((i % 2 == 0 ? here : there).tryReserve(List.of(k)).reservation()).isNotNull();
      clock.advance(Duration.ofSeconds(10));
    }
    // failures at t=0,10,20,30,40; now t=50: free again at t=60, on both nodes
    assertThat(here.tryReserve(List.of(k)).blocked().remaining()).isEqualTo(Duration.ofSeconds(10));
    assertThat(there.tryReserve(List.of(k)).blocked().remaining()).isEqualTo(Duration.ofSeconds(10));
    clock.advance(Duration.ofSeconds(10));
    assertThat(there.tryReserve(List.of(k)).reservation()).isNotNull(); // failures at 10..60
    assertThat(here.tryReserve(List.of(k)).blocked().remaining()).isEqualTo(Duration.ofSeconds(10));
    // other keys are independent
    assertThat(here.tryReserve(List.of(new Window("other", 5, Duration.ofMinutes(1)))).reservation()).isNotNull();
  }

  @Test
  void aSuccessRefundsItsReservationAndARefusalCountsNothing() throws Exception {
    DomainRateLimits limits = new DomainRateLimits(db, clock);
    Window pair = new Window("pair", 5, Duration.ofMinutes(1));
    Window address = new Window("address", 2, Duration.ofMinutes(1));
    DomainRateLimits.Reservation first = limits.tryReserve(List.of(pair, address)).reservation();
    assertThat(limits.tryReserve(List.of(pair, address)).reservation()).isNotNull();
    DomainRateLimits.Blocked b = limits.tryReserve(List.of(pair, address)).blocked();
    assertThat(b.window()).isEqualTo(address);
    limits.refund(first); // that one had the right password
    assertThat(limits.tryReserve(List.of(pair, address)).reservation()).isNotNull();
    // the pair has 2 now (the refused attempt counted nothing, the refunded one no longer counts)
    for (int i = 3; i <= 5; i++) {
      assertThat(limits.tryReserve(List.of(pair)).reservation()).as("attempt %d", i).isNotNull();
    }
    assertThat(limits.tryReserve(List.of(pair)).blocked()).isNotNull();
  }

  @Test
  void tokenBucketsRefillAtTheirRateAndAreShared() throws Exception {
    DomainRateLimits here = new DomainRateLimits(db, clock);
    DomainRateLimits there = new DomainRateLimits(other, clock);
    assertThat(here.tryTake("creations", "net", 2, 1.0 / 60)).isZero();
    assertThat(there.tryTake("creations", "net", 2, 1.0 / 60)).isZero();
    assertThat(here.tryTake("creations", "net", 2, 1.0 / 60)).isEqualTo(60);
    assertThat(there.tryTake("creations", "other-net", 2, 1.0 / 60)).isZero();
    clock.advance(Duration.ofSeconds(30));
    assertThat(there.tryTake("creations", "net", 2, 1.0 / 60)).isEqualTo(30);
    clock.advance(Duration.ofSeconds(30));
    assertThat(there.tryTake("creations", "net", 2, 1.0 / 60)).isZero();
  }

  @Test
  void aSchemaFromANewerQ2qIsRefused() throws Exception {
    try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script,"
          + " checksum, installed_by, execution_time, success)"
          + " VALUES (99, '99', 'from the future', 'SQL', 'V99__future.sql', 0, 'test', 0, true)");
    }
    try {
      assertThatThrownBy(() -> ServerDatabase.open(location()))
          .hasMessageContaining("schema version 99").hasMessageContaining("upgrade q2q");
    } finally {
      try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
        s.executeUpdate("DELETE FROM flyway_schema_history WHERE version = '99'");
      }
    }
  }

  @Test
  void aForeignCaPinnedThroughOneNodeHoldsOnAnotherUntilForgotten() throws Exception {
    java.security.cert.X509Certificate otherCa = org.q2q.certstore.CertificateAuthority.create(
        Address.ofDomain("other.org"), java.time.Clock.systemUTC()).certificate();
    java.security.cert.X509Certificate impostor = org.q2q.certstore.CertificateAuthority.create(
        Address.ofDomain("other.org"), java.time.Clock.systemUTC()).certificate();
    DatabaseCaPins here = new DatabaseCaPins(db, clock);
    DatabaseCaPins there = new DatabaseCaPins(this.other, clock);

    assertThat(here.verifyOrPin("other.org", otherCa, null)).isTrue();
    assertThat(here.verifyOrPin("other.org", otherCa, null)).isFalse(); // already pinned
    assertThat(there.get("other.org")).contains(otherCa);
    assertThat(there.all()).containsOnlyKeys("other.org");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> there.verifyOrPin("other.org", impostor, null))
        .isInstanceOf(org.q2q.certstore.CaMismatchException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> there.verifyOrPin("another.org", otherCa, null))
        .isInstanceOf(java.security.cert.CertificateException.class); // names another domain

    assertThat(there.forget("other.org")).isTrue();
    assertThat(here.get("other.org")).isEmpty();
    assertThat(here.forget("other.org")).isFalse();
    assertThat(here.verifyOrPin("other.org", impostor, null)).isTrue(); // learned again on first use
  }

  @Test
  void pinsAnOlderVersionKeptInFilesAreImportedOnce(@org.junit.jupiter.api.io.TempDir java.nio.file.Path data)
      throws Exception {
    java.security.cert.X509Certificate otherCa = org.q2q.certstore.CertificateAuthority.create(
        Address.ofDomain("other.org"), java.time.Clock.systemUTC()).certificate();
    new org.q2q.certstore.CaPinStore(data.resolve(DatabaseCaPins.OLD_FOLDER)).verifyOrPin("other.org", otherCa, null);

    DatabaseCaPins pins = DatabaseCaPins.open(db, data, clock);
    assertThat(pins.get("other.org")).contains(otherCa);
    assertThat(data.resolve(DatabaseCaPins.OLD_FOLDER)).doesNotExist();
    assertThat(data.resolve(DatabaseCaPins.OLD_FOLDER + ".imported")).isDirectory();
    assertThat(pins.forget("other.org")).isTrue();
    assertThat(DatabaseCaPins.open(db, data, clock).get("other.org")).isEmpty(); // a forgotten pin stays forgotten
  }
}
