package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The key manager that presents one identity: real JDK TLS 1.3 between two engines in memory. */
@Timeout(30)
class IdentityKeyManagerTest {
  private final CertificateAuthority ca = CertificateAuthority.create(Address.ofDomain("example.com"), Clock.systemUTC());
  @TempDir Path dir;

  @Test
  void offersItsKeyOnlyForItsKeyType() throws Exception {
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    IdentityKeyManager km = new IdentityKeyManager(alice);
    assertThat(km.chooseEngineServerAlias("EC", null, null)).isNotNull();
    assertThat(km.chooseEngineServerAlias("RSA", null, null)).isNull();
    String alias = km.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, null);
    assertThat(km.getPrivateKey(alias)).isEqualTo(alice.privateKey());
    assertThat(km.getCertificateChain(alias)).containsExactly(alice.chainArray());
    assertThat(km.getPrivateKey("other")).isNull();
  }

  @Test
  void bothSidesAuthenticateWithTheIdentitiesReadBackFromDisk() throws Exception {
    ClientHome home = new ClientHome(dir);
    home.save(ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1)));
    home.save(ca.issueIdentity(Address.parse("bob@example.com"), Duration.ofDays(1)));
    Identity alice = home.load(Address.parse("alice@example.com")).orElseThrow();
    Identity bob = home.load(Address.parse("bob@example.com")).orElseThrow();

    SSLEngine client = engine(alice, Address.parse("bob@example.com"), true);
    SSLEngine server = engine(bob, Address.parse("alice@example.com"), false);
    server.setNeedClientAuth(true);
    handshake(client, server);
    assertThat(Certificates.addressOf((java.security.cert.X509Certificate) server.getSession().getPeerCertificates()[0]))
        .contains(Address.parse("alice@example.com"));
    assertThat(Certificates.addressOf((java.security.cert.X509Certificate) client.getSession().getPeerCertificates()[0]))
        .contains(Address.parse("bob@example.com"));
  }

  private SSLEngine engine(Identity me, Address peer, boolean clientMode) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    AddressTrustManager trust = new AddressTrustManager(
        domain -> domain.equals("example.com") ? java.util.Optional.of(ca.certificate()) : java.util.Optional.empty(),
        AddressTrustManager.AddressCheck.exactly(peer), Clock.systemUTC());
    ctx.init(new KeyManager[] {new IdentityKeyManager(me)}, new TrustManager[] {trust}, new SecureRandom());
    SSLEngine e = ctx.createSSLEngine();
    e.setUseClientMode(clientMode);
    return e;
  }

  private static void handshake(SSLEngine a, SSLEngine b) throws Exception {
    ByteBuffer empty = ByteBuffer.allocate(0);
    ByteBuffer aToB = ByteBuffer.allocate(1 << 17);
    ByteBuffer bToA = ByteBuffer.allocate(1 << 17);
    ByteBuffer sink = ByteBuffer.allocate(1 << 17);
    a.beginHandshake();
    b.beginHandshake();
    for (int i = 0; i < 100 && !(done(a) && done(b)); i++) {
      step(a, empty, aToB, bToA, sink);
      step(b, empty, bToA, aToB, sink);
    }
    assertThat(done(a) && done(b)).as("handshake finished").isTrue();
  }

  private static boolean done(SSLEngine e) {
    HandshakeStatus s = e.getHandshakeStatus();
    return s == HandshakeStatus.NOT_HANDSHAKING || s == HandshakeStatus.FINISHED;
  }

  private static void step(SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer sink) throws Exception {
    Runnable task;
    while ((task = e.getDelegatedTask()) != null) {
      task.run();
    }
    e.wrap(empty, out);
    in.flip();
    if (in.hasRemaining()) {
      e.unwrap(in, sink);
    }
    in.compact();
    while ((task = e.getDelegatedTask()) != null) {
      task.run();
    }
  }
}
