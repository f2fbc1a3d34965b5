package org.q2q.server.internal.registration;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressFormatException;
import org.q2q.proto.CertificateStatusRequest;
import org.q2q.proto.CertificateStatusResponse;
import org.q2q.proto.RevocationGrpc;
import org.q2q.server.Revocations;

/**
 * The Revocation service: tells anyone whether a certificate of this domain is revoked, from the
 * in-memory {@link Revocations} (a set lookup; no database access, no client certificate), so a
 * listener of another domain can refuse a revoked caller its own server cannot judge. Safe for
 * concurrent use.
 */
public final class RevocationService extends RevocationGrpc.RevocationImplBase {
  /** Longest serial accepted: 20 bytes (RFC 5280), plus a sign byte. */
  private static final int MAX_SERIAL_BYTES = 21;

  private final Address domain;
  private final Revocations revocations;

  public RevocationService(Address domain, Revocations revocations) {
    this.domain = domain;
    this.revocations = revocations;
  }

  @Override
  public void status(CertificateStatusRequest request, StreamObserver<CertificateStatusResponse> out) {
    if (request.getSerial().isEmpty() || request.getSerial().size() > MAX_SERIAL_BYTES) {
      throw Status.INVALID_ARGUMENT.withDescription("the serial must be 1 to " + MAX_SERIAL_BYTES + " bytes")
          .asRuntimeException();
    }
    Address a;
    try {
      a = Address.parse(request.getAddress());
    } catch (AddressFormatException e) {
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
    }
    if (!a.domain().equals(domain.domain())) {
      throw Status.NOT_FOUND.withDescription("this server speaks only for " + domain).asRuntimeException();
    }
    BigInteger serial = new BigInteger(1, request.getSerial().toByteArray());
    out.onNext(CertificateStatusResponse.newBuilder().setRevoked(revocations.isRevoked(serial)).build());
    out.onCompleted();
  }
}
