package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.CertificationRequest;
import org.q2q.certstore.Identity;
import org.q2q.certstore.KeyPairs;
import org.q2q.certstore.PasswordHasher;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.Offer;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.ServiceOffer;
import org.q2q.proto.SignRequest;
import org.q2q.proto.SignResponse;
import org.q2q.server.internal.registration.RegistrationService;

/**
 * Review H4: certificates can be revoked (by the owner with the password, by the administrator on
 * the data folder), the server refuses them promptly on every Presence call and drops their Listen
 * streams, passwords can be changed, and an account's devices are capped. Real TLS, real gRPC on
 * loopback, real SQLite.
 */
@Timeout(60)
class RevocationTest {
  private static final Address ALICE = Address.parse("alice@localhost");
  private static final Address BOB = Address.parse("bob@localhost");
  /** Cheap Argon2 parameters: the cap test registers 17 devices. */
  private static final PasswordHasher FAST = new PasswordHasher(64, 1, 1);

  private static LoopbackServer server() throws Exception {
    return LoopbackServer.start("localhost", b -> b.passwordHasher(FAST)
        .revocationCheckInterval(Duration.ofMillis(200)));
  }

  private static SignResponse sign(LoopbackServer s, SignRequest.Builder request) throws Exception {
    ManagedChannel ch = TestChannels.open(s, null);
    try {
      return RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(Duration.ofSeconds(30)).sign(request.build());
    } finally {
      TestChannels.close(ch);
    }
  }

  private static Identity register(LoopbackServer s, Address a, String password, boolean revokeOthers)
      throws Exception {
    return register(s, a, KeyPairs.generate(), SignRequest.newBuilder().setPassword(password).setRevokeOthers(revokeOthers));
  }

  private static Identity register(LoopbackServer s, Address a, KeyPair kp, SignRequest.Builder request)
      throws Exception {
    SignResponse r = sign(s, request.setCertificationRequest(ByteString.copyFrom(CertificationRequest.create(kp, a))));
    List<X509Certificate> chain = new ArrayList<>();
    for (ByteString der : r.getCertificateChainList()) {
      chain.add(Certificates.fromDer(der.toByteArray()));
    }
    return new Identity(a, kp.getPrivate(), chain);
  }

  /** An open Listen stream offering "file"; its events land in {@link #events}. */
  private static final class Listener implements AutoCloseable {
    final ManagedChannel channel;
    final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> ended = new CompletableFuture<>();
    final StreamObserver<ListenUp> up;

    Listener(LoopbackServer s, Identity id) throws Exception {
      channel = TestChannels.open(s, id);
      up = PresenceGrpc.newStub(channel).listen(new StreamObserver<>() {
        @Override
        public void onNext(ListenDown d) {
          events.add(d);
        }

        @Override
        public void onError(Throwable t) {
          ended.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
          ended.complete(Status.OK);
        }
      });
      up.onNext(ListenUp.newBuilder().setOffer(Offer.newBuilder()
          .addServices(ServiceOffer.newBuilder().setService("file"))).build());
    }

    void awaitRegistered() throws InterruptedException {
      Object e = events.poll(10, TimeUnit.SECONDS);
      assertThat(e).isInstanceOfSatisfying(ListenDown.class, d -> assertThat(d.hasRegistered()).isTrue());
    }

    @Override
    public void close() throws InterruptedException {
      TestChannels.close(channel);
    }
  }

  private static void bindUdp(LoopbackServer s, Identity from) throws Exception {
    ManagedChannel ch = TestChannels.open(s, from);
    try {
      PresenceGrpc.newBlockingStub(ch).withDeadlineAfter(Duration.ofSeconds(10))
          .bindUdp(org.q2q.proto.BindUdpRequest.newBuilder().setListenerId("x")
              .setUdpDestination(org.q2q.proto.HostPort.newBuilder().setHost("127.0.0.1").setPort(9)).build());
    } finally {
      TestChannels.close(ch);
    }
  }

  /** How a relay stream opened with {@code from}'s certificate ends. */
  private static Status relay(LoopbackServer s, Identity from) throws Exception {
    ManagedChannel ch = TestChannels.open(s, from);
    try {
      CompletableFuture<Status> end = new CompletableFuture<>();
      StreamObserver<org.q2q.proto.RelayFrame> up = PresenceGrpc.newStub(ch).relay(new StreamObserver<>() {
        @Override
        public void onNext(org.q2q.proto.RelayFrame f) {}

        @Override
        public void onError(Throwable t) {
          end.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
          end.complete(Status.OK);
        }
      });
      up.onNext(org.q2q.proto.RelayFrame.newBuilder().setHello(org.q2q.proto.RelayHello.newBuilder()
          .setListenerId("x")).build());
      return end.get(10, TimeUnit.SECONDS);
    } finally {
      TestChannels.close(ch);
    }
  }

