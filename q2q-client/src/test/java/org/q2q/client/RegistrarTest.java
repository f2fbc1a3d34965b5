package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.ChainValidator;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.Identity;
import org.q2q.server.LoopbackServer;

/** Registrar against a real presence server over TLS on loopback. */
@Timeout(60)
class RegistrarTest {
  private static final Address ALICE = Address.parse("alice@localhost");
  private final Registrar registrar = new Registrar();

  @Test
  void registersPinsTheCaAndStoresAPrivateIdentity(@TempDir Path dir) throws Exception {
    ClientHome home = new ClientHome(dir.resolve("home"));
    try (LoopbackServer s = LoopbackServer.start()) {
      ServerAddress server = ServerAddress.parse(s.hostPort());
      Registrar.Registration r = registrar.register(ALICE, "secret", server, null, home);

      assertThat(r.newlyPinned()).isTrue();
      assertThat(r.caFingerprint()).isEqualTo(s.server().ca().fingerprint());
      assertThat(home.pins().get("localhost")).contains(s.server().ca().certificate());
      Identity stored = home.load(ALICE).orElseThrow();
      assertThat(stored.certificate()).isEqualTo(r.identity().certificate());
      assertThat(ChainValidator.validate(stored.chain(), s.server().ca().certificate(), Instant.now()))
          .isEqualTo(ALICE);
      assertThat(home.server(ALICE)).contains(s.hostPort());
      Path key = r.storedAt().resolve("key.pem");
      assertThat(Files.getPosixFilePermissions(key)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
      assertThat(Files.getPosixFilePermissions(r.storedAt())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
      assertThat(s.server().accounts().certificates(ALICE)).hasSize(1);
    }
  }

  @Test
  void reRegisteringFromASecondHomeGivesThatHomeItsOwnKeyAndCertificate(@TempDir Path dir) throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      ServerAddress server = ServerAddress.parse(s.hostPort());
      Registrar.Registration first = registrar.register(ALICE, "secret", server, null, new ClientHome(dir.resolve("a")));
      Registrar.Registration second = registrar.register(ALICE, "secret", server, null, new ClientHome(dir.resolve("b")));

      assertThat(second.newlyPinned()).isTrue();
      assertThat(second.identity().privateKey()).isNotEqualTo(first.identity().privateKey());
      assertThat(second.identity().certificate().getSerialNumber())
          .isNotEqualTo(first.identity().certificate().getSerialNumber());
      assertThat(s.server().accounts().certificates(ALICE)).hasSize(2);
    }
  }

  @Test
  void aWrongPasswordIsRefusedAndStoresNothing(@TempDir Path dir) throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      ServerAddress server = ServerAddress.parse(s.hostPort());
      registrar.register(ALICE, "secret", server, null, new ClientHome(dir.resolve("a")));
      ClientHome other = new ClientHome(dir.resolve("b"));

