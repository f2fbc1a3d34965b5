package org.q2q.server.internal.presence;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import org.q2q.certstore.Address;

/**
 * A verified caller of the Presence service: its certificate address and the chain it presented in
 * the TLS handshake (leaf first).
 */
public record Caller(Address address, List<X509Certificate> chain) {
  public Caller {
    Objects.requireNonNull(address, "address");
    chain = List.copyOf(chain);
  }
}
