package org.q2q.certstore;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A private key and the certificate chain for one address (leaf first, ending with the domain CA).
 * Immutable.
 *
 * @param address the address the leaf certifies
 * @param privateKey the leaf's private key; never leaves the machine that made it
 * @param chain leaf first, then the issuing domain CA
 */
public record Identity(Address address, PrivateKey privateKey, List<X509Certificate> chain) {
  public Identity {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(privateKey, "privateKey");
    chain = List.copyOf(chain);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("an identity needs at least its own certificate");
    }
  }

  /** The leaf certificate. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** The domain CA certificate (last in the chain). */
  public X509Certificate caCertificate() {
    return chain.get(chain.size() - 1);
  }

  /** When the leaf expires. */
  public Instant notAfter() {
    return certificate().getNotAfter().toInstant();
  }

  /** The chain as an array, for TLS builders. */
  public X509Certificate[] chainArray() {
    return chain.toArray(X509Certificate[]::new);
  }
}
