package org.q2q.certstore;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.q2q.certstore.internal.Bc;

/**
 * Test-only certificate builder for shapes the CA never makes (intermediates, odd validity,
 * chosen issuers): {@code new TestCertificates.Spec("alice@x").ca(1).validity(a, b).issuedBy(parent)}.
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

    Bundle selfSigned() {
      KeyPair kp = KeyPairs.generate();
      return build(kp, X500Name.getInstance(Bc.cn(name)), kp.getPrivate(), null);
    }

    Bundle issuedBy(Bundle issuer) {
      return build(KeyPairs.generate(), null, issuer.privateKey(), issuer.certificate());
    }

    private Bundle build(KeyPair kp, X500Name selfIssuer, PrivateKey signer, X509Certificate issuer) {
      try {
        X500Name subject = Bc.cn(name);
        X500Name issuerName = issuer == null ? selfIssuer : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
            issuerName, new BigInteger(128, new java.security.SecureRandom()).setBit(127),
            Date.from(notBefore), Date.from(notAfter), subject, kp.getPublic());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
        if (issuer != null) {
          b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer));
        }
        if (pathLen != null) {
          b.addExtension(Extension.basicConstraints, true, new BasicConstraints(pathLen));
          b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
          b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
          b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        }
        b.addExtension(Extension.subjectAlternativeName, false,
            new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, "q2q:" + name)));
        X509Certificate cert = new JcaX509CertificateConverter().setProvider(Bc.PROVIDER)
            .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(Bc.PROVIDER).build(signer)));
        return new Bundle(kp, cert);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
