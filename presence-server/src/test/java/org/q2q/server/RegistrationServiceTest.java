package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.CertificationRequest;
import org.q2q.certstore.ChainValidator;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.KeyPairs;
import org.q2q.certstore.PasswordHasher;
import org.q2q.certstore.internal.Bc;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.IdentifyResponse;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.SignRequest;
import org.q2q.proto.SignResponse;
import org.q2q.proto.WhoAmIRequest;
import org.q2q.proto.WhoAmIResponse;

/** Identify, Sign and WhoAmI over real TLS on loopback, with the real SQLite database. */
@Timeout(60)
class RegistrationServiceTest {
  private static final Address ALICE = Address.parse("alice@localhost");
  private static final Address BOB = Address.parse("bob@localhost");

  /** Runs {@code call} on a Registration stub of a fresh channel to {@code s}. */
  private static <T> T call(LoopbackServer s, java.util.function.Function<RegistrationGrpc.RegistrationBlockingStub, T> call)
      throws Exception {
    ManagedChannel ch = TestChannels.open(s, null);
    try {
      return call.apply(RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(Duration.ofSeconds(30)));
    } finally {
      TestChannels.close(ch);
    }
  }

  private static SignResponse sign(LoopbackServer s, byte[] csr, String password) throws Exception {
    return call(s, st -> st.sign(SignRequest.newBuilder()
        .setCertificationRequest(ByteString.copyFrom(csr)).setPassword(password).build()));
  }

  /** Sign from the local address {@code from} (another client network). */
  private static SignResponse signFrom(LoopbackServer s, String from, Address a, String password) throws Exception {
    ManagedChannel ch = TestChannels.open(s, null, from);
    try {
      return RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(Duration.ofSeconds(30))
          .sign(SignRequest.newBuilder().setCertificationRequest(ByteString.copyFrom(
              CertificationRequest.create(KeyPairs.generate(), a))).setPassword(password).build());
    } finally {
      TestChannels.close(ch);
    }
  }

  private static List<X509Certificate> register(LoopbackServer s, Address a, String password) throws Exception {
    KeyPair kp = KeyPairs.generate();
    SignResponse r = sign(s, CertificationRequest.create(kp, a), password);
    List<X509Certificate> chain = new ArrayList<>();
    for (ByteString der : r.getCertificateChainList()) {
      chain.add(Certificates.fromDer(der.toByteArray()));
    }
    assertThat(chain.get(0).getPublicKey()).isEqualTo(kp.getPublic());
    return chain;
  }

