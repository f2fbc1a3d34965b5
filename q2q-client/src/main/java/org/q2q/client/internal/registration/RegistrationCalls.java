package org.q2q.client.internal.registration;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.certstore.CertificationRequest;
import org.q2q.proto.HostPort;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.IdentifyResponse;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.proto.SignRequest;
import org.q2q.proto.SignResponse;
import org.q2q.proto.WhoAmIRequest;

/** The three Registration calls, blocking, with deadlines; errors stay gRPC statuses. */
public final class RegistrationCalls {
  private RegistrationCalls() {}

  /** Identify {@code domain}. */
  public static IdentifyResponse identify(ManagedChannel ch, Duration deadline, Address domain) {
    return stub(ch, deadline).identify(IdentifyRequest.newBuilder().setSubject(domain.toString()).build());
  }

  /** What Sign returned: the chain (leaf first) and how many older certificates it revoked. */
  public record Signed(List<X509Certificate> chain, int revoked) {}

  /** Sign a fresh CSR for {@code address} made with {@code keyPair}; returns the chain, leaf first. */
  public static List<X509Certificate> sign(
      ManagedChannel ch, Duration deadline, KeyPair keyPair, Address address, String password)
      throws CertificateException {
    return sign(ch, deadline, keyPair, address, password, false, null).chain();
  }

  /**
   * Sign, optionally revoking the account's other certificates and changing its password
   * ({@code newPassword} null: unchanged).
   */
  public static Signed sign(
      ManagedChannel ch, Duration deadline, KeyPair keyPair, Address address, String password,
      boolean revokeOthers, String newPassword) throws CertificateException {
    SignRequest.Builder req = SignRequest.newBuilder()
        .setCertificationRequest(ByteString.copyFrom(CertificationRequest.create(keyPair, address)))
        .setPassword(password)
        .setRevokeOthers(revokeOthers);
    if (newPassword != null) {
      req.setNewPassword(newPassword);
    }
    SignResponse r = stub(ch, deadline).sign(req.build());
    if (r.getCertificateChainCount() == 0) {
      throw new CertificateException("the server returned no certificate");
    }
    List<X509Certificate> chain = new ArrayList<>();
    for (ByteString der : r.getCertificateChainList()) {
      chain.add(Certificates.fromDer(der.toByteArray()));
    }
    return new Signed(chain, r.getRevoked());
  }

  /** WhoAmI. */
  public static HostPort whoAmI(ManagedChannel ch, Duration deadline) {
    return stub(ch, deadline).whoAmI(WhoAmIRequest.getDefaultInstance()).getAddress();
  }

  /** Closes {@code ch} without waiting long. */
  public static void close(ManagedChannel ch) {
    ch.shutdownNow();
    try {
      ch.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static RegistrationGrpc.RegistrationBlockingStub stub(ManagedChannel ch, Duration deadline) {
    return RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }
}
