package org.q2q.certstore;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * Trust on first use, step one: accepts whatever chain a server presents and keeps it, so that the
 * CA the server then names in Identify can be checked against it ({@link #verifyServer}). Send
 * nothing secret over a connection that trusts this. Client side only. Safe for concurrent use.
 */
public final class ServerChainCapture extends ChainTrustManager {
  private final Address expected;
  private final boolean refuseOthersEarly;
  private volatile List<X509Certificate> chain = List.of();

  /**
   * A capture for the server of {@code domain}.
   *
   * @param refuseOthersEarly refuse, in the handshake already, a chain whose leaf names another
   *     address (it cannot be that domain's server, whatever CA it names later); false lets the
   *     call go on so the server can say itself that it does not serve the domain
   */
  public ServerChainCapture(Address domain, boolean refuseOthersEarly) {
    this.expected = domain.domainAddress();
    this.refuseOthersEarly = refuseOthersEarly;
  }

  /** The chain of the last handshake (leaf first), empty before any. */
  public List<X509Certificate> chain() {
    return chain;
  }

  @Override
  protected void checkChain(X509Certificate[] presented, boolean clientChain) throws CertificateException {
    if (clientChain) {
      throw new CertificateException("a server-chain capture cannot judge client certificates");
    }
    if (presented == null || presented.length == 0) {
      throw new CertificateException("the server presented no certificate");
    }
    Address named = Certificates.addressOf(presented[0])
        .orElseThrow(() -> new CertificateException("the server's certificate names no q2q address"));
    if (refuseOthersEarly && !named.equals(expected)) {
      throw new CertificateException("the server's certificate is for " + named + ", not " + expected);
    }
    chain = List.of(presented);
  }

  /**
   * Trust on first use, step two, the one check every learner of a domain's CA makes (the client's
   * register and its learning of other domains' CAs, and the server's federation): the CA that
   * the server answered Identify with, on the connection this capture watched, is accepted only if
   *
   * <ul>
   *   <li>the server said it answers for this domain ({@code answeredDomain}),
   *   <li>the certificate is a self-signed CA certificate naming the domain, valid at {@code at},
   *   <li>and it issued the TLS certificate this server presented for the domain ({@link
   *       #verifyServer}), so a server cannot hand out a CA other than its own.
   * </ul>
   *
   * @param caDer the CA certificate from the Identify answer, DER
   * @param answeredDomain the domain the Identify answer names
   * @return the CA certificate
   * @throws CertificateException saying which check failed
   */
  public X509Certificate verifyIdentified(byte[] caDer, String answeredDomain, Instant at) throws CertificateException {
    Address named;
    try {
      named = answeredDomain == null || answeredDomain.isEmpty() ? null : Address.ofDomain(answeredDomain);
    } catch (IllegalArgumentException e) {
      named = null;
    }
    if (!expected.equals(named)) {
      throw new CertificateException("the server answered for '" + answeredDomain + "', not for " + expected);
    }
    X509Certificate ca = Certificates.fromDer(caDer);
    Address caNames = Certificates.addressOf(ca).orElse(null);
    if (!expected.equals(caNames)) {
      throw new CertificateException("the CA certificate it gave names '" + caNames + "', not " + expected);
    }
    if (ca.getBasicConstraints() < 0 || !ca.getSubjectX500Principal().equals(ca.getIssuerX500Principal())) {
      throw new CertificateException("the certificate it gave for " + expected + " is not a self-signed CA");
    }
    try {
      ca.verify(ca.getPublicKey());
      ca.checkValidity(java.util.Date.from(at));
    } catch (java.security.GeneralSecurityException e) {
      throw new CertificateException("the CA certificate it gave for " + expected + " is not usable: " + e.getMessage(), e);
    }
    try {
      verifyServer(ca, at);
    } catch (CertificateException e) {
      throw new CertificateException("it does not hold a certificate of the CA it gave for " + expected + " ("
          + e.getMessage() + "); something may be intercepting the connection", e);
    }
    return ca;
  }

  /**
   * Checks that the captured chain was issued by {@code ca} to the domain's server, tying the
   * CA a server named in Identify to the TLS connection it answered on.
   *
   * @throws CertificateException saying what does not match
   */
  public void verifyServer(X509Certificate ca, Instant at) throws CertificateException {
    List<X509Certificate> seen = chain;
    if (seen.isEmpty()) {
      throw new CertificateException("no server certificate was seen");
    }
    Address server = ChainValidator.validate(seen, ca, at);
    if (!server.equals(expected)) {
      throw new CertificateException("its TLS certificate is for " + server + ", not for " + expected);
    }
  }
}
