package org.q2q.certstore;

import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * Validates a q2q certificate chain against one domain CA with the JDK's PKIX validator, and
 * returns the address it certifies. The CA may vouch only for addresses of its own domain.
 */
public final class ChainValidator {
  private ChainValidator() {}

  /**
   * Validates {@code chain} (leaf first; a trailing copy of the CA is ignored) at time {@code at}.
   *
   * @return the leaf's address
   * @throws CertificateException saying what failed (expired, not yet valid, wrong issuer, no
   *     address, address outside the CA's domain)
   */
  public static Address validate(List<X509Certificate> chain, X509Certificate ca, Instant at)
      throws CertificateException {
    if (chain.isEmpty()) {
      throw new CertificateException("empty certificate chain");
    }
    Address caDomain =
        Certificates.addressOf(ca).filter(Address::isDomain)
            .orElseThrow(() -> new CertificateException("the CA certificate names no q2q domain"));
    List<X509Certificate> path = new ArrayList<>();
    for (X509Certificate c : chain) {
      if (!c.equals(ca)) {
        path.add(c);
      }
    }
    if (path.isEmpty()) {
      throw new CertificateException("the chain holds only the CA certificate, not an identity");
    }
    X509Certificate leaf = path.get(0);
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      CertPath cp = cf.generateCertPath(path);
      PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
      params.setRevocationEnabled(false);
      params.setDate(Date.from(at));
      CertPathValidator.getInstance("PKIX").validate(cp, params);
    } catch (CertPathValidatorException e) {
      throw new CertificateException(describe(e, leaf, caDomain, at), e);
    } catch (GeneralSecurityException e) {
      throw new CertificateException("certificate chain of " + leaf.getSubjectX500Principal()
          + " cannot be validated: " + e.getMessage(), e);
    }
    Address address =
        Certificates.addressOf(leaf)
            .orElseThrow(() -> new CertificateException("the certificate names no q2q address"));
    if (!address.domain().equals(caDomain.domain())) {
      throw new CertificateException(
          "the CA of " + caDomain + " may not certify " + address + " (another domain)");
    }
    return address;
  }

  private static String describe(CertPathValidatorException e, X509Certificate leaf, Address caDomain, Instant at) {
    String who = Certificates.addressOf(leaf).map(Address::toString).orElse(leaf.getSubjectX500Principal().getName());
    Throwable cause = e.getCause();
    if (cause instanceof java.security.cert.CertificateExpiredException) {
      return "the certificate of " + who + " expired (at " + at + ")";
    }
    if (cause instanceof java.security.cert.CertificateNotYetValidException) {
      return "the certificate of " + who + " is not yet valid (at " + at + ")";
    }
    if (e.getReason() == CertPathValidatorException.BasicReason.INVALID_SIGNATURE
        || e.getReason() == java.security.cert.PKIXReason.NO_TRUST_ANCHOR
        || e.getReason() == CertPathValidatorException.BasicReason.UNSPECIFIED) {
      return "the certificate of " + who + " was not issued by the CA of " + caDomain + ": " + e.getMessage();
    }
    return "the certificate of " + who + " is not valid for " + caDomain + ": " + e.getMessage();
  }
}
