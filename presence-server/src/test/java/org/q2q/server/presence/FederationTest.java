package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.Identity;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.ListenDown;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayRole;
import org.q2q.server.LoopbackServer;

/**
 * Two real servers, a.test and b.test, on 127.0.0.1: alice@a.test reaches bob@b.test through
 * b.test's server, which learns a.test's CA by Identify against a.test's server and pins it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FederationTest {
  private LoopbackServer a;
  private LoopbackServer b;
  private TlsChannels channels;
  /** Where b.test finds other domains' servers (tests change it). */
  private final Map<String, InetSocketAddress> where = new java.util.concurrent.ConcurrentHashMap<>();

  @BeforeEach
  void start() throws Exception {
    a = LoopbackServer.start("a.test", x -> {});
    where.put("a.test", InetSocketAddress.createUnresolved("127.0.0.1", a.port()));
    // a server that answers for another domain: its certificate names a.test
    where.put("liar.test", InetSocketAddress.createUnresolved("127.0.0.1", a.port()));
    // nobody listens on port 1
    where.put("down.test", InetSocketAddress.createUnresolved("127.0.0.1", 1));
    b = LoopbackServer.start("b.test", x -> x.presence(PresenceConfig.defaults().withFederation(
        d -> where.getOrDefault(d, InetSocketAddress.createUnresolved(d, 8788)))));
    channels = new TlsChannels();
  }

  @AfterEach
  void stop() throws Exception {
    channels.close();
    b.close();
    a.close();
  }

  private PresenceGrpc.PresenceBlockingStub atB(Identity who) throws Exception {
    return PresenceGrpc.newBlockingStub(channels.open(b.server(), who)).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static InboundRequest toBob() {
    return InboundRequest.newBuilder().setTo("bob@b.test").setService("chat").build();
  }

  @Test
  void aliceAtATestReachesBobAtBTestThroughBTestsServer() throws Exception {
    Identity alice = a.issueIdentity("alice@a.test");
    Identity bob = b.issueIdentity("bob@b.test");
    PresenceGrpc.PresenceStub bobStub = PresenceGrpc.newStub(channels.open(b.server(), bob));
    TestListener listener = new TestListener(bobStub);
    listener.offer("chat");
    assertThat(b.server().domainCas().caFor("a.test")).isEmpty();

    InboundResponse r = atB(alice).inbound(toBob());

    assertThat(r.getListenersCount()).isEqualTo(1);
    InboundQuery q = listener.queries.poll(5, TimeUnit.SECONDS);
    assertThat(q.getFrom()).isEqualTo("alice@a.test");
    // b.test learned and pinned a.test's real CA
    assertThat(b.server().domainCas().caFor("a.test")).isPresent();
    assertThat(Fingerprint.of(b.server().domainCas().caFor("a.test").get())).isEqualTo(a.server().ca().fingerprint());

    String id = r.getListeners(0).getId();
    RelayPeer connector = RelayPeer.open(PresenceGrpc.newStub(channels.open(b.server(), alice)), id,
        RelayRole.RELAY_ROLE_CONNECTOR);
    assertThat(listener.next(ListenDown.KindCase.RELAY_OPEN).getRelayOpen().getFrom()).isEqualTo("alice@a.test");
    RelayPeer accepted = RelayPeer.open(bobStub, id, RelayRole.RELAY_ROLE_LISTENER);
    connector.awaitSpliced();
    accepted.awaitSpliced();
    connector.send("hi bob, from a.test".getBytes(StandardCharsets.UTF_8));
    accepted.send("hi alice".getBytes(StandardCharsets.UTF_8));
    Await.until(Duration.ofSeconds(10), "both messages", () ->
        accepted.receivedBytes.get() == 19 && connector.receivedBytes.get() == 8);
    assertThat(new String(accepted.firstBytes(), StandardCharsets.UTF_8)).isEqualTo("hi bob, from a.test");
    assertThat(new String(connector.firstBytes(), StandardCharsets.UTF_8)).isEqualTo("hi alice");
    connector.halfClose();
    assertThat(accepted.awaitClosed().isOk()).isTrue();
  }

  @Test
  void aDifferentCaForAnAlreadyLearnedDomainIsRefused() throws Exception {
    Identity bob = b.issueIdentity("bob@b.test");
    new TestListener(PresenceGrpc.newStub(channels.open(b.server(), bob))).offer("chat");
    assertThat(atB(a.issueIdentity("alice@a.test")).inbound(toBob()).getListenersCount()).isEqualTo(1);

    // an impostor a.test with its own CA: its users are not a.test users for b.test
    try (LoopbackServer impostor = LoopbackServer.start("a.test", x -> {})) {
      Identity fake = impostor.issueIdentity("alice@a.test");
      StatusRuntimeException e = failure(() -> atB(fake).inbound(toBob()));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(Fingerprint.of(b.server().domainCas().caFor("a.test").get())).isEqualTo(a.server().ca().fingerprint());
    }
  }

  @Test
  void aLearnedCaIsPinnedOnDiskAndSurvivesARestart() throws Exception {
    Identity alice = a.issueIdentity("alice@a.test");
    Identity bob = b.issueIdentity("bob@b.test");
    new TestListener(PresenceGrpc.newStub(channels.open(b.server(), bob))).offer("chat");
    assertThat(atB(alice).inbound(toBob()).getListenersCount()).isEqualTo(1);

    b.restart(); // same data folder, empty memory
    where.put("a.test", InetSocketAddress.createUnresolved("127.0.0.1", 1)); // a.test's server is gone
    assertThat(b.server().domainCas().caFor("a.test")).isEmpty();
    new TestListener(PresenceGrpc.newStub(channels.open(b.server(), bob))).offer("chat");
    assertThat(atB(alice).inbound(toBob()).getListenersCount()).isEqualTo(1); // from the pin
    assertThat(Fingerprint.of(b.server().domainCas().caFor("a.test").get())).isEqualTo(a.server().ca().fingerprint());

    // after another restart an impostor a.test server is not believed either: the pin wins
    b.restart();
    try (LoopbackServer impostor = LoopbackServer.start("a.test", x -> {})) {
      where.put("a.test", InetSocketAddress.createUnresolved("127.0.0.1", impostor.port()));
      new TestListener(PresenceGrpc.newStub(channels.open(b.server(), bob))).offer("chat");
      StatusRuntimeException e = failure(() -> atB(impostor.issueIdentity("alice@a.test")).inbound(toBob()));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    }
  }

  @Test
  void aServerAnsweringForAnotherDomainIsNotBelieved() throws Exception {
    // liar.test's "server" is a.test's: its certificate names a.test, so nothing is learned
    Identity forged = LoopbackCa.issue("mallory@liar.test");
    StatusRuntimeException e = failure(() -> atB(forged).inbound(toBob()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(e.getStatus().getDescription()).contains("liar.test").contains("the server's log says why")
        .doesNotContain("a.test"); // the details stay in the log (M1)
    assertThat(b.server().domainCas().caFor("liar.test")).isEmpty();
  }

  @Test
  void anUnreachableDomainServerGivesUnauthenticatedNamingTheDomain() throws Exception {
    Identity carol = LoopbackCa.issue("carol@down.test");
    StatusRuntimeException e = failure(() -> atB(carol).inbound(toBob()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(e.getStatus().getDescription()).contains("down.test").contains("could not be learned")
        .doesNotContainIgnoringCase("refused").doesNotContain("127.0.0.1"); // no probing oracle (M1)
  }

  @Test
  void foreignAddressesCannotListenHere() throws Exception {
    TestListener alice = new TestListener(PresenceGrpc.newStub(channels.open(b.server(), a.issueIdentity("alice@a.test"))));
    Status s = alice.awaitClosed();
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(s.getDescription()).contains("a.test");
  }

  private interface Call {
    void run() throws Exception;
  }

  private static StatusRuntimeException failure(Call c) throws Exception {
    try {
      c.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("expected a failure");
  }

  /** Identities of domains that have no real server here (a throwaway CA per domain). */
  private static final class LoopbackCa {
    static Identity issue(String address) throws Exception {
      org.q2q.certstore.Address addr = org.q2q.certstore.Address.parse(address);
      return org.q2q.certstore.CertificateAuthority
          .create(addr.domainAddress(), java.time.Clock.systemUTC())
          .issueIdentity(addr, Duration.ofDays(1));
    }
  }
}
