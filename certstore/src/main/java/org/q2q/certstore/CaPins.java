package org.q2q.certstore;

import java.io.IOException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.SortedMap;

/**
 * Domain CAs pinned on first use, one per domain: a pinned domain whose CA changes is a hard error
 * naming both fingerprints. A client keeps them in files ({@link CaPinStore}); a presence server in
 * its database, shared by the nodes of its domain. Implementations are safe for concurrent use.
 */
public interface CaPins {
  /** The pinned CA of {@code domain}, if any. */
  Optional<X509Certificate> get(String domain) throws IOException;

  /**
   * Checks {@code ca} against the pin for {@code domain}, pinning it if there is none yet (trust
   * on first use) or if {@code expected} matches.
   *
   * @param expected a fingerprint the user gave out of band, or null for trust on first use
   * @return true if the CA was newly pinned
   * @throws CaMismatchException if a different CA is pinned, or {@code expected} does not match
   * @throws CertificateException if {@code ca} is not a self-signed CA for the domain
   */
  boolean verifyOrPin(String domain, X509Certificate ca, Fingerprint expected)
      throws IOException, CaMismatchException, CertificateException;

  /** Every pinned CA by domain, sorted. */
  SortedMap<String, X509Certificate> all() throws IOException;

  /**
   * Removes the pin of {@code domain}: the next contact learns its CA again (on first use).
   *
   * @return false if none was pinned
   */
  boolean forget(String domain) throws IOException;

  /**
   * The rule every pin store applies before pinning: {@code ca} names {@code domain} and is a
   * self-signed CA that verifies (Vertex stored whatever Identify returned).
   *
   * @throws CertificateException saying which part fails
   */
  static void checkIsCaFor(String domain, X509Certificate ca) throws CertificateException {
    Address named = Certificates.addressOf(ca).orElse(null);
    if (named == null || !named.isDomain() || !named.domain().equals(domain)) {
      throw new CertificateException("the CA certificate offered for " + domain + " names '" + named + "'");
    }
    if (ca.getBasicConstraints() < 0 || !ca.getSubjectX500Principal().equals(ca.getIssuerX500Principal())) {
      throw new CertificateException("the certificate offered for " + domain + " is not a self-signed CA");
    }
    try {
      ca.verify(ca.getPublicKey());
    } catch (java.security.GeneralSecurityException e) {
      throw new CertificateException("the CA certificate for " + domain + " does not verify: " + e.getMessage());
    }
  }
}
