package org.q2q.server.internal.federation;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.Address;
import org.q2q.certstore.Certificates;
import org.q2q.server.CallerIdentity;
import org.q2q.server.DomainCas;
import org.q2q.server.internal.limits.ClientNetwork;
import org.q2q.server.internal.presence.Caller;

/**
 * Who is calling, from {@link CallerIdentity}'s context keys; for a caller of a foreign domain whose
 * CA is not known yet, the CA is learned first ({@link CaLearner}) and the chain verified then.
 * Safe for concurrent use.
 */
public final class CallerResolver {
  private final DomainCas cas;
  private final CaLearner learner;

  /** @param learner null: no federation (foreign callers need an already known CA) */
  public CallerResolver(DomainCas cas, CaLearner learner) {
    this.cas = cas;
    this.learner = learner;
  }

  /**
   * The caller of the current call; must run in the call's {@link io.grpc.Context}.
   *
   * @return the caller, or a failure with UNAUTHENTICATED saying why
   */
  public CompletableFuture<Caller> resolve() {
    Address verified = CallerIdentity.current();
    List<X509Certificate> chain = CallerIdentity.CHAIN.get();
    if (verified != null && chain != null && !chain.isEmpty()) {
      return CompletableFuture.completedFuture(new Caller(verified, chain));
    }
    if (chain == null || chain.isEmpty()) {
      return failedRequire();
    }
    Optional<Address> claimed = Certificates.addressOf(chain.get(0));
    if (claimed.isEmpty() || learner == null || cas.caFor(claimed.get().domain()).isPresent()) {
      return failedRequire(); // the interceptor already said why
    }
    String domain = claimed.get().domain();
    String network = ClientNetwork.of(CallerIdentity.REMOTE_ADDRESS.get());
    return learner.caFor(domain, network).thenApply(ca -> {
      try {
        return new Caller(cas.verify(chain), chain);
      } catch (CertificateException e) {
        throw Status.UNAUTHENTICATED
            .withDescription("client certificate not accepted: " + e.getMessage())
            .asRuntimeException();
      }
    });
  }

  /**
   * The caller behind {@code chain}, a chain presented outside gRPC (the relay socket's TLS
   * handshake, which proved the holder of the leaf's key): verified against the known CAs, or
   * against a foreign domain's CA learned first as for a call.
   *
   * @return the caller, or a failure with UNAUTHENTICATED saying why
   */
  public CompletableFuture<Caller> resolve(List<X509Certificate> chain) {
    if (chain.isEmpty()) {
      return CompletableFuture.failedFuture(Status.UNAUTHENTICATED
          .withDescription("a client certificate is needed (register first)").asRuntimeException());
    }
    try {
      return CompletableFuture.completedFuture(new Caller(cas.verify(chain), chain));
    } catch (CertificateException e) {
      Optional<Address> claimed = Certificates.addressOf(chain.get(0));
      if (claimed.isEmpty() || learner == null || cas.caFor(claimed.get().domain()).isPresent()) {
        return CompletableFuture.failedFuture(Status.UNAUTHENTICATED
            .withDescription("client certificate not accepted: " + e.getMessage()).asRuntimeException());
      }
    }
    return learner.caFor(Certificates.addressOf(chain.get(0)).orElseThrow().domain()).thenApply(ca -> {
      try {
        return new Caller(cas.verify(chain), chain);
      } catch (CertificateException e) {
        throw Status.UNAUTHENTICATED
            .withDescription("client certificate not accepted: " + e.getMessage())
            .asRuntimeException();
      }
    });
  }

  /**
   * The caller of the current call if it is verified already (no federation lookup).
   *
   * @throws StatusRuntimeException UNAUTHENTICATED
   */
  public Caller requireVerified() {
    Address a = CallerIdentity.require();
    List<X509Certificate> chain = CallerIdentity.CHAIN.get();
    if (chain == null || chain.isEmpty()) {
      throw Status.UNAUTHENTICATED.withDescription("no client certificate chain").asRuntimeException();
    }
    return new Caller(a, chain);
  }

  /** The address the current call's certificate claims, verified or not (for early refusals). */
  public Optional<Address> claimed() {
    List<X509Certificate> chain = CallerIdentity.CHAIN.get();
    return chain == null || chain.isEmpty() ? Optional.empty() : Certificates.addressOf(chain.get(0));
  }

  private static CompletableFuture<Caller> failedRequire() {
    try {
      CallerIdentity.require();
      return CompletableFuture.failedFuture(
          Status.UNAUTHENTICATED.withDescription("no client certificate chain").asRuntimeException());
    } catch (StatusRuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
