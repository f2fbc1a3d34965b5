package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertificateException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.TestCertificates.Bundle;
import org.q2q.certstore.TestCertificates.Spec;

/** Chain validation with the JDK PKIX validator: root -> leaf, root -> intermediate -> leaf. */
class ChainValidatorTest {
  private static final Instant NOW = Instant.parse("2026-11-21T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private final CertificateAuthority ca = CertificateAuthority.create(Address.ofDomain("example.com"), CLOCK);

  @Test
  void aLeafIssuedByTheCaValidatesToItsAddress() throws Exception {
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(365));
    assertThat(ChainValidator.validate(alice.chain(), ca.certificate(), NOW)).isEqualTo(Address.parse("alice@example.com"));
    // without the trailing CA copy too
    assertThat(ChainValidator.validate(List.of(alice.certificate()), ca.certificate(), NOW.plus(Duration.ofDays(364))))
        .isEqualTo(Address.parse("alice@example.com"));
  }

  @Test
  void anExpiredLeafIsRefusedSayingWhen() throws Exception {
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    assertThatThrownBy(() -> ChainValidator.validate(alice.chain(), ca.certificate(), NOW.plus(Duration.ofDays(2))))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("the certificate of alice@example.com expired at " + alice.notAfter());
  }

  @Test
  void aNotYetValidLeafIsRefused() throws Exception {
    Bundle root = new Spec("example.com").ca(0).validity(NOW.minus(Duration.ofDays(10)), NOW.plus(Duration.ofDays(10))).selfSigned();
    Bundle leaf = new Spec("alice@example.com").validity(NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(2))).issuedBy(root);
    assertThatThrownBy(() -> ChainValidator.validate(List.of(leaf.certificate()), root.certificate(), NOW))
        .hasMessageContaining("alice@example.com is not valid before " + NOW.plus(Duration.ofDays(1)));
  }

  @Test
  void aLeafOfAnotherCaForTheSameDomainIsRefusedAsWrongIssuer() throws Exception {
    CertificateAuthority other = CertificateAuthority.create(Address.ofDomain("example.com"), CLOCK);
    Identity mallory = other.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    assertThatThrownBy(() -> ChainValidator.validate(mallory.chain(), ca.certificate(), NOW))
        .hasMessageContaining("alice@example.com was not issued by the CA of example.com");
  }

  @Test
  void aCaVouchesOnlyForItsOwnDomain() throws Exception {
    Bundle root = new Spec("example.com").ca(0).selfSigned();
    Bundle leaf = new Spec("bob@other.test").issuedBy(root);
    assertThatThrownBy(() -> ChainValidator.validate(List.of(leaf.certificate()), root.certificate(), Instant.now()))
        .hasMessageContaining("the CA of example.com may not certify bob@other.test");
  }

  @Test
  void anExpiredCaIsRefused() throws Exception {
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    Instant afterCa = NOW.plus(CertificateAuthority.CA_VALIDITY).plus(Duration.ofDays(1));
    assertThatThrownBy(() -> ChainValidator.validate(alice.chain(), ca.certificate(), afterCa))
        .hasMessageContaining("the CA certificate of example.com expired");
  }

  @Test
  void rootIntermediateLeafValidatesWithThePkixValidator() throws Exception {
    Bundle root = new Spec("example.com").ca(1).selfSigned();
    Bundle intermediate = new Spec("example.com").ca(0).issuedBy(root);
    Bundle leaf = new Spec("alice@example.com").issuedBy(intermediate);
    assertThat(ChainValidator.validate(
            List.of(leaf.certificate(), intermediate.certificate(), root.certificate()), root.certificate(), Instant.now()))
        .isEqualTo(Address.parse("alice@example.com"));

    // the intermediate is required: the root did not sign the leaf
    assertThatThrownBy(() -> ChainValidator.validate(List.of(leaf.certificate()), root.certificate(), Instant.now()))
        .hasMessageContaining("was not issued by the CA of example.com");
  }

  @Test
  void anIntermediateUnderARootWithPathLengthZeroIsRefused() throws Exception {
    Bundle root = new Spec("example.com").ca(0).selfSigned(); // like our domain CAs: no intermediates
    Bundle intermediate = new Spec("example.com").ca(0).issuedBy(root);
    Bundle leaf = new Spec("alice@example.com").issuedBy(intermediate);
    assertThatThrownBy(() -> ChainValidator.validate(
            List.of(leaf.certificate(), intermediate.certificate()), root.certificate(), Instant.now()))
        .hasMessageContaining("allows 0 intermediate CA(s), the chain has 1");
  }

  @Test
  void aLeafPosingAsAnIntermediateCannotIssue() throws Exception {
    Bundle root = new Spec("example.com").ca(1).selfSigned();
    Bundle notCa = new Spec("bob@example.com").issuedBy(root);
    Bundle forged = new Spec("alice@example.com").forgedBy(notCa);
    assertThatThrownBy(() -> ChainValidator.validate(
            List.of(forged.certificate(), notCa.certificate()), root.certificate(), Instant.now()))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  void anExpiredIntermediateIsRefused() throws Exception {
    Instant now = Instant.now();
    Bundle root = new Spec("example.com").ca(1).selfSigned();
    Bundle intermediate = new Spec("example.com").ca(0)
        .validity(now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1))).issuedBy(root);
    Bundle leaf = new Spec("alice@example.com").issuedBy(intermediate);
    assertThatThrownBy(() -> ChainValidator.validate(
            List.of(leaf.certificate(), intermediate.certificate()), root.certificate(), now))
        .hasMessageContaining("expired");
  }

  @Test
  void emptyChainsAndCaOnlyChainsAreRefused() {
    assertThatThrownBy(() -> ChainValidator.validate(List.of(), ca.certificate(), NOW)).hasMessageContaining("empty");
    assertThatThrownBy(() -> ChainValidator.validate(List.of(ca.certificate()), ca.certificate(), NOW))
        .hasMessageContaining("only the CA certificate");
  }
}
