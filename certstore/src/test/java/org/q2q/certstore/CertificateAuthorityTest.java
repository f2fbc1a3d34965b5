package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The domain CA: creation, storage, and what it signs. */
class CertificateAuthorityTest {
  private static final Instant NOW = Instant.parse("2026-11-21T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final Address DOMAIN = Address.ofDomain("example.com");

  @TempDir Path dir;

  @Test
  void theCaIsCreatedOnceStoredPrivatelyAndLoadedAfter() throws Exception {
    CertificateAuthority first = CertificateAuthority.loadOrCreate(dir.resolve("data"), DOMAIN, CLOCK);
    assertThat(Files.getPosixFilePermissions(dir.resolve("data/ca.key"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(Files.getPosixFilePermissions(dir.resolve("data"))).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    CertificateAuthority again = CertificateAuthority.loadOrCreate(dir.resolve("data"), DOMAIN, CLOCK);
    assertThat(again.fingerprint()).isEqualTo(first.fingerprint());
    // the loaded key still signs certificates the stored certificate validates
    Identity alice = again.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    assertThat(ChainValidator.validate(alice.chain(), first.certificate(), NOW)).isEqualTo(alice.address());
  }

  @Test
  void aDataFolderOfAnotherDomainOrWithAnExposedKeyIsRefused() throws Exception {
    CertificateAuthority.loadOrCreate(dir, DOMAIN, CLOCK);
    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, Address.ofDomain("other.test"), CLOCK))
        .hasMessageContaining("is for domain 'example.com', not 'other.test'");
    Files.setPosixFilePermissions(dir.resolve("ca.key"), PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, DOMAIN, CLOCK)).hasMessageContaining("too open");
    Files.delete(dir.resolve("ca.key"));
    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, DOMAIN, CLOCK)).hasMessageContaining("incomplete CA");
  }

  @Test
  void theCaCertificateIsAProperSelfSignedCa() throws Exception {
    X509Certificate c = CertificateAuthority.create(DOMAIN, CLOCK).certificate();
    c.verify(c.getPublicKey());
    assertThat(c.getBasicConstraints()).isEqualTo(0);
    assertThat(c.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
    assertThat(c.getKeyUsage()[5]).isTrue(); // keyCertSign
    assertThat(Certificates.addressOf(c)).contains(DOMAIN);
    assertThat(c.getPublicKey().getAlgorithm()).isEqualTo("EC");
  }

  @Test
  void userCertificatesNameTheAddressHaveRandomLongSerialsAndBoundedValidity() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(DOMAIN, CLOCK);
    Set<java.math.BigInteger> serials = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      X509Certificate leaf = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(365)).certificate();
      assertThat(leaf.getSerialNumber().bitLength()).isGreaterThanOrEqualTo(128);
      serials.add(leaf.getSerialNumber());
    }
    assertThat(serials).hasSize(20); // Vertex gave every user of a domain the same serial

    X509Certificate leaf = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(365)).certificate();
    assertThat(Certificates.commonName(leaf)).isEqualTo("alice@example.com");
    assertThat(Certificates.addressOf(leaf)).contains(Address.parse("alice@example.com"));
    assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(365)));
    assertThat(leaf.getNotBefore().toInstant()).isBefore(NOW).isAfter(NOW.minus(Duration.ofHours(1)));
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
  }

  @Test
  void theCaSignsOnlyItsOwnDomain() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(DOMAIN, CLOCK);
    CertificationRequest req = CertificationRequest.parse(
        CertificationRequest.create(KeyPairs.generate(), Address.parse("alice@other.test")));
    assertThatThrownBy(() -> ca.sign(req, Duration.ofDays(1)))
        .isInstanceOfSatisfying(CertificateRequestException.class, e -> {
          assertThat(e.kind()).isEqualTo(CertificateRequestException.Kind.NOT_PERMITTED);
          assertThat(e.getMessage()).contains("only addresses @example.com");
        });
    assertThatThrownBy(() -> CertificateAuthority.create(Address.parse("alice@example.com"), CLOCK))
        .hasMessageContaining("a CA is for a domain");
  }

  @Test
  void theServerIdentityIsTheDomainWithItsHostNamesAndIps() throws Exception {
    CertificateAuthority ca = CertificateAuthority.create(DOMAIN, CLOCK);
    Identity server = ca.issueServerIdentity(
        List.of("example.com", "localhost"), List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1")),
        Duration.ofDays(30));
    assertThat(server.address()).isEqualTo(DOMAIN);
    assertThat(ChainValidator.validate(server.chain(), ca.certificate(), NOW)).isEqualTo(DOMAIN);
    assertThat(server.certificate().getSubjectAlternativeNames())
        .extracting(l -> l.get(1).toString())
        .contains("q2q:example.com", "example.com", "localhost", "127.0.0.1", "0:0:0:0:0:0:0:1");
  }

  @Test
  void onlyACaIssuesAndOnlyACaIsSelfSigned() throws Exception {
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, DOMAIN, CLOCK);
    java.security.PrivateKey caKey = Certificates.readPrivateKey(dir.resolve("ca.key"), ca.certificate().getPublicKey()).getPrivate();
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    java.security.KeyPair kp = KeyPairs.generate();
    org.q2q.certstore.internal.CertificateBuilder b = org.q2q.certstore.internal.CertificateBuilder.identity()
        .subject("bob@example.com").uri("q2q:bob@example.com").key(kp.getPublic()).validity(NOW, NOW.plusSeconds(60));
    assertThatThrownBy(() -> b.copy().issuedBy(alice.certificate(), alice.privateKey()))
        .hasMessageContaining("is not a CA and may not issue");
    assertThatThrownBy(() -> b.copy().selfSigned(kp.getPrivate())).hasMessageContaining("only a CA certificate is self-signed");
    assertThat(Certificates.addressOf(b.copy().issuedBy(ca.certificate(), caKey))).contains(Address.parse("bob@example.com"));
  }
}
