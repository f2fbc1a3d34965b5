package org.q2q.certstore;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.q2q.certstore.CertificateRequestException.Kind;
import org.q2q.certstore.internal.CertificateBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The certificate authority of one domain: a key pair and a self-signed CA certificate (EC P-256,
 * random 159-bit serials, BasicConstraints and KeyUsage critical, SKI/AKI), which signs user
 * certificates and the presence server's TLS certificate.
 *
 * <p>Stored in a data folder as {@code ca.key} (mode 0600) and {@code ca.crt}. Safe for concurrent
 * use.
 */
public final class CertificateAuthority {
  private static final Logger log = LoggerFactory.getLogger(CertificateAuthority.class);

  /** Default lifetime of user certificates. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(365);
  /** Lifetime of a new CA certificate. */
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);
  /** Certificates are valid from a little before issue, to absorb clock skew between machines. */
  private static final Duration BACKDATE = Duration.ofMinutes(5);

  private final Address domain;
  private final KeyPair keyPair;
  private final X509Certificate certificate;
  private final Clock clock;

  private CertificateAuthority(Address domain, KeyPair keyPair, X509Certificate certificate, Clock clock) {
    this.domain = domain;
    this.keyPair = keyPair;
    this.certificate = certificate;
    this.clock = clock;
  }

  /** A new CA for {@code domain}, kept only in memory. */
  public static CertificateAuthority create(Address domain, Clock clock) {
    if (!domain.isDomain()) {
      throw new IllegalArgumentException("a CA is for a domain, not for '" + domain + "'");
    }
    KeyPair kp = KeyPairs.generate();
    Instant now = clock.instant();
    // path length 0: the domain CA signs identities directly, never intermediates
    X509Certificate cert =
        CertificateBuilder.ca(0).subject(domain.toString()).uri(domain.toUri()).key(kp.getPublic())
            .validity(now.minus(BACKDATE), now.plus(CA_VALIDITY))
            .selfSigned(kp.getPrivate());
    return new CertificateAuthority(domain, kp, cert, clock);
  }

  /**
   * Loads the CA from {@code dir}, or creates and stores one on first start.
   *
   * @throws IOException if the stored CA is for another domain, unreadable, or its key is exposed
   */
  public static CertificateAuthority loadOrCreate(Path dir, Address domain, Clock clock) throws IOException {
    Path keyFile = dir.resolve("ca.key");
    Path certFile = dir.resolve("ca.crt");
    if (Files.exists(keyFile) && Files.exists(certFile)) {
      X509Certificate cert = Certificates.readPem(certFile).get(0);
      KeyPair kp = Certificates.readPrivateKey(keyFile, cert.getPublicKey());
      Address stored = Certificates.addressOf(cert).orElse(null);
      if (!domain.equals(stored)) {
        throw new IOException(
            "the CA in " + dir + " is for domain '" + stored + "', not '" + domain
                + "' (use another --data folder for another domain)");
      }
      return new CertificateAuthority(domain, kp, cert, clock);
    }
    if (Files.exists(keyFile) || Files.exists(certFile)) {
      throw new IOException("incomplete CA in " + dir + ": need both ca.key and ca.crt");
    }
    CertificateAuthority ca = create(domain, clock);
    SecureFiles.createPrivateDirectories(dir);
    SecureFiles.writeSecret(keyFile, Certificates.toPem(ca.keyPair.getPrivate()));
    SecureFiles.writePublic(certFile, Certificates.toPem(List.of(ca.certificate)));
    log.info("created CA for {} in {} ({})", domain, dir, ca.fingerprint());
    return ca;
  }

  /** The domain this CA certifies. */
  public Address domain() {
    return domain;
  }

  /** The clock that dates the certificates this CA issues. */
  public Clock clock() {
    return clock;
  }

  /** The self-signed CA certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** SHA-256 fingerprint of the CA certificate. */
  public Fingerprint fingerprint() {
    return Fingerprint.of(certificate);
  }

  /**
   * Signs a checked request for an address of this domain.
   *
   * @return the chain, leaf first, then this CA
   * @throws CertificateRequestException NOT_PERMITTED when the address is of another domain
   */
  public List<X509Certificate> sign(CertificationRequest request, Duration validity)
      throws CertificateRequestException {
    Address a = request.address();
    if (!a.domain().equals(domain.domain())) {
      throw new CertificateRequestException(
          Kind.NOT_PERMITTED, "this server signs only addresses @" + domain + ", not " + a);
    }
    Instant now = clock.instant();
    X509Certificate leaf =
        CertificateBuilder.identity().subject(a.toString()).uri(a.toUri()).key(request.publicKey())
            .validity(now.minus(BACKDATE), now.plus(validity))
            .issuedBy(certificate, keyPair.getPrivate());
    return List.of(leaf, certificate);
  }

  /**
   * Issues the presence server's own TLS identity: its address is the domain, and its SAN lists the
   * host names and IPs it is reached by.
   */
  public Identity issueServerIdentity(List<String> dnsNames, List<InetAddress> ips, Duration validity) {
    KeyPair kp = KeyPairs.generate();
    Instant now = clock.instant();
    X509Certificate leaf =
        CertificateBuilder.identity().subject(domain.toString()).uri(domain.toUri()).key(kp.getPublic())
            .dnsNames(dnsNames).ips(ips)
            .validity(now.minus(BACKDATE), now.plus(validity))
            .issuedBy(certificate, keyPair.getPrivate());
    return new Identity(domain, kp.getPrivate(), List.of(leaf, certificate));
  }

  /** Issues an identity directly (key made here); for tests and administrators. */
  public Identity issueIdentity(Address address, Duration validity) throws CertificateRequestException {
    KeyPair kp = KeyPairs.generate();
    CertificationRequest req;
    req = CertificationRequest.parse(CertificationRequest.create(kp, address));
    return new Identity(address, kp.getPrivate(), sign(req, validity));
  }
}
