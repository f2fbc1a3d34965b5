package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.netty.util.concurrent.Future;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.Identity;
import org.q2q.client.PeerSessionException;
import org.q2q.client.Q2qErrorCode;

/** TLS + Hello establishment over real loopback TCP with real certificates. */
@Timeout(30)
class PeerSessionHandshakeTest {
  private final Loopback net = new Loopback();

  @AfterEach
  void tearDown() {
    net.close();
  }

  static PeerSessionConfig.Builder initiator(Identity me, Address expected) {
    return PeerSessionConfig.builder(me, TestPki.TRUST_BOTH, PeerRole.INITIATOR).expectedPeer(expected).listenerId("listener-42");
  }

  static PeerSessionConfig.Builder acceptor(Identity me) {
    return PeerSessionConfig.builder(me, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR);
  }

  @Test
  void bothSidesSeeTheOthersVerifiedAddress() throws Exception {
    net.listen(acceptor(TestPki.BOB).expectedPeer(TestPki.ALICE.address()).route(org.q2q.client.Route.relay("server:1")).build(), null);
    Loopback.Pair p = net.pair(initiator(TestPki.ALICE, TestPki.BOB.address()).route(org.q2q.client.Route.relay("server:1")).build());

    assertThat(p.initiator().remoteAddress()).isEqualTo(TestPki.BOB.address());
    assertThat(p.initiator().localAddress()).isEqualTo(TestPki.ALICE.address());
    assertThat(p.acceptor().remoteAddress()).isEqualTo(TestPki.ALICE.address());
    assertThat(p.acceptor().listenerId()).isEqualTo("listener-42");
    assertThat(p.initiator().role()).isEqualTo(PeerRole.INITIATOR);
    assertThat(p.acceptor().route().kind()).isEqualTo(org.q2q.client.Route.Kind.RELAY);
  }

  @Test
  void crossDomainPeersVerifyEachOtherWithTheirOwnCas() throws Exception {
    net.listen(acceptor(TestPki.CAROL).build(), null);
    Loopback.Pair p = net.pair(initiator(TestPki.ALICE, TestPki.CAROL.address()).build());

    assertThat(p.initiator().remoteAddress()).isEqualTo(Address.parse("carol@b.test"));
    assertThat(p.acceptor().remoteAddress()).isEqualTo(Address.parse("alice@a.test"));
  }

  @Test
  void initiatorExpectingSomeoneElseFailsNamingBoth() throws Exception {
    net.listen(acceptor(TestPki.BOB).build(), null);
    Future<PeerSession> f = net.startInitiator(initiator(TestPki.ALICE, Address.parse("carol@b.test")).build());

    Throwable t = failure(f);
    assertThat(t).isInstanceOf(PeerSessionException.class);
    assertThat(((PeerSessionException) t).code()).isEqualTo(Q2qErrorCode.WRONG_PEER);
    assertThat(t).hasMessageContaining("carol@b.test").hasMessageContaining("bob@a.test");
    // The acceptor's attempt fails too, and says the peer gave up on TLS.
    Throwable acc = failure(net.acceptorStart.get(10, TimeUnit.SECONDS));
    assertThat(acc).isInstanceOf(PeerSessionException.class);
  }

  @Test
  void acceptorExpectingSomeoneElseRejectsTheInitiator() throws Exception {
    net.listen(acceptor(TestPki.BOB).expectedPeer(TestPki.CAROL.address()).build(), null);
    Future<PeerSession> f = net.startInitiator(initiator(TestPki.ALICE, TestPki.BOB.address()).build());

    Throwable acc = failure(net.acceptorStart.get(10, TimeUnit.SECONDS));
    assertThat(acc).hasMessageContaining("expected a certificate for carol@b.test but the peer is alice@a.test");
    assertThat(((PeerSessionException) acc).code()).isEqualTo(Q2qErrorCode.WRONG_PEER);
    Throwable init = failure(f);
    assertThat(init).isInstanceOf(PeerSessionException.class).hasMessageContaining("bob@a.test");
  }

  @Test
  void peerWithCertificateFromUntrustedCaIsRejected() throws Exception {
    // Mallory holds a certificate for bob@a.test from a CA that is not a.test's real one.
    net.listen(acceptor(TestPki.MALLORY_AS_BOB).build(), null);
    Future<PeerSession> f = net.startInitiator(initiator(TestPki.ALICE, TestPki.BOB.address()).build());

    Throwable t = failure(f);
    assertThat(((PeerSessionException) t).code()).isEqualTo(Q2qErrorCode.WRONG_PEER);
    assertThat(t).hasMessageContaining("rejected the peer's certificate");
  }

  @Test
  void peerFromDomainWithNoKnownCaIsRejected() throws Exception {
    net.listen(
        PeerSessionConfig.builder(TestPki.BOB, TestPki.resolver(Map.of("a.test", TestPki.CA_A.certificate())), PeerRole.ACCEPTOR)
            .build(),
        null);
    Future<PeerSession> f = net.startInitiator(initiator(TestPki.CAROL, TestPki.BOB.address()).build());

    Throwable acc = failure(net.acceptorStart.get(10, TimeUnit.SECONDS));
    assertThat(acc).hasMessageContaining("no trusted CA known for domain b.test");
    assertThat(failure(f)).isInstanceOf(PeerSessionException.class);
  }

  @Test
  void silentPeerTimesOutTheHandshake() throws Exception {
    net.listen(null, null); // accepts TCP, never speaks TLS
    Future<PeerSession> f = net.startInitiator(
        initiator(TestPki.ALICE, TestPki.BOB.address()).handshakeTimeout(java.time.Duration.ofMillis(500)).build());

    Throwable t = failure(f);
    assertThat(t).isInstanceOf(PeerSessionException.class).hasMessageContaining("timed out");
  }

  static Throwable failure(Future<?> f) throws InterruptedException {
    Throwable t = catchThrowable(() -> f.get(10, TimeUnit.SECONDS));
    assertThat(t).as("the future must fail").isInstanceOf(ExecutionException.class);
    return t.getCause();
  }
}
