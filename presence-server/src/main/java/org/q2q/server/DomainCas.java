package org.q2q.server;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLSession;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressTrustManager.CaResolver;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.ChainValidator;
import org.q2q.certstore.Fingerprint;

/**
 * The domain CAs this server trusts when it checks a caller's certificate: its own CA always, plus
 * foreign domains' CAs learned by federation ({@link #learn}, e.g. after an Identify call to the
 * other domain's server).
 *
 * <p>Used by {@link CallerIdentity}: the TLS layer accepts any well-formed client chain and every
 * call's chain is validated here, so a CA learned after the handshake counts from the next call.
 * Safe for concurrent use.
 */
public final class DomainCas implements CaResolver {
  /** The {@link SSLSession} value under which {@link #verify(List, SSLSession)} remembers a chain. */
  private static final String VERIFIED = "org.q2q.server.verified-caller";

  /** A chain validated against {@code ca}: its leaf and the address it certifies. */
  private record Verified(Address address, X509Certificate ca, X509Certificate leaf) {}

  private final Address ownDomain;
  private final X509Certificate ownCa;
  private final Clock clock;
  /** This domain's revoked certificates; null: none are checked (tests, servers without a database). */
  private final Revocations revocations;
  /** Foreign CAs by lower-case domain; never holds the own domain. */
  private final Map<String, X509Certificate> foreign = new ConcurrentHashMap<>();

  /** A registry whose own CA is {@code ca}. */
  public DomainCas(CertificateAuthority ca, Clock clock) {
    this(ca, clock, null);
  }

  /** A registry whose own CA is {@code ca}, refusing own-domain certificates {@code revocations} lists. */
  public DomainCas(CertificateAuthority ca, Clock clock, Revocations revocations) {
    this.ownDomain = ca.domain();
    this.ownCa = ca.certificate();
    this.clock = clock;
    this.revocations = revocations;
  }

  /** The domain this server speaks for. */
  public Address ownDomain() {
    return ownDomain;
  }

  /** The CA of {@code domain}, if known (the own CA, or a learned foreign one). */
  @Override
  public Optional<X509Certificate> caFor(String domain) {
    if (ownDomain.domain().equals(domain)) {
      return Optional.of(ownCa);
    }
    return Optional.ofNullable(foreign.get(domain));
  }

  /**
   * Trusts {@code ca} for the foreign {@code domain} from now on.
   *
   * @return true if it was not known before (false if the same CA was already known)
   * @throws CertificateException if {@code ca} is not a self-signed CA naming {@code domain}, if
   *     {@code domain} is this server's own domain, or if a different CA is already known for it
   *     (a changed CA is never replaced silently; {@link #forget} it first)
   */
  public boolean learn(String domain, X509Certificate ca) throws CertificateException {
    Address d = Address.ofDomain(domain);
    if (d.equals(ownDomain)) {
      throw new CertificateException("refusing to replace this server's own CA for " + d);
    }
    Address named = Certificates.addressOf(ca).orElse(null);
    if (!d.equals(named)) {
      throw new CertificateException("the CA certificate offered for " + d + " names '" + named + "'");
    }
    if (ca.getBasicConstraints() < 0) {
      throw new CertificateException("the certificate offered for " + d + " is not a CA certificate");
    }
    try {
      ca.verify(ca.getPublicKey());
      ca.checkValidity(java.util.Date.from(clock.instant()));
    } catch (java.security.GeneralSecurityException e) {
      throw new CertificateException("the CA certificate for " + d + " is not usable: " + e.getMessage());
    }
    X509Certificate before = foreign.putIfAbsent(d.domain(), ca);
    if (before != null && !before.equals(ca)) {
      throw new CertificateException(
          "a different CA is already known for " + d + ": known " + Fingerprint.of(before)
              + ", offered " + Fingerprint.of(ca));
    }
    return before == null;
  }

