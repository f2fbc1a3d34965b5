package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trust on first use of domain CAs, like known_hosts. */
class CaPinStoreTest {
  @TempDir Path dir;
  private final CertificateAuthority ca = CertificateAuthority.create(Address.ofDomain("example.com"), Clock.systemUTC());

  @Test
  void theFirstCaIsPinnedAndTheSameOneIsAcceptedAfter() throws Exception {
    CaPinStore pins = new CaPinStore(dir.resolve("known_cas"));
    assertThat(pins.get("example.com")).isEmpty();
    assertThat(pins.verifyOrPin("example.com", ca.certificate(), null)).isTrue();
    assertThat(new CaPinStore(dir.resolve("known_cas")).verifyOrPin("example.com", ca.certificate(), null)).isFalse();
    assertThat(pins.get("example.com")).contains(ca.certificate());
  }

  @Test
  void aChangedCaIsAHardErrorNamingBothFingerprints() throws Exception {
    CaPinStore pins = new CaPinStore(dir);
    pins.verifyOrPin("example.com", ca.certificate(), null);
    CertificateAuthority other = CertificateAuthority.create(Address.ofDomain("example.com"), Clock.systemUTC());
    assertThatThrownBy(() -> pins.verifyOrPin("example.com", other.certificate(), null))
        .isInstanceOfSatisfying(CaMismatchException.class, e -> {
          assertThat(e.expected()).isEqualTo(ca.fingerprint());
          assertThat(e.actual()).isEqualTo(other.fingerprint());
          assertThat(e.getMessage()).contains("CHANGED", ca.fingerprint().toString(), other.fingerprint().toString());
        });
    assertThat(pins.get("example.com")).contains(ca.certificate()); // the pin stays
  }

  @Test
  void anExpectedFingerprintMustMatchBeforeAnythingIsPinned() throws Exception {
    CaPinStore pins = new CaPinStore(dir);
    Fingerprint wrong = Fingerprint.parse("ab".repeat(32));
    assertThatThrownBy(() -> pins.verifyOrPin("example.com", ca.certificate(), wrong))
        .isInstanceOfSatisfying(CaMismatchException.class, e ->
            assertThat(e.getMessage()).contains(wrong.toString(), ca.fingerprint().toString()));
    assertThat(pins.get("example.com")).isEmpty();
    assertThat(pins.verifyOrPin("example.com", ca.certificate(), ca.fingerprint())).isTrue();
  }

  @Test
  void onlyASelfSignedCaNamingTheDomainCanBePinned() throws Exception {
    CaPinStore pins = new CaPinStore(dir);
    assertThatThrownBy(() -> pins.verifyOrPin("other.test", ca.certificate(), null))
        .isInstanceOf(CertificateException.class).hasMessageContaining("names 'example.com'");
    Identity alice = ca.issueIdentity(Address.parse("alice@example.com"), Duration.ofDays(1));
    assertThatThrownBy(() -> pins.verifyOrPin("example.com", alice.certificate(), null))
        .isInstanceOf(CertificateException.class);
    assertThat(pins.get("example.com")).isEmpty();
  }
}
