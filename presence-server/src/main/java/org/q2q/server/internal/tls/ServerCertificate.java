package org.q2q.server.internal.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Identity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's own TLS certificate, renewed before it expires (H5): {@link #renewIfDue} issues a
 * new one from the CA once two thirds of the current one's life have passed, and as a key manager
 * this presents the current one to every new TLS handshake, so the running server never serves an
 * expired certificate and needs no restart. Each certificate has its own alias, so a TLS provider
 * that caches key material by alias still picks up the new one. Safe for concurrent use.
 */
public final class ServerCertificate extends X509ExtendedKeyManager {
  private static final Logger log = LoggerFactory.getLogger(ServerCertificate.class);

  private final CertificateAuthority ca;
  private final String bindHost;
  private final Clock clock;
  private final Duration validity;
  private volatile Current current;

  private record Current(String alias, Identity identity) {}

  /** Issues the first certificate now. */
  public ServerCertificate(CertificateAuthority ca, String bindHost, Clock clock, Duration validity) {
    this.ca = ca;
    this.bindHost = bindHost;
    this.clock = clock;
    this.validity = validity;
    this.current = issue();
  }

  private Current issue() {
    Identity id = ServerTls.issueIdentity(ca, bindHost, validity);
    return new Current("q2q-server-" + id.certificate().getSerialNumber().toString(16), id);
  }

  /** The identity presented now. */
  public Identity identity() {
    return current.identity();
  }

  /** When the current certificate is renewed: two thirds into its validity (a third before expiry). */
  public Instant renewalDue() {
    return current.identity().certificate().getNotAfter().toInstant().minus(validity.dividedBy(3));
  }

  /** Issues and presents a new certificate if the current one is due; true if it did. */
  public synchronized boolean renewIfDue() {
    Instant now = clock.instant();
    if (now.isBefore(renewalDue())) {
      return false;
    }
    Instant expires = current.identity().certificate().getNotAfter().toInstant();
    try {
      current = issue();
      log.info("renewed the server's TLS certificate (serial {}, until {}; the old one expires {})",
          current.identity().certificate().getSerialNumber().toString(16),
          current.identity().certificate().getNotAfter().toInstant(), expires);
      return true;
    } catch (RuntimeException e) {
      log.warn("cannot renew the server's TLS certificate, which expires {} (in {}): {}", expires,
          Duration.between(now, expires), e.toString());
      return false;
    }
  }

  /**
   * How often {@link #renewIfDue} should run: a twentieth of the validity, between 50 ms and a
   * minute (a check is a clock read; often enough that a clock that jumps is noticed soon).
   */
  public Duration checkInterval() {
    long ms = validity.toMillis() / 20;
    return Duration.ofMillis(Math.max(50, Math.min(Duration.ofMinutes(1).toMillis(), ms)));
  }

  private String aliasFor(String keyType) {
    Current c = current;
    String alg = c.identity().privateKey().getAlgorithm();
    return keyType == null || keyType.startsWith(alg) ? c.alias() : null;
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return aliasFor(keyType);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyType);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    String a = aliasFor(keyType);
    return a == null ? null : new String[] {a};
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    Current c = current;
    return c.alias().equals(alias) ? c.identity().chainArray() : null;
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    Current c = current;
    return c.alias().equals(alias) ? c.identity().privateKey() : null;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }
}