      assertThatThrownBy(() -> registrar.register(ALICE, "guess", server, null, other))
          .isInstanceOfSatisfying(Q2qException.class, e -> {
            assertThat(e.reason()).isEqualTo(Q2qException.Reason.PERMISSION);
            assertThat(e.getMessage()).isEqualTo("wrong password for alice@localhost");
          });
      assertThat(other.load(ALICE)).isEmpty();
    }
  }

  @Test
  void aGivenCaFingerprintMustMatch(@TempDir Path dir) throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      ServerAddress server = ServerAddress.parse(s.hostPort());
      Fingerprint wrong = Fingerprint.parse("00".repeat(32));
      ClientHome home = new ClientHome(dir);
      assertThatThrownBy(() -> registrar.register(ALICE, "secret", server, wrong, home))
          .isInstanceOfSatisfying(Q2qException.class, e -> {
            assertThat(e.reason()).isEqualTo(Q2qException.Reason.TRUST);
            assertThat(e.getMessage()).contains(wrong.toString()).contains(s.server().ca().fingerprint().toString());
          });
      assertThat(home.pins().get("localhost")).isEmpty();

      Registrar.Registration r = registrar.register(ALICE, "secret", server, s.server().ca().fingerprint(), home);
      assertThat(r.newlyPinned()).isTrue();
    }
  }

  @Test
  void aChangedCaForAPinnedDomainIsAHardErrorNamingBothFingerprints(@TempDir Path dir) throws Exception {
    ClientHome home = new ClientHome(dir);
    Fingerprint firstCa;
    try (LoopbackServer s = LoopbackServer.start()) {
      registrar.register(ALICE, "secret", ServerAddress.parse(s.hostPort()), null, home);
      firstCa = s.server().ca().fingerprint();
    }
    try (LoopbackServer impostor = LoopbackServer.start()) { // a new data folder: a new CA for localhost
      Fingerprint secondCa = impostor.server().ca().fingerprint();
      assertThatThrownBy(() -> registrar.register(ALICE, "secret", ServerAddress.parse(impostor.hostPort()), null, home))
          .isInstanceOfSatisfying(Q2qException.class, e -> {
            assertThat(e.reason()).isEqualTo(Q2qException.Reason.TRUST);
            assertThat(e.getMessage()).contains("CHANGED").contains(firstCa.toString()).contains(secondCa.toString());
          });
      assertThat(impostor.server().accounts().find(ALICE)).isEmpty(); // the password was never sent
    }
  }

  @Test
  void identifyReportsTheCaAndHowItComparesWithThePin(@TempDir Path dir) throws Exception {
    ClientHome home = new ClientHome(dir);
    try (LoopbackServer s = LoopbackServer.start()) {
      ServerAddress server = ServerAddress.parse(s.hostPort());
      Registrar.Identification before = registrar.identify(Address.parse("localhost"), server, home);
      assertThat(before.fingerprint()).isEqualTo(s.server().ca().fingerprint());
      assertThat(before.pin()).isEqualTo(Registrar.PinStatus.NOT_PINNED);
      assertThat(home.pins().get("localhost")).isEmpty(); // identify pins nothing

      registrar.register(ALICE, "secret", server, null, home);
      assertThat(registrar.identify(ALICE, server, home).pin()).isEqualTo(Registrar.PinStatus.MATCHES);
    }
  }

  @Test
  void identifyOfADomainTheServerDoesNotServeIsNotFound() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      assertThatThrownBy(() -> registrar.identify(Address.parse("example.com"), ServerAddress.parse(s.hostPort()), null))
          .isInstanceOfSatisfying(Q2qException.class, e -> {
            assertThat(e.reason()).isEqualTo(Q2qException.Reason.NOT_FOUND);
            assertThat(e.getMessage()).contains("only for localhost").contains("example.com");
          });
    }
  }

  @Test
  void anUnreachableServerIsSaidPlainly(@TempDir Path dir) throws Exception {
    int freePort;
    try (ServerSocket ss = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      freePort = ss.getLocalPort();
    }
    ServerAddress nobody = new ServerAddress("127.0.0.1", freePort);
    assertThatThrownBy(() -> registrar.register(ALICE, "secret", nobody, null, new ClientHome(dir)))
        .isInstanceOfSatisfying(Q2qException.class, e -> {
          assertThat(e.reason()).isEqualTo(Q2qException.Reason.UNREACHABLE);
          assertThat(e.getMessage()).isEqualTo("server 127.0.0.1:" + freePort + " is not reachable: connection refused");
        });
  }

  @Test
  void whoAmIIsTheLoopbackAddressAndAnEphemeralPort(@TempDir Path dir) throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      ServerAddress server = ServerAddress.parse(s.hostPort());
      Identity alice = registrar.register(ALICE, "secret", server, null, new ClientHome(dir)).identity();
      InetSocketAddress seen = registrar.whoAmI(alice, server);
      assertThat(seen.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
      assertThat(seen.getPort()).isPositive().isNotEqualTo(s.port());
    }
  }

  @Test
  void aServerThatDoesNotSpeakTlsIsSaidPlainly(@TempDir Path dir) throws Exception {
    try (ServerSocket plain = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
      Thread answer = new Thread(() -> {
        try (java.net.Socket s = plain.accept()) {
          s.getOutputStream().write("HTTP/1.0 400 Bad Request\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
          s.getInputStream().read(new byte[4096]);
        } catch (java.io.IOException ignored) {
          // the client hung up
        }
      });
      answer.setDaemon(true);
      answer.start();
      ServerAddress server = new ServerAddress("127.0.0.1", plain.getLocalPort());
      assertThatThrownBy(() -> registrar.identify(Address.parse("localhost"), server, null))
          .isInstanceOfSatisfying(Q2qException.class, e -> {
            assertThat(e.reason()).isEqualTo(Q2qException.Reason.UNREACHABLE);
            assertThat(e.getMessage()).startsWith("server " + server + " is not reachable").hasSizeLessThan(300);
          });
    }
  }
}
