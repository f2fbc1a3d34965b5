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
   * Validates {@code chain} (leaf first, then any intermediate CAs; a trailing copy of the CA is
   * ignored) at time {@code at}.
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
    try {
      ca.checkValidity(Date.from(at));
    } catch (java.security.cert.CertificateExpiredException e) {
      throw new CertificateException("the CA certificate of " + caDomain + " expired at " + ca.getNotAfter().toInstant(), e);
    } catch (java.security.cert.CertificateNotYetValidException e) {
      throw new CertificateException(
          "the CA certificate of " + caDomain + " is not valid before " + ca.getNotBefore().toInstant(), e);
    }
    List<X509Certificate> path = new ArrayList<>();
    for (X509Certificate c : chain) {
      if (!c.equals(ca)) {
        path.add(c);
      }
    }
    if (path.size() > 1 && isSelfSigned(path.get(path.size() - 1))) {
      path.remove(path.size() - 1); // another root (say a foreign domain's CA) is never an intermediate
    }
    if (path.isEmpty()) {
      throw new CertificateException("the chain holds only the CA certificate, not an identity");
    }
    X509Certificate leaf = path.get(0);
    // PKIX does not apply the trust anchor's own path length; domain CAs sign leaves directly
    int allowed = ca.getBasicConstraints();
    if (allowed < 0) {
      throw new CertificateException("the certificate given as the CA of " + caDomain + " is not a CA certificate");
    }
    if (path.size() - 1 > allowed) {
      throw new CertificateException(
          "the CA of " + caDomain + " allows " + allowed + " intermediate CA(s), the chain has " + (path.size() - 1));
    }
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      CertPath cp = cf.generateCertPath(path);
      PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
      params.setRevocationEnabled(false);
      params.setDate(Date.from(at));
      CertPathValidator.getInstance("PKIX").validate(cp, params);
    } catch (CertPathValidatorException e) {
      throw new CertificateException(describe(e, path, caDomain, at), e);
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

  private static boolean isSelfSigned(X509Certificate c) {
    if (!c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
      return false;
    }
    try {
      c.verify(c.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static String describe(
      CertPathValidatorException e, List<X509Certificate> path, Address caDomain, Instant at) {
    int index = e.getIndex() >= 0 && e.getIndex() < path.size() ? e.getIndex() : 0;
    X509Certificate bad = path.get(index);
    String who = Certificates.addressOf(bad).map(Address::toString).orElse(bad.getSubjectX500Principal().getName());
    Throwable cause = e.getCause();
    if (e.getReason() == CertPathValidatorException.BasicReason.EXPIRED
        || cause instanceof java.security.cert.CertificateExpiredException) {
      return "the certificate of " + who + " expired at " + bad.getNotAfter().toInstant() + " (checked at " + at + ")";
    }
    if (e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID
        || cause instanceof java.security.cert.CertificateNotYetValidException) {
      return "the certificate of " + who + " is not valid before " + bad.getNotBefore().toInstant()
          + " (checked at " + at + ")";
    }
    if (e.getReason() == CertPathValidatorException.BasicReason.INVALID_SIGNATURE
        || e.getReason() == java.security.cert.PKIXReason.NO_TRUST_ANCHOR
        || e.getReason() == CertPathValidatorException.BasicReason.UNSPECIFIED) {
      return "the certificate of " + who + " was not issued by the CA of " + caDomain + ": " + e.getMessage();
    }
    return "the certificate of " + who + " is not valid for " + caDomain + ": " + e.getMessage();
  }
}
