package org.q2q.server.internal.presence;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;

/**
 * A verified caller of the Presence service: its certificate address and the chain it presented in
 * the TLS handshake (leaf first), with that chain's DER encoding made once: a listener's chain goes
 * into every Inbound answer that names it, and encoding it per answer was a fifth of the bytes a
 * busy server allocated.
 */
public record Caller(Address address, List<X509Certificate> chain, List<ByteString> chainDer) {
  public Caller {
    Objects.requireNonNull(address, "address");
    chain = List.copyOf(chain);
    chainDer = List.copyOf(chainDer);
  }

  public Caller(Address address, List<X509Certificate> chain) {
    this(address, chain, der(chain));
  }

  private static List<ByteString> der(List<X509Certificate> chain) {
    // getEncoded returns a fresh copy that nothing else holds: wrap it without copying again
    return chain.stream().map(c -> UnsafeByteOperations.unsafeWrap(Certificates.toDer(c))).toList();
  }
}