  private static void assertRefused(ThrowingRunnable r, Status.Code code, String... descriptionParts) {
    assertThatThrownBy(r::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).contains(descriptionParts);
    });
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void identifyAnswersTheCaOfItsDomainOnlyAndNotFoundForOthers() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      for (String subject : new String[] {"localhost", "alice@localhost", "LOCALHOST"}) {
        IdentifyResponse r = call(s, st -> st.identify(IdentifyRequest.newBuilder().setSubject(subject).build()));
        assertThat(r.getDomain()).isEqualTo("localhost");
        assertThat(Certificates.fromDer(r.getCaCertificate().toByteArray())).isEqualTo(s.server().ca().certificate());
      }
      assertRefused(() -> call(s, st -> st.identify(IdentifyRequest.newBuilder().setSubject("example.com").build())),
          Status.Code.NOT_FOUND, "only for localhost", "example.com");
      assertRefused(() -> call(s, st -> st.identify(IdentifyRequest.newBuilder().setSubject("a@b@c").build())),
          Status.Code.INVALID_ARGUMENT, "more than one '@'");
    }
  }

  @Test
  void openRegistrationCreatesTheAccountOnFirstSignAndChecksThePasswordAfter() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      List<X509Certificate> first = register(s, ALICE, "secret");
      assertThat(first).hasSize(2).endsWith(s.server().ca().certificate());
      assertThat(ChainValidator.validate(first, s.server().ca().certificate(), Instant.now())).isEqualTo(ALICE);
      assertThat(first.get(0).getSerialNumber().bitLength()).isGreaterThanOrEqualTo(128);
      assertThat(s.server().accounts().find(ALICE)).isPresent();

      List<X509Certificate> second = register(s, ALICE, "secret"); // another machine: its own key
      assertThat(second.get(0).getSerialNumber()).isNotEqualTo(first.get(0).getSerialNumber());
      assertThat(s.server().accounts().certificates(ALICE)).extracting(AccountStore.IssuedCertificate::serial)
          .containsExactly(first.get(0).getSerialNumber(), second.get(0).getSerialNumber());

      assertRefused(() -> register(s, ALICE, "Secret"), Status.Code.PERMISSION_DENIED, "wrong password for alice@localhost");
      assertThat(s.server().accounts().certificates(ALICE)).hasSize(2);
    }
  }

  @Test
  void anAccountSurvivesARestartWithTheSameCa() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      register(s, ALICE, "secret");
      Fingerprint ca = s.server().ca().fingerprint();
      Instant created = s.server().accounts().find(ALICE).orElseThrow().created();

      PresenceServer again = s.restart();
      assertThat(again.ca().fingerprint()).isEqualTo(ca);
      assertThat(again.accounts().find(ALICE).orElseThrow().created()).isEqualTo(created);
      assertRefused(() -> register(s, ALICE, "other"), Status.Code.PERMISSION_DENIED, "wrong password");
      assertThat(ChainValidator.validate(register(s, ALICE, "secret"), again.ca().certificate(), Instant.now()))
          .isEqualTo(ALICE);
    }
  }

  @Test
  void requestsForOtherDomainsOtherAddressesOrBadRequestsAreRefused() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      register(s, ALICE, "alice-pw");
      register(s, BOB, "bob-pw");
      KeyPair kp = KeyPairs.generate();
      // alice's password does not buy a certificate for bob
      assertRefused(() -> sign(s, CertificationRequest.create(kp, BOB), "alice-pw"),
          Status.Code.PERMISSION_DENIED, "wrong password for bob@localhost");
      assertRefused(() -> sign(s, CertificationRequest.create(kp, Address.parse("alice@example.com")), "alice-pw"),
          Status.Code.PERMISSION_DENIED, "signs only addresses @localhost", "alice@example.com");
      assertRefused(() -> sign(s, Bc.certificationRequest(kp, "alice@localhost", "q2q:bob@localhost"), "alice-pw"),
          Status.Code.INVALID_ARGUMENT, "subject alternative names must be exactly q2q:alice@localhost");
      assertRefused(() -> sign(s, Bc.certificationRequest(kp, "localhost", "q2q:localhost"), "alice-pw"),
          Status.Code.PERMISSION_DENIED, "is a domain");
      assertRefused(() -> sign(s, "not a CSR".getBytes(java.nio.charset.StandardCharsets.UTF_8), "alice-pw"),
          Status.Code.INVALID_ARGUMENT, "not valid PKCS#10");
      assertRefused(() -> sign(s, CertificationRequest.create(kp, ALICE), ""),
          Status.Code.INVALID_ARGUMENT, "password is empty");
      assertThat(s.server().accounts().certificates(BOB)).hasSize(1);
      assertThat(s.server().accounts().find(Address.parse("alice@example.com"))).isEmpty();
    }
  }

  @Test
  void closedRegistrationRefusesUnknownAccountsAndAcceptsAddedOnes() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.registration(RegistrationMode.CLOSED))) {
      assertRefused(() -> register(s, ALICE, "secret"),
          Status.Code.PERMISSION_DENIED, "no account alice@localhost", "registration is closed");
      assertThat(s.server().accounts().find(ALICE)).isEmpty();

      // the administrator's path: a second store on the same database while the server runs
      try (AccountStore admin = AccountStore.open(s.dataDir(), Clock.systemUTC())) {
        admin.addAccount(ALICE, "secret", PasswordHasher.DEFAULT);
        assertThatThrownBy(() -> admin.addAccount(ALICE, "again", PasswordHasher.DEFAULT))
            .hasMessageContaining("already exists");
      }
      assertThat(ChainValidator.validate(register(s, ALICE, "secret"), s.server().ca().certificate(), Instant.now()))
          .isEqualTo(ALICE);
      assertRefused(() -> register(s, ALICE, "wrong"), Status.Code.PERMISSION_DENIED, "wrong password");
    }
  }

  /**
   * Five failures per minute per address: the sixth attempt is refused before the password is
   * even checked — also the right one, so a guesser learns nothing while blocked — and the block
   * lifts when the oldest failure leaves the window.
   */
  @Test
  void failedPasswordsPerAddressAreRateLimitedAndRecover() throws Exception {
    MutableClock clock = new MutableClock();
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.clock(clock))) {
      register(s, ALICE, "secret");
      for (int i = 0; i < 5; i++) {
        assertRefused(() -> register(s, ALICE, "guess"), Status.Code.PERMISSION_DENIED, "wrong password");
        clock.advance(Duration.ofSeconds(1));
      }
      assertRefused(() -> register(s, ALICE, "guess"),
          Status.Code.RESOURCE_EXHAUSTED, "too many failed password attempts for alice@localhost", "try again in 55 s");
      assertRefused(() -> register(s, ALICE, "secret"), Status.Code.RESOURCE_EXHAUSTED, "try again in");

      clock.advance(Duration.ofSeconds(55)); // t=60: the first failure (t=0) leaves the window
      assertThat(register(s, ALICE, "secret")).hasSize(2);
    }
  }

  @Test
  void failedPasswordsPerClientIpAreRateLimitedAcrossAddresses() throws Exception {
    MutableClock clock = new MutableClock();
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.clock(clock))) {
      for (String user : new String[] {"u1", "u2", "u3", "u4", "u5", "u6"}) {
        register(s, Address.of(user, "localhost"), "pw-" + user);
      }
      for (String user : new String[] {"u1", "u2", "u3", "u4", "u5"}) {
        assertRefused(() -> register(s, Address.of(user, "localhost"), "guess"), Status.Code.PERMISSION_DENIED, "wrong password");
      }
      assertRefused(() -> register(s, Address.of("u6", "localhost"), "guess"),
          Status.Code.RESOURCE_EXHAUSTED, "from 127.0.0.1", "try again in 60 s");
      clock.advance(Duration.ofSeconds(61));
      assertThat(register(s, Address.of("u6", "localhost"), "pw-u6")).hasSize(2);
    }
  }

  @Test
  void whoAmIIsTheClientsAddressAndPort() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      int localPort;
      try (ServerSocket ss = new ServerSocket(0)) {
        localPort = ss.getLocalPort();
      }
      InetSocketAddress local = new InetSocketAddress("127.0.0.1", localPort);
      PresenceServer server = s.server();
      ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", s.port())
          .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient())
              .trustManager(new AddressTrustManager(
                  d -> Optional.of(server.ca().certificate()),
                  AddressTrustManager.AddressCheck.exactly(server.domain()), Clock.systemUTC()))
              .build())
          .overrideAuthority("localhost")
          .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
            @Override
            public InetSocketAddress createSocketAddress(java.net.SocketAddress remote, io.grpc.Attributes attrs) {
              return local;
            }
          })
          .build();
      try {
        WhoAmIResponse r = RegistrationGrpc.newBlockingStub(ch).whoAmI(WhoAmIRequest.getDefaultInstance());
        assertThat(r.getAddress().getHost()).isEqualTo("127.0.0.1");
        assertThat(r.getAddress().getPort()).isEqualTo(localPort);
      } finally {
        TestChannels.close(ch);
      }
    }
  }

  /**
   * M3: concurrent guesses for one address all used to pass the check made before any of them had
   * failed; now each reserves its failure before hashing, so at most five are checked per window.
   */
  @Test
  void concurrentGuessesAreCountedBeforeTheyAreChecked() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost",
        b -> b.registrationLimits(RegistrationLimits.defaults().withExecutor(4, 32)
            .withRates(1_000, 1e6, 1_000, 1e6)))) {
      register(s, ALICE, "secret");
      int n = 16;
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
      List<java.util.concurrent.Future<Status.Code>> results = new ArrayList<>();
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      try {
        for (int i = 0; i < n; i++) {
          results.add(pool.submit(() -> {
            go.await();
            try {
              register(s, ALICE, "guess");
              return Status.Code.OK;
            } catch (StatusRuntimeException e) {
              return e.getStatus().getCode();
            }
          }));
        }
        go.countDown();
        int wrong = 0;
        for (java.util.concurrent.Future<Status.Code> f : results) {
          if (f.get(60, java.util.concurrent.TimeUnit.SECONDS) == Status.Code.PERMISSION_DENIED) {
            wrong++;
          }
        }
        assertThat(wrong).as("passwords checked").isLessThanOrEqualTo(5);
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /** M3: a guesser at one network locks alice out only there; her own network still gets in. */
  @Test
  void lockoutIsPerAddressAndClientNetwork() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) {
      register(s, ALICE, "secret");
      for (int i = 0; i < 5; i++) {
        assertRefused(() -> signFrom(s, "127.0.0.2", ALICE, "guess"), Status.Code.PERMISSION_DENIED, "wrong password");
      }
      assertRefused(() -> signFrom(s, "127.0.0.2", ALICE, "secret"),
          Status.Code.RESOURCE_EXHAUSTED, "too many failed password attempts");
      assertThat(signFrom(s, "127.0.0.1", ALICE, "secret").getCertificateChainCount()).isEqualTo(2);
    }
  }

  /** H1: account creation is rate limited per client network. */
  @Test
  void accountCreationIsRateLimitedPerClientNetwork() throws Exception {
    MutableClock clock = new MutableClock();
    try (LoopbackServer s = LoopbackServer.start("localhost",
        b -> b.clock(clock).registrationLimits(RegistrationLimits.defaults().withRates(100, 1000, 3, 60)))) {
      for (String user : new String[] {"u1", "u2", "u3"}) {
        register(s, Address.of(user, "localhost"), "pw");
      }
      assertRefused(() -> register(s, Address.of("u4", "localhost"), "pw"),
          Status.Code.RESOURCE_EXHAUSTED, "too many accounts were created from 127.0.0.1", "try again in 60 s");
      assertThat(s.server().accounts().find(Address.of("u4", "localhost"))).isEmpty();
      assertThat(signFrom(s, "127.0.0.2", Address.of("u5", "localhost"), "pw").getCertificateChainCount()).isEqualTo(2);
      clock.advance(Duration.ofSeconds(60));
      assertThat(register(s, Address.of("u4", "localhost"), "pw")).hasSize(2);
    }
  }

  /** L4: with closed registration an unknown address and a wrong password get the same answer. */
  @Test
  void closedRegistrationDoesNotTellWhichAccountsExist() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.registration(RegistrationMode.CLOSED))) {
      try (AccountStore admin = AccountStore.open(s.dataDir(), Clock.systemUTC())) {
        admin.addAccount(ALICE, "secret", PasswordHasher.DEFAULT);
      }
      StatusRuntimeException unknown = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> register(s, BOB, "secret"));
      StatusRuntimeException wrong = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> register(s, ALICE, "guess"));
      assertThat(unknown.getStatus().getCode()).isEqualTo(wrong.getStatus().getCode());
      assertThat(unknown.getStatus().getDescription().replace("bob", "X"))
          .isEqualTo(wrong.getStatus().getDescription().replace("alice", "X"));
    }
  }
}
