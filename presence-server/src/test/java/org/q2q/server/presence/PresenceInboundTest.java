package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.Identity;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.Listener;

/** Inbound: fan-out to listeners, listener ids, NOT_FOUND / PERMISSION_DENIED / UNAVAILABLE. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PresenceInboundTest {
  private PresenceHarness h;

  @BeforeEach
  void start() throws Exception {
    h = new PresenceHarness(PresenceConfig.defaults().withInboundAnswerTimeout(Duration.ofMillis(300)));
  }

  @AfterEach
  void stop() throws Exception {
    h.close();
  }

  private InboundResponse inbound(String from, String to, String service) {
    return h.blocking(from).inbound(InboundRequest.newBuilder().setTo(to).setService(service).build());
  }

  private static StatusRuntimeException failure(Runnable r) {
    try {
      r.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("expected a failure");
  }

  private static List<ByteString> der(Identity id) {
    return id.chain().stream().map(c -> ByteString.copyFrom(Certificates.toDer(c))).toList();
  }

  @Test
  void unknownAddressOrServiceIsNotFoundNamingBoth() throws Exception {
    StatusRuntimeException e = failure(() -> inbound("alice@example.com", "nobody@example.com", "file"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("nobody@example.com").contains("file");

    h.listen("bob@example.com").offer("web");
    e = failure(() -> inbound("alice@example.com", "bob@example.com", "file"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("bob@example.com").contains("'file'");
    // L4: the same answer whether bob is online with other services or nobody listens at all
    StatusRuntimeException offline = failure(() -> inbound("alice@example.com", "carol@example.com", "file"));
    assertThat(offline.getStatus().getDescription().replace("carol", "X"))
        .isEqualTo(e.getStatus().getDescription().replace("bob", "X"));
  }

  @Test
  void anAddressOfAnotherDomainIsNotFoundHere() {
    StatusRuntimeException e = failure(() -> inbound("alice@example.com", "bob@elsewhere.test", "file"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("bob@elsewhere.test").contains("file");
  }

  @Test
  void badRequestsAreInvalidArgument() {
    assertThat(failure(() -> inbound("alice@example.com", "not an address", "file")).getStatus().getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(failure(() -> inbound("alice@example.com", "bob@example.com", ".x")).getStatus().getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(failure(() -> inbound("alice@example.com", "example.com", "file")).getStatus().getCode())
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void aCallerWithoutCertificateIsUnauthenticated() {
    assertThat(failure(() -> inbound(null, "bob@example.com", "file")).getStatus().getCode())
        .isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void aBodyChainNotMatchingTheTlsCertificateIsRefused() throws Exception {
    h.listen("bob@example.com").offer("file");
    StatusRuntimeException e = failure(() -> h.blocking("alice@example.com").inbound(InboundRequest.newBuilder()
        .setTo("bob@example.com").setService("file")
        .addAllCertificateChain(der(h.identity("mallory@example.com"))).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).contains("TLS client certificate");
    // the matching chain is fine
    InboundResponse ok = h.blocking("alice@example.com").inbound(InboundRequest.newBuilder()
        .setTo("bob@example.com").setService("file")
        .addAllCertificateChain(der(h.identity("alice@example.com"))).build());
    assertThat(ok.getListenersCount()).isEqualTo(1);
  }

  @Test
  void anAcceptingListenerIsReturnedWithIdChainMethodsExpiryAndDescription() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    ConnectionMethod tcp = ConnectionMethod.newBuilder()
        .setTcp(HostPort.newBuilder().setHost("192.0.2.7").setPort(4000)).build();
    // a method kind from the future: field 99, which this server's proto does not know
    ConnectionMethod future = ConnectionMethod.newBuilder()
        .setUnknownFields(UnknownFieldSet.newBuilder()
            .addField(99, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFromUtf8("quic")).build())
            .build())
        .build();
    bob.policy = q -> InboundAnswer.newBuilder().setAccept(true).addMethods(tcp).addMethods(future).build();
    bob.offer("file");

    HostPort candidate = HostPort.newBuilder().setHost("198.51.100.1").setPort(5000).build();
    InboundResponse r = h.blocking("alice@example.com").inbound(InboundRequest.newBuilder()
        .setTo("bob@example.com").setService("file").addUdpCandidates(candidate).build());

    assertThat(r.getListenersCount()).isEqualTo(1);
    Listener l = r.getListeners(0);
    assertThat(Base64.getUrlDecoder().decode(l.getId())).hasSize(16);
    assertThat(l.getId()).matches("[A-Za-z0-9_-]{22}");
    assertThat(l.getCertificateChainList()).isEqualTo(der(h.identity("bob@example.com")));
    assertThat(l.getMethodsList()).hasSize(3);
    assertThat(l.getMethods(0)).isEqualTo(tcp);
    assertThat(l.getMethods(1).getUnknownFields().hasField(99)).isTrue();
    assertThat(l.getMethods(1).toByteString()).isEqualTo(future.toByteString());
    assertThat(l.getMethods(2).hasRelay()).isTrue();
    assertThat(l.getExpiresUnixMillis()).isEqualTo(h.clock.instant().plus(PresenceConfig.defaults().listenerIdTtl()).toEpochMilli());
    assertThat(l.getDescription()).isEqualTo("the file service");

    // what bob was asked: from = alice's certificate address, her chain, her candidates, the same id
    InboundQuery q = bob.queries.poll(5, TimeUnit.SECONDS);
    assertThat(q.getFrom()).isEqualTo("alice@example.com");
    assertThat(q.getService()).isEqualTo("file");
    assertThat(q.getListenerId()).isEqualTo(l.getId());
    assertThat(q.getFromCertificateChainList()).isEqualTo(der(h.identity("alice@example.com")));
    assertThat(q.getUdpCandidatesList()).containsExactly(candidate);
    // and how long the server honours the id, so that bob keeps it as long (one rule: the server's)
    assertThat(q.getListenerIdLifetimeMillis()).isEqualTo(PresenceConfig.defaults().listenerIdTtl().toMillis());
  }

  @Test
  void aDecliningListenerGivesPermissionDeniedWithItsReason() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    bob.policy = q -> InboundAnswer.newBuilder().setAccept(false).setDeclineReason("not accepting files from " + q.getFrom()).build();
    bob.offer("file");
    StatusRuntimeException e = failure(() -> inbound("alice@example.com", "bob@example.com", "file"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(e.getStatus().getDescription()).contains("not accepting files from alice@example.com");
    assertThat(h.service.usableListenerIds()).isZero();
  }

  @Test
  void aSilentListenerGivesUnavailable() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    bob.policy = q -> null;
    bob.offer("file");
    StatusRuntimeException e = failure(() -> inbound("alice@example.com", "bob@example.com", "file"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.getStatus().getDescription()).contains("did not answer");
  }

  @Test
  void everyListenerOfTheSameAddressIsAskedAndDeclinersAndSilentOnesAreDropped() throws Exception {
    TestListener laptop = h.listen("bob@example.com");
    TestListener desktop = h.listen("bob@example.com");
    TestListener phone = h.listen("bob@example.com");
    laptop.offer("file");
    desktop.offer("file");
    phone.offer("file");
    desktop.policy = q -> InboundAnswer.newBuilder().setAccept(false).setDeclineReason("busy").build();
    phone.policy = q -> null;
    InboundResponse r = inbound("alice@example.com", "bob@example.com", "file");
    assertThat(r.getListenersCount()).isEqualTo(1);
    assertThat(laptop.queries).hasSize(1);
    assertThat(desktop.queries).hasSize(1);
    assertThat(phone.queries).hasSize(1);
    assertThat(r.getListeners(0).getId()).isEqualTo(laptop.queries.peek().getListenerId());

    desktop.policy = laptop.policy;
    r = inbound("alice@example.com", "bob@example.com", "file");
    assertThat(r.getListenersList()).extracting(Listener::getId).doesNotHaveDuplicates().hasSize(2);
  }

  @Test
  void listenerIdsAreUniqueAndRandom() throws Exception {
    h.listen("bob@example.com").offer("file");
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      ids.add(inbound("alice@example.com", "bob@example.com", "file").getListeners(0).getId());
    }
    assertThat(ids).hasSize(200);
    // 128 random bits: every id decodes to 16 bytes and no two share a long prefix
    assertThat(ids).allSatisfy(id -> assertThat(Base64.getUrlDecoder().decode(id)).hasSize(16));
    assertThat(ids.stream().map(id -> id.substring(0, 8)).distinct().count()).isEqualTo(200);
  }

  @Test
  void aCallerHoardingUnusedIdsIsRefusedUntilTheyExpire() throws Exception {
    h.listen("bob@example.com").offer("file");
    for (int i = 0; i < 1024; i++) {
      inbound("alice@example.com", "bob@example.com", "file");
    }
    StatusRuntimeException e = failure(() -> inbound("alice@example.com", "bob@example.com", "file"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription()).contains("alice@example.com").contains("1024");
    // others are not affected
    assertThat(inbound("carol@example.com", "bob@example.com", "file").getListenersCount()).isEqualTo(1);
    h.clock.advance(PresenceConfig.defaults().listenerIdTtl().plusSeconds(1));
    assertThat(inbound("alice@example.com", "bob@example.com", "file").getListenersCount()).isEqualTo(1);
  }

  @Test
  void registrationsDieWithTheStream() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    assertThat(inbound("alice@example.com", "bob@example.com", "file").getListenersCount()).isEqualTo(1);
    bob.complete();
    assertThat(bob.awaitClosed().isOk()).isTrue();
    assertThat(failure(() -> inbound("alice@example.com", "bob@example.com", "file")).getStatus().getCode())
        .isEqualTo(Status.Code.NOT_FOUND);

    TestListener again = h.listen("bob@example.com");
    again.offer("file");
    assertThat(inbound("alice@example.com", "bob@example.com", "file").getListenersCount()).isEqualTo(1);
  }

  @Test
  void aListenerThatLeavesWhileAskedIsDropped() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    bob.policy = q -> {
      bob.complete(); // leaves instead of answering
      return null;
    };
    bob.offer("file");
    StatusRuntimeException e = failure(() -> inbound("alice@example.com", "bob@example.com", "file"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void serverCloseEndsListenSessionsWithUnavailable() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    bob.offer("file");
    h.service.close();
    Status s = bob.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(s.getDescription()).contains("shutting down");
    assertThatThrownBy(() -> inbound("alice@example.com", "bob@example.com", "file"))
        .isInstanceOf(StatusRuntimeException.class);
  }
}
