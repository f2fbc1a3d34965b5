package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.CertificationRequest;
import org.q2q.certstore.Identity;
import org.q2q.certstore.KeyPairs;
import org.q2q.certstore.PasswordHasher;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.SignRequest;
import org.q2q.proto.SignResponse;

/**
 * Two presence server nodes of one domain on one real PostgreSQL database: two data folders with
 * the same CA files, real TLS and gRPC on loopback. What one node writes or counts holds on the
 * other: accounts, failed-password limits, revocations; and a node with another CA is refused.
 */
@Timeout(120)
class MultiNodeTest {
  private static final PasswordHasher FAST = new PasswordHasher(64, 1, 1);
  private static final Duration POLL = Duration.ofMillis(200);
  /** One database per test: each test's first node creates a new CA, which its database records. */
  private PostgresTestDatabase pg;

  @BeforeEach
  void create() throws Exception {
    pg = PostgresTestDatabase.create();
  }

  @AfterEach
  void drop() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  private Consumer<PresenceServer.Builder> node() {
    return b -> b.database(pg.location()).passwordHasher(FAST).revocationCheckInterval(POLL)
        .failedAttemptLimit(3, Duration.ofMinutes(1));
  }

  private static Identity register(LoopbackServer s, Address a, String password) throws Exception {
    KeyPair kp = KeyPairs.generate();
    ManagedChannel ch = TestChannels.open(s, null);
    try {
      SignResponse r = RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(Duration.ofSeconds(30))
          .sign(SignRequest.newBuilder().setPassword(password)
              .setCertificationRequest(ByteString.copyFrom(CertificationRequest.create(kp, a))).build());
      List<X509Certificate> chain = new ArrayList<>();
      for (ByteString der : r.getCertificateChainList()) {
        chain.add(Certificates.fromDer(der.toByteArray()));
      }
      return new Identity(a, kp.getPrivate(), chain);
    } finally {
      TestChannels.close(ch);
    }
  }

  private static void assertRefused(ThrowingRunnable r, Status.Code code, String part) {
    assertThatThrownBy(r::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).contains(part);
    });
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void anAccountRegisteredThroughOneNodeSignsOnTheOther() throws Exception {
    Address carol = Address.parse("carol@localhost");
    try (LoopbackServer one = LoopbackServer.start("localhost", node());
        LoopbackServer two = LoopbackServer.startNodeOf(one, node())) {
      assertThat(two.server().ca().fingerprint()).isEqualTo(one.server().ca().fingerprint());
      register(one, carol, "carol-pw");
      Identity again = register(two, carol, "carol-pw");
      assertThat(again.address()).isEqualTo(carol);
      assertRefused(() -> register(two, carol, "guess"), Status.Code.PERMISSION_DENIED, "wrong password");
      assertThat(one.server().accounts().certificates(carol)).hasSize(2);
    }
  }

  @Test
  void aPasswordLimitReachedOnOneNodeHoldsOnTheOther() throws Exception {
    Address dave = Address.parse("dave@localhost");
    try (LoopbackServer one = LoopbackServer.start("localhost", node());
        LoopbackServer two = LoopbackServer.startNodeOf(one, node())) {
      register(one, dave, "dave-pw");
      for (int i = 0; i < 3; i++) {
        assertRefused(() -> register(one, dave, "guess"), Status.Code.PERMISSION_DENIED, "wrong password");
      }
      assertRefused(() -> register(one, dave, "guess"), Status.Code.RESOURCE_EXHAUSTED,
          "too many failed password attempts for dave@localhost");
      // the attacker moves to the other node: the same count holds there, even for the right password
      assertRefused(() -> register(two, dave, "dave-pw"), Status.Code.RESOURCE_EXHAUSTED,
          "too many failed password attempts for dave@localhost");
    }
  }

  @Test
  void aRevocationOnOneNodeIsHonouredByTheOtherWithinThePollInterval() throws Exception {
    Address erin = Address.parse("erin@localhost");
    try (LoopbackServer one = LoopbackServer.start("localhost", node());
        LoopbackServer two = LoopbackServer.startNodeOf(one, node())) {
      Identity laptop = register(one, erin, "erin-pw");
      Address nobody = Address.parse("nobody@localhost");
      // accepted on node 2: the call gets as far as finding no listener
      assertRefused(() -> TestChannels.inbound(two, laptop, nobody), Status.Code.NOT_FOUND, "nobody@localhost");
      assertThat(one.server().accounts().revokeAll(erin, null, "stolen laptop")).isEqualTo(1);
      long start = System.nanoTime();
      while (!two.server().revocations().isRevoked(laptop.certificate())) {
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(POLL.multipliedBy(10));
        Thread.sleep(20);
      }
      assertRefused(() -> TestChannels.inbound(two, laptop, nobody), Status.Code.UNAUTHENTICATED, "revoked");
    }
  }

  @Test
  void aNodeWithAnotherCaIsRefusedWithTheReason() throws Exception {
    try (LoopbackServer one = LoopbackServer.start("localhost", node())) {
      String recorded = one.server().ca().fingerprint().toString();
      assertThatThrownBy(() -> LoopbackServer.start("localhost", node()).close())
          .isInstanceOf(java.io.IOException.class)
          .hasMessageContaining("was created with the CA " + recorded)
          .hasMessageContaining("give every node of localhost the same ca.crt and ca.key");
    }
  }
}
