package org.q2q.server.internal.federation;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaMismatchException;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.ServerChainCapture;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.IdentifyResponse;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.server.DomainCas;
import org.q2q.server.presence.DomainServerLocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Learns a foreign domain's CA the first time one of its addresses calls: Identify against that
 * domain's server (found by a {@link DomainServerLocator}), then pins it in {@link DomainCas}
 * (trust on first use; a different CA for a known domain is refused there), and in a {@link
 * CaPinStore} if given, so the pin survives restarts.
 *
 * <ul>
 *   <li>the answer is tied to the TLS session it came on: the server's own certificate chain must
 *       validate against the CA it returned and name the domain, so a server cannot hand out
 *       another domain's CA;
 *   <li>concurrent callers of one domain share one Identify; a failure is remembered for
 *       {@link #FAILURE_BACKOFF} so a dead server is not hammered.
 * </ul>
 * Safe for concurrent use.
 */
public final class CaLearner {
  private static final Logger log = LoggerFactory.getLogger(CaLearner.class);
  /** How long a failed lookup is answered from memory. */
  static final Duration FAILURE_BACKOFF = Duration.ofSeconds(10);
  /**
   * Lookups running at once. Any caller can present a certificate naming any domain, which makes
   * this server connect to that domain's server; the cap keeps that from becoming a flood.
   */
  static final int MAX_CONCURRENT_LOOKUPS = 16;
  /** Remembered failures kept before old ones are dropped. */
  private static final int MAX_REMEMBERED_FAILURES = 10_000;

  private final DomainCas cas;
  /** Pins kept across restarts (null: in memory only, in {@link #cas}). */
  private final CaPinStore pins;
  private final DomainServerLocator locator;
  private final Clock clock;
  private final Duration timeout;
  /** Lookups in flight, and recent failures (until their retry time). */
  private final Map<String, CompletableFuture<X509Certificate>> lookups = new ConcurrentHashMap<>();
  private final Map<String, Instant> retryAfter = new ConcurrentHashMap<>();

  /**
   * @param pins where learned CAs are pinned across restarts, or null (memory only: after a
   *     restart the first use is trusted again)
   */
  public CaLearner(DomainCas cas, CaPinStore pins, DomainServerLocator locator, Clock clock, Duration timeout) {
    this.cas = cas;
    this.pins = pins;
    this.locator = locator;
    this.clock = clock;
    this.timeout = timeout;
  }

  /**
   * The CA of {@code domain}: known already, or learned now.
   *
   * @return a future failing with UNAUTHENTICATED saying why it could not be learned
   */
  public CompletableFuture<X509Certificate> caFor(String domain) {
    Optional<X509Certificate> known = cas.caFor(domain);
    if (known.isPresent()) {
      return CompletableFuture.completedFuture(known.get());
    }
    Optional<X509Certificate> pinned = pinned(domain);
    if (pinned.isPresent()) {
      return CompletableFuture.completedFuture(pinned.get());
    }
    CompletableFuture<X509Certificate> running = lookups.get(domain);
    if (running != null) {
      return running;
    }
    Instant retry = retryAfter.get(domain);
    if (retry != null && clock.instant().isBefore(retry)) {
      return CompletableFuture.failedFuture(unauthenticated(domain, "a recent lookup failed; retrying after " + retry));
    }
    if (lookups.size() >= MAX_CONCURRENT_LOOKUPS) {
      return CompletableFuture.failedFuture(unauthenticated(domain,
          "too many other domains are being looked up right now; try again shortly"));
    }
    CompletableFuture<X509Certificate> mine = new CompletableFuture<>();
    running = lookups.putIfAbsent(domain, mine);
    if (running != null) {
      return running;
    }
    identify(domain).whenComplete((ca, e) -> {
      lookups.remove(domain, mine);
      if (e != null) {
        if (retryAfter.size() >= MAX_REMEMBERED_FAILURES) {
          Instant now = clock.instant();
          retryAfter.values().removeIf(t -> !now.isBefore(t));
        }
        retryAfter.put(domain, clock.instant().plus(FAILURE_BACKOFF));
        Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        String why = c instanceof StatusRuntimeException s ? s.getStatus().getDescription() : c.getMessage();
        log.warn("{}: cannot learn the CA: {}", domain, why);
        mine.completeExceptionally(unauthenticated(domain, why));
      } else {
        retryAfter.remove(domain);
        mine.complete(ca);
      }
    });
    return mine;
  }

  /** A CA pinned on disk by an earlier run, now trusted again (no network). */
  private Optional<X509Certificate> pinned(String domain) {
    if (pins == null) {
      return Optional.empty();
    }
    try {
      Optional<X509Certificate> ca = pins.get(domain);
      if (ca.isPresent()) {
        cas.learn(domain, ca.get());
        log.info("{}: trusting the CA pinned earlier, {}", domain, Fingerprint.of(ca.get()));
      }
      return ca;
    } catch (IOException | CertificateException e) {
      log.warn("{}: the pinned CA is unusable ({}); learning it again", domain, e.getMessage());
      return Optional.empty();
    }
  }

  private CompletableFuture<X509Certificate> identify(String domain) {
    CompletableFuture<X509Certificate> result = new CompletableFuture<>();
    InetSocketAddress server;
    try {
      server = locator.locate(domain);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(new IllegalStateException("no server known: " + e.getMessage()));
    }
    ServerChainCapture capture = new ServerChainCapture(Address.ofDomain(domain), true);
    ManagedChannel channel;
    try {
      channel = NettyChannelBuilder.forAddress(server.getHostString(), server.getPort())
          .sslContext(GrpcSslContexts.forClient().trustManager(capture).build())
          .overrideAuthority(domain)
          .build();
    } catch (SSLException e) {
      return CompletableFuture.failedFuture(new IllegalStateException("TLS setup: " + e.getMessage()));
    }
    String where = server.getHostString() + ":" + server.getPort();
    log.info("{}: learning the CA from its server at {}", domain, where);
    RegistrationGrpc.newStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .identify(IdentifyRequest.newBuilder().setSubject(domain).build(), new StreamObserver<>() {
          @Override
          public void onNext(IdentifyResponse r) {
            try {
              result.complete(check(domain, r, capture));
            } catch (CertificateException | RuntimeException e) {
              result.completeExceptionally(new IllegalStateException(
                  "the server at " + where + " answered with an unusable CA: " + e.getMessage()));
            }
          }

          @Override
          public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            result.completeExceptionally(new IllegalStateException(
                "Identify at " + where + " failed: " + s.getCode() + " " + s.getDescription() + rootCause(t)));
          }

          @Override
          public void onCompleted() {
            result.completeExceptionally(new IllegalStateException("Identify at " + where + " gave no answer"));
          }
        });
    return result.whenComplete((ca, e) -> channel.shutdownNow());
  }

  private X509Certificate check(String domain, IdentifyResponse r, ServerChainCapture serverChain)
      throws CertificateException {
    X509Certificate ca = serverChain.verifyIdentified(r.getCaCertificate().toByteArray(), r.getDomain(), clock.instant());
    if (pins != null) {
      try {
        pins.verifyOrPin(domain, ca, null);
      } catch (CaMismatchException e) {
        throw new CertificateException("its CA " + e.actual() + " differs from the CA " + e.expected()
            + " pinned for " + domain + " earlier; refusing it");
      } catch (IOException e) {
        throw new CertificateException("cannot pin it: " + e.getMessage());
      }
    }
    boolean isNew = cas.learn(domain, ca); // refuses a CA different from the one already known
    log.info("{}: {} CA {}", domain, isNew ? "learned and pinned" : "confirmed", Fingerprint.of(ca));
    return ca;
  }

  /** The innermost cause's message (e.g. why TLS refused the server), for the caller's status. */
  private static String rootCause(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c == t || c.getMessage() == null ? "" : " (" + c.getMessage() + ")";
  }

  private static StatusRuntimeException unauthenticated(String domain, String why) {
    return Status.UNAUTHENTICATED
        .withDescription("cannot verify a certificate of " + domain + ": the CA of " + domain
            + " could not be learned (" + why + ")")
        .asRuntimeException();
  }
}
