package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review L3: a key file that is not the private half of its certificate (a crash between the two
 * writes, two processes on one folder) is refused on load, naming the file, instead of failing
 * later in TLS or by signing certificates nobody can verify.
 */
class KeyConsistencyTest {
  private static final Address DOMAIN = Address.ofDomain("example.com");

  @Test
  void aCaKeyFromAnotherKeyPairIsRefusedOnLoad(@TempDir Path dir) throws Exception {
    CertificateAuthority.loadOrCreate(dir, DOMAIN, Clock.systemUTC());
    assertThat(CertificateAuthority.loadOrCreate(dir, DOMAIN, Clock.systemUTC()).domain()).isEqualTo(DOMAIN);
    SecureFiles.writeSecret(dir.resolve("ca.key"), Certificates.toPem(KeyPairs.generate().getPrivate()));
    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, DOMAIN, Clock.systemUTC()))
        .isInstanceOf(IOException.class).hasMessageContaining("ca.key does not hold the private key");
  }

  @Test
  void anIdentityKeyFromAnotherKeyPairIsRefusedOnLoad(@TempDir Path home) throws Exception {
    ClientHome h = new ClientHome(home);
    CertificateAuthority ca = CertificateAuthority.create(DOMAIN, Clock.systemUTC());
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    h.save(alice);
    assertThat(h.load(alice.address())).isPresent();
    Path key = home.resolve("identities/alice@example.com/key.pem");
    SecureFiles.writeSecret(key, Certificates.toPem(KeyPairs.generate().getPrivate()));
    assertThatThrownBy(() -> h.load(alice.address()))
        .isInstanceOf(IOException.class).hasMessageContaining("key.pem does not hold the private key");
    assertThat(Files.readString(key)).contains("PRIVATE KEY");
  }
}
