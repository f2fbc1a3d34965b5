package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client home: identities (key 0600, folders 0700), servers, pins. */
class ClientHomeTest {
  @TempDir Path dir;
  private final CertificateAuthority ca = CertificateAuthority.create(Address.ofDomain("example.com"), Clock.systemUTC());

  @Test
  void anIdentityRoundTripsWithPrivateFileModes() throws Exception {
    ClientHome home = new ClientHome(dir.resolve("home"));
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    home.save(alice);

    Identity loaded = new ClientHome(dir.resolve("home")).load(alice.address()).orElseThrow();
    assertThat(loaded.chain()).isEqualTo(alice.chain());
    assertThat(((java.security.interfaces.ECPrivateKey) loaded.privateKey()).getS())
        .isEqualTo(((java.security.interfaces.ECPrivateKey) alice.privateKey()).getS());

    Path idDir = dir.resolve("home/identities/alice@example.com");
    assertThat(Files.getPosixFilePermissions(idDir.resolve("key.pem"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    for (Path d : new Path[] {dir.resolve("home"), dir.resolve("home/identities"), idDir}) {
      assertThat(Files.getPosixFilePermissions(d)).as(d.toString()).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    }
    assertThat(home.addresses()).containsExactly(alice.address());
  }

  @Test
  void aKeyReadableByOthersIsRefused() throws Exception {
    ClientHome home = new ClientHome(dir);
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    home.save(alice);
    Path key = dir.resolve("identities/alice@example.com/key.pem");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> home.load(alice.address()))
        .hasMessageContaining("rw-r--r--").hasMessageContaining("chmod 600");
  }

  @Test
  void serversAreRememberedPerIdentityAndMissingThingsAreEmpty() throws Exception {
    ClientHome home = new ClientHome(dir);
    Address alice = Address.parse("alice@example.com");
    assertThat(home.load(alice)).isEmpty();
    assertThat(home.server(alice)).isEmpty();
    assertThat(home.addresses()).isEmpty();
    home.saveServer(alice, "127.0.0.1:8788");
    assertThat(home.server(alice)).contains("127.0.0.1:8788");
    assertThat(home.addresses()).isEmpty(); // a server alone is not an identity
  }

  @Test
  void theHomeComesFromQ2qHomeOrDefaultsToDotQ2q() {
    assertThat(ClientHome.fromEnvironment(Map.of("Q2Q_HOME", dir.toString())).root()).isEqualTo(dir.toAbsolutePath());
    assertThat(ClientHome.fromEnvironment(Map.of()).root())
        .isEqualTo(Path.of(System.getProperty("user.home"), ".q2q").toAbsolutePath());
    // a changed HOME counts (Java's user.home would ignore it), and Q2Q_HOME wins over it
    assertThat(ClientHome.fromEnvironment(Map.of("HOME", dir.toString())).root())
        .isEqualTo(dir.resolve(".q2q").toAbsolutePath());
    assertThat(ClientHome.fromEnvironment(Map.of("HOME", "/elsewhere", "Q2Q_HOME", dir.toString())).root())
        .isEqualTo(dir.toAbsolutePath());
  }
}
