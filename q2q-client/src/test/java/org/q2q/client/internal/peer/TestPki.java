package org.q2q.client.internal.peer;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager.CaResolver;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Identity;

/** Two real domain CAs (a.test, b.test) and identities issued by them, shared by the tests. */
final class TestPki {
  static final Clock CLOCK = Clock.systemUTC();
  static final CertificateAuthority CA_A = CertificateAuthority.create(Address.ofDomain("a.test"), CLOCK);
  static final CertificateAuthority CA_B = CertificateAuthority.create(Address.ofDomain("b.test"), CLOCK);
  /** A second CA claiming a.test, trusted by nobody. */
  static final CertificateAuthority ROGUE_A = CertificateAuthority.create(Address.ofDomain("a.test"), CLOCK);

  static final Identity ALICE = issue(CA_A, "alice@a.test");
  static final Identity BOB = issue(CA_A, "bob@a.test");
  static final Identity CAROL = issue(CA_B, "carol@b.test");
  static final Identity MALLORY_AS_BOB = issue(ROGUE_A, "bob@a.test");

  /** Trusts a.test and b.test's real CAs. */
  static final CaResolver TRUST_BOTH = resolver(Map.of("a.test", CA_A.certificate(), "b.test", CA_B.certificate()));

  private TestPki() {}

  static Identity issue(CertificateAuthority ca, String address) {
    try {
      return ca.issueIdentity(Address.parse(address), Duration.ofDays(1));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static CaResolver resolver(Map<String, X509Certificate> cas) {
    return domain -> Optional.ofNullable(cas.get(domain));
  }
}
