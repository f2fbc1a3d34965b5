package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Identity;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.Listener;
import org.q2q.proto.PresenceGrpc;

/**
 * CallerIdentity over real TLS: a stand-in Presence service answers Inbound with the caller's
 * address as CallerIdentity.require() sees it.
 */
@Timeout(60)
class CallerIdentityTest {
  /** Echoes the caller's validated address in the listener id. */
  static final class EchoCaller extends PresenceGrpc.PresenceImplBase {
    @Override
    public void inbound(InboundRequest request, StreamObserver<InboundResponse> out) {
      Address caller = CallerIdentity.require();
      out.onNext(InboundResponse.newBuilder()
          .addListeners(Listener.newBuilder().setId(caller.toString())
              .setDescription("chain of " + CallerIdentity.CHAIN.get().size()))
          .build());
      out.onCompleted();
    }

    @Override
    public void bindUdp(org.q2q.proto.BindUdpRequest request,
        StreamObserver<org.q2q.proto.BindUdpResponse> out) {
      if (request.getListenerId().equals("iae")) { // as a library's argument check would
        throw new IllegalArgumentException("a library's message with a secret inside");
      }
      throw new IllegalStateException("a bug with a secret inside");
    }
  }

  private static String callerSeenBy(LoopbackServer s, Identity client) throws Exception {
    ManagedChannel ch = TestChannels.open(s, client);
    try {
      InboundResponse r = PresenceGrpc.newBlockingStub(ch)
          .withDeadlineAfter(java.time.Duration.ofSeconds(20))
          .inbound(InboundRequest.newBuilder().setTo("x@localhost").setService("s").build());
      return r.getListeners(0).getId();
    } finally {
      TestChannels.close(ch);
    }
  }

  @Test
  void aCallerWithACertificateOfTheDomainIsKnownByItsAddress() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.addService(new EchoCaller()))) {
      assertThat(callerSeenBy(s, s.issueIdentity("alice@localhost"))).isEqualTo("alice@localhost");
    }
  }

  @Test
  void aCallerWithoutCertificateIsUnauthenticated() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.addService(new EchoCaller()))) {
      assertThatThrownBy(() -> callerSeenBy(s, null))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).contains("needs a client certificate");
          });
    }
  }

  @Test
  void aForeignDomainCountsOnlyOnceItsCaIsLearned() throws Exception {
    CertificateAuthority other = CertificateAuthority.create(Address.ofDomain("b.test"), Clock.systemUTC());
    Identity bob = other.issueIdentity(Address.parse("bob@b.test"), Duration.ofDays(1));
    try (LoopbackServer s = LoopbackServer.start("a.test", b -> b.addService(new EchoCaller()))) {
      assertThatThrownBy(() -> callerSeenBy(s, bob))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).contains("does not know the CA of domain b.test");
          });
      assertThat(s.server().domainCas().learn("b.test", other.certificate())).isTrue();
      assertThat(callerSeenBy(s, bob)).isEqualTo("bob@b.test");
    }
  }

  @Test
  void aCertificateOfAnotherCaClaimingOurDomainIsRefused() throws Exception {
    CertificateAuthority impostor = CertificateAuthority.create(Address.ofDomain("localhost"), Clock.systemUTC());
    Identity fake = impostor.issueIdentity(Address.parse("alice@localhost"), Duration.ofDays(1));
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.addService(new EchoCaller()))) {
      assertThatThrownBy(() -> callerSeenBy(s, fake))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).contains("not issued by the CA of localhost");
          });
    }
  }

  @Test
  void anExpiredCertificateIsRefusedSayingSo() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.addService(new EchoCaller()))) {
      // same CA, loaded from the data folder with a clock two days back: its certificate is
      // valid for one day, so it has expired by now
      Clock past = Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC);
      CertificateAuthority sameCaInThePast =
          CertificateAuthority.loadOrCreate(s.dataDir(), Address.ofDomain("localhost"), past);
      Identity old = sameCaInThePast.issueIdentity(Address.parse("carol@localhost"), Duration.ofDays(1));
      assertThatThrownBy(() -> callerSeenBy(s, old))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).contains("carol@localhost").contains("expired");
          });
    }
  }

  @Test
  void aServiceExceptionBecomesADescribedInternalStatusWithoutItsMessage() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.addService(new EchoCaller()))) {
      ManagedChannel ch = TestChannels.open(s, null);
      try {
        assertThatThrownBy(() -> PresenceGrpc.newBlockingStub(ch)
                .bindUdp(org.q2q.proto.BindUdpRequest.getDefaultInstance()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
              assertThat(e.getStatus().getDescription())
                  .startsWith("internal error on the server (incident ")
                  .doesNotContain("secret");
              assertThat(e.getTrailers().keys()).noneMatch(k -> k.contains("stack"));
            });
      } finally {
        TestChannels.close(ch);
      }
    }
  }

  /** L5: only the project's own validation exceptions reach the caller with their message. */
  @Test
  void aLibrarysIllegalArgumentExceptionDoesNotReachTheCaller() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.addService(new EchoCaller()))) {
      ManagedChannel ch = TestChannels.open(s, null);
      try {
        assertThatThrownBy(() -> PresenceGrpc.newBlockingStub(ch)
                .bindUdp(org.q2q.proto.BindUdpRequest.newBuilder().setListenerId("iae").build()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
              assertThat(e.getStatus().getDescription()).startsWith("internal error on the server (incident ")
                  .doesNotContain("secret");
            });
      } finally {
        TestChannels.close(ch);
      }
    }
  }
}