  private static void assertRevoked(ThrowingRunnable r) {
    assertThatThrownBy(r::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(e.getStatus().getDescription()).contains("revoked");
    });
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void revokeMyOtherDevicesDropsTheOldListenerAtOnceAndRefusesItsCalls() throws Exception {
    try (LoopbackServer s = server()) {
      Identity laptop = register(s, ALICE, "pw", false);
      Identity bob = register(s, BOB, "bobpw", false);
      try (Listener stolen = new Listener(s, laptop)) {
        stolen.awaitRegistered();

        Identity phone = register(s, ALICE, "pw", true); // "revoke my other devices"

        Status end = stolen.ended.get(5, TimeUnit.SECONDS);
        assertThat(end.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(end.getDescription()).contains("revoked");
        assertRevoked(() -> TestChannels.inbound(s, laptop, BOB));
        assertRevoked(() -> bindUdp(s, laptop));
        assertThat(relay(s, laptop).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        try (Listener again = new Listener(s, laptop)) {
          Status refused = again.ended.get(5, TimeUnit.SECONDS);
          assertThat(refused.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
          assertThat(refused.getDescription()).contains("revoked");
        }
        try (Listener fresh = new Listener(s, phone)) {
          fresh.awaitRegistered(); // the new device is fine
        }
      }
      assertThat(s.server().accounts().certificateStatuses(ALICE))
          .extracting(c -> c.revoked().isPresent()).containsExactly(true, false);
    }
  }

  @Test
  void aRevocationRefusesTheNextCallOnAConnectionWhoseCallsWereVerifiedBefore() throws Exception {
    try (LoopbackServer s = server()) {
      Identity laptop = register(s, ALICE, "pw", false);
      register(s, BOB, "bobpw", false);
      ManagedChannel ch = TestChannels.open(s, laptop);
      try {
        PresenceGrpc.PresenceBlockingStub stub = PresenceGrpc.newBlockingStub(ch);
        InboundRequest toBob = InboundRequest.newBuilder().setTo(BOB.toString()).setService("file").build();
        for (int i = 0; i < 2; i++) { // the second call reuses the verification of the first
          assertThatThrownBy(() -> stub.withDeadlineAfter(Duration.ofSeconds(10)).inbound(toBob))
              .isInstanceOfSatisfying(StatusRuntimeException.class, // authenticated: bob is just not listening
                  e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
        }

        register(s, ALICE, "pw", true); // "revoke my other devices": the laptop's certificate

        assertRevoked(() -> stub.withDeadlineAfter(Duration.ofSeconds(10)).inbound(toBob)); // same connection
      } finally {
        TestChannels.close(ch);
      }
    }
  }

  @Test
  void anAdministratorRevocationFromAnotherProcessIsEnforcedWithinSeconds() throws Exception {
    try (LoopbackServer s = server()) {
      Identity laptop = register(s, ALICE, "pw", false);
      Identity bob = register(s, BOB, "bobpw", false);
      try (Listener listener = new Listener(s, laptop)) {
        listener.awaitRegistered();
        // what 'q2q server revoke' does: its own connection to the database file
        try (AccountStore admin = AccountStore.open(s.dataDir(), Clock.systemUTC())) {
          assertThat(admin.revokeAll(ALICE, null, "revoked by the administrator")).isEqualTo(1);
        }
        Status end = listener.ended.get(5, TimeUnit.SECONDS);
        assertThat(end.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      }
      assertRevoked(() -> TestChannels.inbound(s, laptop, BOB));
      // others are unaffected: bob is authenticated, alice simply has no listener now
      assertThatThrownBy(() -> TestChannels.inbound(s, bob, ALICE)).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }
  }

  @Test
  void aListenStreamWhoseCertificateExpiresWhileItRunsIsEnded() throws Exception {
    MutableClock clock = new MutableClock();
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.passwordHasher(FAST).clock(clock)
        .revocationCheckInterval(Duration.ofMillis(200)))) { // expiry swept every 15 x 200 ms
      Identity laptop = register(s, ALICE, "pw", false);
      try (Listener listener = new Listener(s, laptop)) {
        listener.awaitRegistered();
        clock.advance(CertificateAuthority.DEFAULT_VALIDITY.plusDays(1));
        Status end = listener.ended.get(15, TimeUnit.SECONDS);
        assertThat(end.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(end.getDescription()).contains("expired");
      }
    }
  }

  @Test
  void theOwnerChangesThePasswordAndTheOldOneStopsWorking() throws Exception {
    try (LoopbackServer s = server()) {
      Identity laptop = register(s, ALICE, "old password", false);
      KeyPair same = KeyPairs.generate();
      register(s, ALICE, same, SignRequest.newBuilder().setPassword("old password").setNewPassword("new password"));

      assertThatThrownBy(() -> register(s, ALICE, "old password", false))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
      register(s, ALICE, "new password", false);
      // the administrator sets one too, on the data folder
      try (AccountStore admin = AccountStore.open(s.dataDir(), Clock.systemUTC())) {
        admin.setPassword(ALICE, "admin set", FAST);
      }
      register(s, ALICE, "admin set", false);
      assertThat(laptop).isNotNull();
    }
  }

  @Test
  void aRenewalForTheSameKeyReplacesItsCertificateAndDevicesAreCapped() throws Exception {
    try (LoopbackServer s = server()) {
      KeyPair laptop = KeyPairs.generate();
      Identity first = register(s, ALICE, laptop, SignRequest.newBuilder().setPassword("pw"));
      Identity renewed = register(s, ALICE, laptop, SignRequest.newBuilder().setPassword("pw"));
      BigInteger firstSerial = first.certificate().getSerialNumber();
      assertThat(s.server().revocations().isRevoked(first.certificate())).isTrue();
      assertThat(s.server().revocations().isRevoked(renewed.certificate())).isFalse();
      assertThat(firstSerial).isNotEqualTo(renewed.certificate().getSerialNumber());

      for (int i = 1; i < RegistrationService.MAX_KEYS_PER_ACCOUNT; i++) {
        register(s, ALICE, "pw", false);
      }
      assertThatThrownBy(() -> register(s, ALICE, "pw", false))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(e.getStatus().getDescription()).contains("--revoke-others");
          });
      register(s, ALICE, laptop, SignRequest.newBuilder().setPassword("pw")); // a known device renews
      register(s, ALICE, "pw", true); // and the owner can start over
      assertThat(s.server().accounts().liveKeys(ALICE, Clock.systemUTC().instant())).isEqualTo(1);
    }
  }
}
