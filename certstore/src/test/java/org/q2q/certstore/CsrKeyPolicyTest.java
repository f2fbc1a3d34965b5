package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.CertificateRequestException.Kind;

/**
 * Review L2: only the key types DESIGN names (EC P-256, Ed25519) are certified; and L1: an address
 * with '+' (allowed in a resource) can get a certificate.
 */
class CsrKeyPolicyTest {
  private static final Address ALICE = Address.parse("alice@example.com");

  private static KeyPair keys(String algorithm, Object spec) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
    if (spec instanceof Integer bits) {
      g.initialize(bits);
    } else if (spec instanceof ECGenParameterSpec ec) {
      g.initialize(ec);
    }
    return g.generateKeyPair();
  }

  @Test
  void p256AndEd25519AreAccepted() throws Exception {
    assertThat(CertificationRequest.parse(CertificationRequest.create(KeyPairs.generate(), ALICE)).address())
        .isEqualTo(ALICE);
    KeyPair ed = keys("Ed25519", null);
    assertThat(CertificationRequest.parse(CertificationRequest.create(ed, ALICE)).publicKey().getEncoded())
        .isEqualTo(ed.getPublic().getEncoded());
  }

  @Test
  void rsaAndOtherCurvesAreRefusedNamingTheType() throws Exception {
    assertThatThrownBy(() -> CertificationRequest.parse(CertificationRequest.create(keys("RSA", 2048), ALICE)))
        .isInstanceOfSatisfying(CertificateRequestException.class, e -> {
          assertThat(e.kind()).isEqualTo(Kind.MALFORMED);
          assertThat(e.getMessage()).contains("EC P-256 or Ed25519").contains("1.2.840.113549.1.1.1");
        });
    KeyPair p384 = keys("EC", new ECGenParameterSpec("secp384r1"));
    assertThatThrownBy(() -> CertificationRequest.parse(CertificationRequest.create(p384, ALICE)))
        .isInstanceOf(CertificateRequestException.class).hasMessageContaining("EC on 1.3.132.0.34");
  }

  @Test
  void anAddressWithPlusGetsACertificate() throws Exception {
    Address plus = Address.parse("a+b@example.com");
    CertificationRequest csr = CertificationRequest.parse(CertificationRequest.create(KeyPairs.generate(), plus));
    assertThat(csr.address()).isEqualTo(plus);
    CertificateAuthority ca = CertificateAuthority.create(Address.ofDomain("example.com"), Clock.systemUTC());
    assertThat(Certificates.addressOf(ca.sign(csr, Duration.ofDays(1)).get(0))).contains(plus);
    assertThat(Certificates.addressOf(ca.issueIdentity(plus, Duration.ofDays(1)).certificate())).contains(plus);
  }
}
