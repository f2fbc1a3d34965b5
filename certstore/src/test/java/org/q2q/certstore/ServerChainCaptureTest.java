package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertificateException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The one Identify check (register, the client's learning of other domains' CAs, the server's
 * federation): each way a server could hand out a CA that is not the domain's is refused, including
 * those the client's learner used to let through (an answer for another domain, a CA naming
 * another domain).
 */
class ServerChainCaptureTest {
  private static final Address DOMAIN = Address.ofDomain("a.test");
  private static final Clock CLOCK = Clock.systemUTC();

  private static ServerChainCapture captured(CertificateAuthority ca, Address serverName) throws Exception {
    ServerChainCapture c = new ServerChainCapture(DOMAIN, false);
    Identity server = ca.issueServerIdentity(List.of(serverName.domain()), List.of(), Duration.ofDays(1));
    // what the TLS handshake does with the server's chain
    c.checkServerTrusted(server.chainArray(), "ECDHE_ECDSA");
    return c;
  }

  private static byte[] der(CertificateAuthority ca) {
    return Certificates.toDer(ca.certificate());
  }

  @Test
  void theDomainsOwnCaIsAccepted() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(DOMAIN, CLOCK);
    assertThat(captured(ca, DOMAIN).verifyIdentified(der(ca), "A.test", Instant.now())).isEqualTo(ca.certificate());
  }

  @Test
  void anAnswerForAnotherDomainOrNoneIsRefused() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(DOMAIN, CLOCK);
    ServerChainCapture c = captured(ca, DOMAIN);
    assertThatThrownBy(() -> c.verifyIdentified(der(ca), "b.test", Instant.now()))
        .isInstanceOf(CertificateException.class).hasMessageContaining("answered for 'b.test'");
    assertThatThrownBy(() -> c.verifyIdentified(der(ca), "", Instant.now()))
        .isInstanceOf(CertificateException.class).hasMessageContaining("answered for ''");
  }

  @Test
  void aCaOfAnotherDomainOrACaThatDidNotIssueTheServersCertificateIsRefused() throws Exception {
    CertificateAuthority real = CertificateAuthority.create(DOMAIN, CLOCK);
    CertificateAuthority other = CertificateAuthority.create(Address.ofDomain("b.test"), CLOCK);
    CertificateAuthority impostor = CertificateAuthority.create(DOMAIN, CLOCK);
    ServerChainCapture c = captured(real, DOMAIN);
    assertThatThrownBy(() -> c.verifyIdentified(der(other), "a.test", Instant.now()))
        .isInstanceOf(CertificateException.class).hasMessageContaining("names 'b.test'");
    assertThatThrownBy(() -> c.verifyIdentified(der(impostor), "a.test", Instant.now()))
        .isInstanceOf(CertificateException.class).hasMessageContaining("intercepting");
  }

  @Test
  void aLeafInsteadOfACaAndAnExpiredCaAreRefused() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(DOMAIN, CLOCK);
    ServerChainCapture c = captured(ca, DOMAIN);
    Identity server = ca.issueServerIdentity(List.of(DOMAIN.domain()), List.of(), Duration.ofDays(1));
    assertThatThrownBy(() -> c.verifyIdentified(Certificates.toDer(server.certificate()), "a.test", Instant.now()))
        .isInstanceOf(CertificateException.class).hasMessageContaining("not a self-signed CA");
    assertThatThrownBy(() -> c.verifyIdentified(der(ca), "a.test", Instant.now().plus(Duration.ofDays(4000))))
        .isInstanceOf(CertificateException.class).hasMessageContaining("not usable");
  }
}
