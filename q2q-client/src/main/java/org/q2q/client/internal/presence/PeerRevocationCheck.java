package org.q2q.client.internal.presence;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.client.internal.Futures;
import org.q2q.client.internal.grpc.DomainServers;
import org.q2q.proto.CertificateStatusRequest;
import org.q2q.proto.CertificateStatusResponse;
import org.q2q.proto.RevocationGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a caller of another domain holds a revoked certificate, asked of that domain's server
 * (its Revocation service) before a listener accepts the caller. Callers of the listener's own
 * domain need no question: their Inbound went through the listener's own server, which refuses
 * revoked certificates itself.
 *
 * <p>Answers are cached for {@link #TTL_MILLIS} (revoked: {@link #REVOKED_TTL_MILLIS}; at most
 * {@link #MAX_CACHED} serials). If the
 * caller's server cannot be asked, the caller is accepted and a warning logged (soft fail, like
 * OCSP in browsers: its certificate still had to validate against its domain's pinned CA). Safe
 * for concurrent use.
 */
final class PeerRevocationCheck {
  private static final Logger log = LoggerFactory.getLogger(PeerRevocationCheck.class);
  /**
   * How long a "not revoked" answer is reused: bounds how late a revocation reaches a listener of
   * another domain (plus the revoking server's own refresh, 2 s).
   */
  static final long TTL_MILLIS = 5_000;
  /** How long a "revoked" answer is reused. */
  static final long REVOKED_TTL_MILLIS = 300_000;
  /** Serials whose answer is kept at most. */
  static final int MAX_CACHED = 4096;
  /** Deadline of one question. */
  static final long DEADLINE_MILLIS = 5_000;

  private record Answer(boolean revoked, long until) {}

  private final Address self;
  private final DomainServers servers;
  private final Clock clock;
  private final Map<BigInteger, Answer> cache = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<BigInteger, Answer> eldest) {
      return size() > MAX_CACHED;
    }
  };

  PeerRevocationCheck(Address self, DomainServers servers, Clock clock) {
    this.self = self;
    this.servers = servers;
    this.clock = clock;
  }

  /** Completes with true if {@code from}'s domain has revoked {@code leaf}; never fails. */
  CompletableFuture<Boolean> isRevoked(Address from, X509Certificate leaf) {
    if (leaf == null || from.domain().equals(self.domain())) {
      return CompletableFuture.completedFuture(false);
    }
    BigInteger serial = leaf.getSerialNumber();
    synchronized (cache) {
      Answer a = cache.get(serial);
      if (a != null && clock.millis() < a.until()) {
        return CompletableFuture.completedFuture(a.revoked());
      }
    }
    return servers.server(from.domainAddress()).thenCompose(s -> {
      CompletableFuture<Boolean> result = new CompletableFuture<>();
      RevocationGrpc.newStub(s.channel()).withDeadlineAfter(DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
          .status(CertificateStatusRequest.newBuilder().setAddress(from.toString())
              .setSerial(ByteString.copyFrom(serial.toByteArray())).build(), new StreamObserver<>() {
                @Override
                public void onNext(CertificateStatusResponse r) {
                  synchronized (cache) {
                    cache.put(serial, new Answer(r.getRevoked(),
                        clock.millis() + (r.getRevoked() ? REVOKED_TTL_MILLIS : TTL_MILLIS)));
                  }
                  result.complete(r.getRevoked());
                }

                @Override
                public void onError(Throwable t) {
                  result.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                  result.complete(false);
                }
              });
      return result;
    }).exceptionally(e -> {
      Throwable c = Futures.unwrap(e);
      log.warn("{} cannot ask {}'s server whether {}'s certificate is revoked ({}); accepting it",
          self, from.domain(), from, c instanceof io.grpc.StatusRuntimeException sre
              ? Status.fromThrowable(sre).getCode() : c.getMessage());
      return false;
    });
  }
}
