package org.q2q.certstore;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzz test of CSR checking, the first thing the server does with a Sign request's
 * bytes (Jazzer; regression inputs under {@code CertificationRequestFuzzTestInputs/}, seeded with
 * valid EC P-256 and Ed25519 requests so mutations start near the accepted shape).
 *
 * <p>Property: any bytes are either refused with a {@link CertificateRequestException} or accepted
 * as a request for a user address whose subject and SAN agree; nothing else is thrown.
 */
class CertificationRequestFuzzTest {
  @FuzzTest(maxDuration = "10s")
  void csrChecking(byte[] der) {
    CertificationRequest r;
    try {
      r = CertificationRequest.parse(der);
    } catch (CertificateRequestException refused) {
      assertThat(refused.getMessage()).isNotNull();
      return;
    }
    assertThat(r.address().isDomain()).isFalse();
    assertThat(r.publicKey()).isNotNull();
    assertThat(Address.parse(r.address().toString())).isEqualTo(r.address());
  }
}
