package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.CertificateRequestException.Kind;
import org.q2q.certstore.internal.Bc;

/** CSR checks: exactly CN=address + SAN q2q:address, valid self-signature (Vertex bug #18). */
class CertificationRequestTest {
  private final KeyPair kp = KeyPairs.generate();
  private static final Address ALICE = Address.parse("alice@example.com");

  /** A CSR with any subject and SAN URIs, signed by {@code kp}. */
  private static byte[] csr(KeyPair kp, String subject, String... uris) throws Exception {
    JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), kp.getPublic());
    if (uris.length > 0) {
      GeneralName[] names = new GeneralName[uris.length];
      for (int i = 0; i < uris.length; i++) {
        names[i] = new GeneralName(GeneralName.uniformResourceIdentifier, uris[i]);
      }
      ExtensionsGenerator gen = new ExtensionsGenerator();
      gen.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
      b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, gen.generate());
    }
    return b.build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(Bc.provider()).build(kp.getPrivate())).getEncoded();
  }

  private static void assertRefused(byte[] der, Kind kind, String message) {
    assertThatThrownBy(() -> CertificationRequest.parse(der))
        .isInstanceOfSatisfying(CertificateRequestException.class, e -> {
          assertThat(e.kind()).isEqualTo(kind);
          assertThat(e.getMessage()).contains(message);
        });
  }

  @Test
  void aRequestMadeByCreateParsesToItsAddressAndKey() throws Exception {
    CertificationRequest r = CertificationRequest.parse(CertificationRequest.create(kp, ALICE));
    assertThat(r.address()).isEqualTo(ALICE);
    assertThat(r.publicKey()).isEqualTo(kp.getPublic());
  }

  @Test
  void vertexStyleExtraSubjectAttributesAreRefused() throws Exception {
    assertRefused(csr(kp, "CN=HACKERX,L=INTERNETANIA", "q2q:HACKERX"), Kind.MALFORMED, "also has L=INTERNETANIA");
    assertRefused(csr(kp, "CN=alice@example.com,O=Evil Corp", "q2q:alice@example.com"), Kind.MALFORMED, "O=Evil Corp");
  }

  @Test
  void aCnThatIsNotAnAddressIsRefused() throws Exception {
    assertRefused(csr(kp, "CN=HACKERX", "q2q:HACKERX"), Kind.NOT_PERMITTED, "is a domain");
    assertRefused(csr(kp, "CN=a@b@c", "q2q:a@b@c"), Kind.MALFORMED, "more than one '@'");
    assertRefused(csr(kp, "L=INTERNETANIA", "q2q:alice@example.com"), Kind.MALFORMED, "exactly one CN");
  }

  @Test
  void theSanMustNameExactlyTheCnAddress() throws Exception {
    assertRefused(csr(kp, "CN=alice@example.com", "q2q:bob@example.com"), Kind.MALFORMED, "exactly q2q:alice@example.com");
    assertRefused(csr(kp, "CN=alice@example.com"), Kind.MALFORMED, "exactly q2q:alice@example.com");
    assertRefused(csr(kp, "CN=alice@example.com", "q2q:alice@example.com", "q2q:root@example.com"),
        Kind.MALFORMED, "exactly q2q:alice@example.com");
  }

  @Test
  void aBadSignatureIsRefused() throws Exception {
    // signed by one key, claiming another's public key
    byte[] good = CertificationRequest.create(kp, ALICE);
    KeyPair other = KeyPairs.generate();
    byte[] otherKey = other.getPublic().getEncoded();
    byte[] ours = kp.getPublic().getEncoded();
    byte[] swapped = replace(good, ours, otherKey);
    assertRefused(swapped, Kind.MALFORMED, "signature does not verify");
  }

  @Test
  void garbageIsRefused() {
    assertRefused("hello".getBytes(StandardCharsets.UTF_8), Kind.MALFORMED, "not valid PKCS#10");
    assertRefused(new byte[0], Kind.MALFORMED, "not valid PKCS#10");
    byte[] truncated = java.util.Arrays.copyOf(CertificationRequest.create(kp, ALICE), 40);
    assertThatThrownBy(() -> CertificationRequest.parse(truncated)).isInstanceOf(CertificateRequestException.class);
  }

  private static byte[] replace(byte[] in, byte[] what, byte[] with) {
    assertThat(what).hasSameSizeAs(with);
    for (int i = 0; i + what.length <= in.length; i++) {
      if (java.util.Arrays.equals(in, i, i + what.length, what, 0, what.length)) {
        byte[] out = in.clone();
        System.arraycopy(with, 0, out, i, with.length);
        return out;
      }
    }
    throw new AssertionError("not found");
  }
}
