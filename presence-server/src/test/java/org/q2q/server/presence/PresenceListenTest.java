package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.q2q.proto.Registered;

/** Listen sessions: registrations bound to the certificate's address, confirmed, dying with the stream. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PresenceListenTest {
  private PresenceHarness h;

  @BeforeEach
  void start() throws Exception {
    h = new PresenceHarness();
  }

  @AfterEach
  void stop() throws Exception {
    h.close();
  }

  @Test
  void offerAndWithdrawAreConfirmedForTheCertificatesAddress() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    Registered r = bob.offer("file", "web");
    assertThat(r.getAddress()).isEqualTo("bob@example.com");
    assertThat(r.getServicesList()).containsExactly("file", "web");
    r = bob.offer("file"); // idempotent
    assertThat(r.getServicesList()).containsExactly("file", "web");
    r = bob.withdraw("web", "never-offered");
    assertThat(r.getServicesList()).containsExactly("file");
  }

  @Test
  void heartbeatsAreEchoed() throws Exception {
    TestListener bob = h.listen("bob@example.com");
    assertThat(bob.heartbeat(42).getNonce()).isEqualTo(42);
    assertThat(bob.heartbeat(7).getNonce()).isEqualTo(7);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".internal", "bad\u0001name", "has space", "a/b",
      "x123456789012345678901234567890123456789012345678901234567890abcdef"})
  void badServiceNamesAreRefused(String name) throws Exception {
    TestListener bob = h.listen("bob@example.com");
    bob.send(org.q2q.proto.ListenUp.newBuilder()
        .setOffer(org.q2q.proto.Offer.newBuilder()
            .addServices(org.q2q.proto.ServiceOffer.newBuilder().setService(name)))
        .build());
    Status s = bob.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).contains("service name");
  }

  @Test
  void anAddressOfAnotherDomainCannotListenHere() throws Exception {
    TestListener carol = h.listen("carol@other.test");
    Status s = carol.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(s.getDescription()).contains("carol@other.test").contains("example.com");
  }

  @Test
  void aCallerWithoutCertificateIsUnauthenticated() throws Exception {
    TestListener anonymous = h.listen(null);
    assertThat(anonymous.awaitClosed().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void theDomainIdentityCannotListen() throws Exception {
    TestListener domain = h.listen("example.com");
    Status s = domain.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  @Test
  void aSilentListenStreamIsEndedAndItsRegistrationsDropped() throws Exception {
    h.close();
    // the idle check runs every 100 ms of real time; silence is measured on the harness's clock
    h = new PresenceHarness(PresenceConfig.defaults().withListenIdleTimeout(java.time.Duration.ofMillis(400)));
    TestListener silent = h.listen("bob@example.com");
    silent.offer("file");
    TestListener chatty = h.listen("carol@example.com");
    chatty.offer("file");
    h.clock.advance(java.time.Duration.ofMillis(300));
    assertThat(chatty.heartbeat(1).getNonce()).isEqualTo(1);
    h.clock.advance(java.time.Duration.ofMillis(200)); // bob silent 500 ms, carol 200 ms
    Status s = silent.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(s.getDescription()).contains("nothing heard");
    assertThat(chatty.closed).isNotDone();
    assertThat(chatty.heartbeat(2).getNonce()).isEqualTo(2);
    io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
        () -> h.blocking("alice@example.com").inbound(org.q2q.proto.InboundRequest.newBuilder()
            .setTo("bob@example.com").setService("file").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void concurrentListenCallsForOneAddressStayWithinTheCap() throws Exception {
    int n = PresenceService.MAX_LISTEN_SESSIONS_PER_ADDRESS * 2;
    java.util.List<TestListener> all = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      java.util.List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(pool.submit(() -> {
          go.await();
          all.add(h.listen("bob@example.com"));
          return null;
        }));
      }
      go.countDown();
      for (java.util.concurrent.Future<?> f : fs) {
        f.get(10, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    Await.until(java.time.Duration.ofSeconds(10), "refusals",
        () -> all.stream().filter(l -> l.closed.isDone()).count() == n - PresenceService.MAX_LISTEN_SESSIONS_PER_ADDRESS);
    assertThat(h.service.listenSessions()).isEqualTo(PresenceService.MAX_LISTEN_SESSIONS_PER_ADDRESS);
    all.forEach(TestListener::complete);
    Await.until(java.time.Duration.ofSeconds(10), "all ended", () -> h.service.listenSessions() == 0);
    assertThat(h.listen("bob@example.com").offer("file").getServicesList()).containsExactly("file");
  }

  @Test
  void theServerWideListenCapRefusesWithResourceExhausted() throws Exception {
    h.close();
    h = new PresenceHarness(PresenceConfig.defaults(), ListenLimits.defaults().withSessions(32, 3));
    for (String a : new String[] {"a@example.com", "b@example.com", "c@example.com"}) {
      h.listen(a).offer("file");
    }
    Status s = h.listen("d@example.com").awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("3 Listen streams");
  }

  @Test
  void tooManyListenStreamsForOneAddressAreRefused() throws Exception {
    for (int i = 0; i < PresenceService.MAX_LISTEN_SESSIONS_PER_ADDRESS; i++) {
      h.listen("bob@example.com").offer("file");
    }
    TestListener extra = h.listen("bob@example.com");
    Status s = extra.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(s.getDescription()).contains("bob@example.com");
    assertThat(h.listen("carol@example.com").offer("file").getServicesList()).containsExactly("file");
  }

  @Test
  void tooManyServicesAreRefused() throws Exception {
    h.close();
    h = new PresenceHarness(PresenceConfig.defaults().withListenLimits(2, 256));
    TestListener bob = h.listen("bob@example.com");
    bob.offer("a", "b");
    bob.send(org.q2q.proto.ListenUp.newBuilder()
        .setOffer(org.q2q.proto.Offer.newBuilder()
            .addServices(org.q2q.proto.ServiceOffer.newBuilder().setService("c")))
        .build());
    assertThat(bob.awaitClosed().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }
}