  /** Stops trusting the CA of the foreign {@code domain}. */
  public void forget(String domain) {
    foreign.remove(Address.ofDomain(domain).domain());
  }

  /** Every domain with a known CA, sorted, the own domain included. */
  public Set<String> domains() {
    Set<String> out = new TreeSet<>(foreign.keySet());
    out.add(ownDomain.domain());
    return out;
  }

  /**
   * Validates a caller's chain (leaf first) against the CA of the domain its leaf names, now.
   *
   * @return the address it certifies
   * @throws CertificateException saying why it is not trusted (unknown domain, expired, wrong
   *     issuer, ...)
   */
  public Address verify(List<X509Certificate> chain) throws CertificateException {
    return verified(chain).address();
  }

  /**
   * As {@link #verify(List)}, remembered in {@code session} (the TLS session the chain came in):
   * later calls on it skip the signature work (an ECDSA verify per call, about a tenth of the
   * server's CPU under Inbound load) and recheck only what can change while a session lives: the
   * leaf's expiry and revocation, and that the CA that signed it is still the one trusted for its
   * domain and still valid (a foreign CA may be forgotten).
   */
  public Address verify(List<X509Certificate> chain, SSLSession session) throws CertificateException {
    if (session == null) {
      return verify(chain);
    }
    if (session.getValue(VERIFIED) instanceof Verified v && !chain.isEmpty() && v.leaf().equals(chain.get(0))
        && caFor(v.address().domain()).filter(v.ca()::equals).isPresent()) {
      try {
        v.ca().checkValidity(java.util.Date.from(clock.instant()));
      } catch (java.security.GeneralSecurityException e) {
        throw new CertificateException("the CA of " + v.address().domain() + " is not valid now: " + e.getMessage());
      }
      checkStillValid(v.address(), v.leaf()); // the address as verified: no second parse of the certificate
      return v.address();
    }
    Verified v = verified(chain);
    session.putValue(VERIFIED, v);
    return v.address();
  }

  private Verified verified(List<X509Certificate> chain) throws CertificateException {
    if (chain.isEmpty()) {
      throw new CertificateException("no client certificate");
    }
    Address claimed =
        Certificates.addressOf(chain.get(0))
            .orElseThrow(() -> new CertificateException("the client certificate names no q2q address"));
    X509Certificate ca =
        caFor(claimed.domain())
            .orElseThrow(
                () -> new CertificateException(
                    "this server (" + ownDomain + ") does not know the CA of domain " + claimed.domain()));
    Address address = ChainValidator.validate(chain, ca, clock.instant());
    checkNotRevoked(address, chain.get(0));
    return new Verified(address, ca, chain.get(0));
  }

  /**
   * Rechecks a chain {@link #verify} accepted earlier, for a stream that lives on (a Listen session):
   * cheap, no signature work; it fails once the leaf has expired or (own domain) been revoked.
   *
   * @throws CertificateException saying which
   */
  public void checkStillValid(List<X509Certificate> chain) throws CertificateException {
    X509Certificate leaf = chain.get(0);
    Address address = Certificates.addressOf(leaf)
        .orElseThrow(() -> new CertificateException("the client certificate names no q2q address"));
    checkStillValid(address, leaf);
  }

  private void checkStillValid(Address address, X509Certificate leaf) throws CertificateException {
    if (!clock.instant().isBefore(leaf.getNotAfter().toInstant())) {
      throw new CertificateException("the certificate of " + address + " expired at " + leaf.getNotAfter().toInstant());
    }
    checkNotRevoked(address, leaf);
  }

  private void checkNotRevoked(Address address, X509Certificate leaf) throws CertificateException {
    if (revocations != null && address.domain().equals(ownDomain.domain()) && revocations.isRevoked(leaf)) {
      throw new CertificateException("the certificate of " + address + " (serial "
          + leaf.getSerialNumber().toString(16) + ") has been revoked; register again");
    }
  }
}
