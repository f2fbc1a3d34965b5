package org.q2q.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.server.LoopbackServer;

/** alice@a.test reaches bob@b.test through b.test's server; each side learns the other's CA. */
@Timeout(90)
class FederationTest {
  @TempDir Path dir;

  @Test
  void aUserOfOneDomainConnectsToAUserOfAnother() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer a = net.server("a.test");
      LoopbackServer b = net.server("b.test");
      ClientHome aliceHome = net.home(a, "alice@a.test");
      Q2qClient alice = net.track(Q2qClient.builder(aliceHome, Address.parse("alice@a.test")).environment(net.env()).build());
      ClientHome bobHome = net.home(b, "bob@b.test");
      Q2qClient bob = net.track(Q2qClient.builder(bobHome, Address.parse("bob@b.test")).environment(net.env()).build());
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);

      VirtualChannel ch = alice.connect(Address.parse("bob@b.test"), "echo").get(30, TimeUnit.SECONDS);
      assertThat(ch.remoteAddress()).isEqualTo(Address.parse("bob@b.test"));
      assertThat(PresenceReconnectTest.roundTrip(ch, "across domains")).isEqualTo("across domains");

      // both learned and pinned the other's CA on first use
      assertThat(aliceHome.pins().get("b.test")).contains(b.server().ca().certificate());
      assertThat(bobHome.pins().get("a.test")).contains(a.server().ca().certificate());
    }
  }

  /**
   * Review H4, peers of another domain: b.test's server cannot know that a.test revoked alice's
   * certificate, so bob asks a.test's server (its Revocation service) before accepting her.
   */
  @Test
  void aListenerDeclinesACallerWhoseOwnDomainRevokedItsCertificate() throws Exception {
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer a = net.server("a.test");
      LoopbackServer b = net.server("b.test");
      ClientHome aliceHome = net.home(a, "alice@a.test");
      Address alice = Address.parse("alice@a.test");
      Q2qClient bob = net.track(Q2qClient.builder(net.home(b, "bob@b.test"), Address.parse("bob@b.test"))
          .environment(net.env()).build());
      bob.listen("echo", TestNet::echo).ready().get(10, TimeUnit.SECONDS);

      // a.test revokes alice's certificate (as 'q2q server revoke' would)
      java.security.cert.X509Certificate cert = aliceHome.load(alice).orElseThrow().certificate();
      a.server().accounts().create(alice, "unused");
      a.server().accounts().recordCertificate(cert.getSerialNumber(), alice, cert.getNotAfter().toInstant());
      assertThat(a.server().accounts().revokeAll(alice, null, "stolen laptop")).isEqualTo(1);

      try (Q2qClient after = Q2qClient.builder(aliceHome, alice).environment(net.env()).build()) {
        assertThatThrownBy(() -> after.connect(Address.parse("bob@b.test"), "echo").get(30, TimeUnit.SECONDS))
            .hasMessageContaining("revoked");
      }
      // another user of a.test is unaffected
      Address carol = Address.parse("carol@a.test");
      try (Q2qClient other = Q2qClient.builder(net.home(a, "carol@a.test"), carol).environment(net.env()).build()) {
        VirtualChannel ch = other.connect(Address.parse("bob@b.test"), "echo").get(30, TimeUnit.SECONDS);
        assertThat(PresenceReconnectTest.roundTrip(ch, "not revoked")).isEqualTo("not revoked");
      }
    }
  }
}
