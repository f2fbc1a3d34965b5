package org.q2q.certstore;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import org.q2q.certstore.internal.CertificateBuilder;

/**
 * Test shapes the domain CA never makes (intermediates, odd validity, chosen issuers), on the
 * same builder: {@code new TestCertificates.Spec("alice@x").validity(a, b).issuedBy(parent)}.
 */
final class TestCertificates {
  private TestCertificates() {}

  /** A key pair and its certificate. */
  record Bundle(KeyPair keyPair, X509Certificate certificate) {
    PrivateKey privateKey() {
      return keyPair.getPrivate();
    }
  }

  /** What to build. */
  static final class Spec {
    private final String name;
    private Integer pathLen; // null: not a CA
    private Instant notBefore = Instant.now().minusSeconds(3600);
    private Instant notAfter = Instant.now().plusSeconds(86_400);

    Spec(String name) {
      this.name = name;
    }

    /** A CA with this path length constraint. */
    Spec ca(int pathLen) {
      this.pathLen = pathLen;
      return this;
    }

    Spec validity(Instant from, Instant until) {
      this.notBefore = from;
      this.notAfter = until;
      return this;
    }

    private CertificateBuilder builder(KeyPair kp) {
      CertificateBuilder b = pathLen != null ? CertificateBuilder.ca(pathLen) : CertificateBuilder.identity();
      return b.subject(name).uri("q2q:" + name).key(kp.getPublic()).validity(notBefore, notAfter);
    }

    Bundle selfSigned() {
      KeyPair kp = KeyPairs.generate();
      return new Bundle(kp, builder(kp).selfSigned(kp.getPrivate()));
    }

    Bundle issuedBy(Bundle issuer) {
      KeyPair kp = KeyPairs.generate();
      return new Bundle(kp, builder(kp).issuedBy(issuer.certificate(), issuer.privateKey()));
    }

    /** Bypasses the builder's CA check, to forge a chain through a non-CA (PKIX must refuse it). */
    Bundle forgedBy(Bundle notACa) {
      KeyPair kp = KeyPairs.generate();
      X509Certificate fakeIssuer = new Spec(Certificates.commonName(notACa.certificate())).ca(0)
          .selfSignedWithKey(notACa.keyPair()).certificate();
      return new Bundle(kp, builder(kp).issuedBy(fakeIssuer, notACa.privateKey()));
    }

    private Bundle selfSignedWithKey(KeyPair kp) {
      return new Bundle(kp, builder(kp).selfSigned(kp.getPrivate()));
    }
  }
}
