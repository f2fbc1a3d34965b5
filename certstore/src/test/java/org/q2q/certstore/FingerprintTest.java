package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import org.junit.jupiter.api.Test;

class FingerprintTest {
  @Test
  void parsesEveryWrittenForm() {
    Fingerprint f = CertificateAuthority.create(Address.ofDomain("example.com"), Clock.systemUTC()).fingerprint();
    String s = f.toString();
    assertThat(s).matches("SHA256:([0-9a-f]{2}:){31}[0-9a-f]{2}");
    assertThat(Fingerprint.parse(s)).isEqualTo(f);
    assertThat(Fingerprint.parse(s.substring(7))).isEqualTo(f);
    assertThat(Fingerprint.parse(s.substring(7).replace(":", "").toUpperCase())).isEqualTo(f);
    assertThat(Fingerprint.parse(" sha256:" + s.substring(7) + " ")).isEqualTo(f);
  }

  @Test
  void refusesWhatIsNotASha256() {
    assertThatThrownBy(() -> Fingerprint.parse("SHA256:ab:cd")).hasMessageContaining("is not a SHA-256 fingerprint");
    assertThatThrownBy(() -> Fingerprint.parse("zz".repeat(32))).hasMessageContaining("64 hex digits");
  }
}
