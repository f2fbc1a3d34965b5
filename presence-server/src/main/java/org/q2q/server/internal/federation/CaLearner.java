package org.q2q.server.internal.federation;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaMismatchException;
import org.q2q.certstore.CaPins;
import org.q2q.certstore.Fingerprint;
import org.q2q.certstore.ServerChainCapture;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.IdentifyResponse;
import org.q2q.proto.RegistrationGrpc;
import org.q2q.server.internal.Futures;
import org.q2q.server.DomainCas;
import org.q2q.server.internal.limits.LogText;
import org.q2q.server.internal.limits.TokenBuckets;
import org.q2q.server.presence.DomainServerLocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Learns a foreign domain's CA the first time one of its addresses calls: Identify against that
 * domain's server (found by a {@link DomainServerLocator}; of a domain with several nodes, the
 * first that answers, in order), then pins it in {@link DomainCas}
 * (trust on first use; a different CA for a known domain is refused there), and in a {@link
 * CaPins} if given (the database), so the pin survives restarts and holds on every node.
 *
 * <ul>
 *   <li>the answer is tied to the TLS session it came on: the server's own certificate chain must
 *       validate against the CA it returned and name the domain, so a server cannot hand out
 *       another domain's CA;
 *   <li>the caller's thread never waits: the pin is read from {@link CaPins} (the database) and the
 *       domain looked up on lookup threads, so Listen and Inbound can run on event loops;
 *   <li>concurrent callers of one domain share one Identify; a failure is remembered for
 *       {@link #FAILURE_BACKOFF} so a dead server is not hammered;
 *   <li>the server dials only public addresses for a domain's own name ({@link LookupTargets});
 *       one client network may start {@link #LOOKUP_BURST} lookups, then one per {@link
 *       #LOOKUP_EVERY}; at most {@link #MAX_LEARNED_DOMAINS} foreign domains are learned;
 *   <li>why a lookup failed goes to the log (sanitised, at most about one warning a second), never to
 *       the caller, so the lookup cannot probe networks (M1).
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
  /** Lookups one client network may start at once. */
  static final int LOOKUP_BURST = 8;
  /** ... and then one per this long. */
  static final Duration LOOKUP_EVERY = Duration.ofSeconds(6);
  /** How long one node of a domain may take to accept the connection before the next is tried. */
  static final Duration NODE_CONNECT_TIMEOUT = Duration.ofSeconds(3);
  /** Foreign domains learned at most (each costs memory and a pin file). */
  static final int MAX_LEARNED_DOMAINS = 10_000;

  private final DomainCas cas;
  /** Pins kept across restarts (null: in memory only, in {@link #cas}). */
  private final CaPins pins;
  private final DomainServerLocator locator;
  private final Clock clock;
  private final Duration timeout;
  /** Lookups in flight, and recent failures (until their retry time). */
  private final Map<String, CompletableFuture<X509Certificate>> lookups = new ConcurrentHashMap<>();
  private final Map<String, Instant> retryAfter = new ConcurrentHashMap<>();
  private final LookupTargets targets;
  private final int maxLearned;
  private final TokenBuckets perNetwork;
  private final TokenBuckets warnings;
  /**
   * Reads pins, resolves names and starts lookups off the callers' threads (the database and DNS
   * block); its queue holds at most two tasks per entry of {@link #lookups}.
   */
  private final ExecutorService lookupThreads;

  /**
   * @param pins where learned CAs are pinned across restarts, or null (memory only: after a
   *     restart the first use is trusted again)
   */
  public CaLearner(DomainCas cas, CaPins pins, DomainServerLocator locator, Clock clock, Duration timeout) {
    this(cas, pins, locator, clock, timeout, InetAddress::getAllByName, MAX_LEARNED_DOMAINS);
  }

  /** With another resolver (tests replace DNS) and learned-domain cap. */
  CaLearner(DomainCas cas, CaPins pins, DomainServerLocator locator, Clock clock, Duration timeout,
      LookupTargets.Resolver resolver, int maxLearned) {
    this.targets = new LookupTargets(resolver);
    this.maxLearned = maxLearned;
    this.perNetwork = new TokenBuckets(LOOKUP_BURST, 1000.0 / LOOKUP_EVERY.toMillis(), clock, 10_000);
    this.warnings = new TokenBuckets(5, 1, clock, 1);
    ThreadPoolExecutor e = new ThreadPoolExecutor(MAX_CONCURRENT_LOOKUPS, MAX_CONCURRENT_LOOKUPS, 30,
        TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "q2q-federation-lookup");
          t.setDaemon(true);
          return t;
        });
    e.allowCoreThreadTimeOut(true);
    this.lookupThreads = e;
    this.cas = cas;
    this.pins = pins;
    this.locator = locator;
    this.clock = clock;
    this.timeout = timeout;
  }

  /** {@link #caFor(String, String)} with no per-network limit (tests). */
  CompletableFuture<X509Certificate> caFor(String domain) {
    return caFor(domain, null);
  }

  /**
   * The CA of {@code domain}: known already, or learned now.
   *
   * @param callerNetwork the client network of the caller that named the domain ({@link
   *     org.q2q.server.internal.limits.ClientNetwork}), for the per-network lookup limit
   * @return a future failing with UNAUTHENTICATED if it could not be learned (why is logged), or
   *     RESOURCE_EXHAUSTED if the caller's network started too many lookups
   */
  public CompletableFuture<X509Certificate> caFor(String domain, String callerNetwork) {
    Optional<X509Certificate> known = cas.caFor(domain);
    if (known.isPresent()) {
      return CompletableFuture.completedFuture(known.get());
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
    // a domain pinned in the database but not yet in memory counts too: its first call after a
    // restart reads the database, on a lookup thread
    if (callerNetwork != null && !perNetwork.tryTake(callerNetwork)) {
      return CompletableFuture.failedFuture(Status.RESOURCE_EXHAUSTED
          .withDescription("too many lookups of other domains from " + callerNetwork + "; try again in "
              + Math.max(1, perNetwork.secondsUntilToken(callerNetwork)) + " s")
          .asRuntimeException());
    }
    CompletableFuture<X509Certificate> mine = new CompletableFuture<>();
    running = lookups.putIfAbsent(domain, mine);
    if (running != null) {
      return running;
    }
    // the pin first, off the caller's thread: Listen and Inbound run on the connection's event
    // loop, and the pin is a database read
    CompletableFuture.supplyAsync(() -> pinned(domain), lookupThreads)
        .thenComposeAsync(pinned -> pinned.isPresent() ? CompletableFuture.completedFuture(pinned.get()) : learn(domain),
            lookupThreads)
        .whenComplete((ca, e) -> {
      lookups.remove(domain, mine);
      Throwable c = Futures.unwrap(e);
      if (c instanceof Refused r) {
        mine.completeExceptionally(r.status); // not a failure of the domain: nothing to remember
      } else if (e != null) {
        if (retryAfter.size() >= MAX_REMEMBERED_FAILURES) {
          Instant now = clock.instant();
          retryAfter.values().removeIf(t -> !now.isBefore(t));
        }
        retryAfter.put(domain, clock.instant().plus(FAILURE_BACKOFF));
        String why = c instanceof StatusRuntimeException s ? s.getStatus().getDescription() : c.getMessage();
        warn(domain, "cannot learn the CA: " + why);
        // the caller learns only that it failed: the reason (refused, timeout, TLS) would probe networks
        mine.completeExceptionally(unauthenticated(domain, "the lookup failed; the server's log says why"));
      } else {
        retryAfter.remove(domain);
        mine.complete(ca);
      }
    });
    return mine;
  }

  /** A refusal to learn that is this server's limit, passed to the caller as it is. */
  private static final class Refused extends RuntimeException {
    final StatusRuntimeException status;

    Refused(StatusRuntimeException status) {
      super(status.getStatus().getDescription(), null, false, false);
      this.status = status;
    }
  }

  /** Learns {@code domain}'s CA from its servers (on a lookup thread: DNS blocks). */
  private CompletableFuture<X509Certificate> learn(String domain) {
    if (cas.domains().size() - 1 >= maxLearned) {
      warn(domain, "not learned: " + maxLearned + " foreign domains are known already (the limit)");
      return CompletableFuture.failedFuture(new Refused(unauthenticated(domain,
          "this server knows as many other domains as it may; ask its administrator")));
    }
    return identifyFirst(domain, targets.targets(domain, locator.locateAll(domain)), 0, "");
  }

  /** A CA pinned earlier (by this node or another of the domain), now trusted again (no network). */
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

  /**
   * Identify at {@code servers.get(i)}, else at the next server (the domain's nodes, in order);
   * fails with every server's reason once none answered.
   */
  private CompletableFuture<X509Certificate> identifyFirst(String domain, List<InetSocketAddress> servers, int i,
      String failures) {
    return identify(domain, servers.get(i)).handle((ca, e) -> {
      if (e == null) {
        return CompletableFuture.completedFuture(ca);
      }
      Throwable c = Futures.unwrap(e);
      String all = (failures.isEmpty() ? "" : failures + "; ") + c.getMessage();
      if (i + 1 < servers.size()) {
        log.debug("{}: {}; trying the next server", LogText.safe(domain), LogText.safe(c.getMessage()));
        return identifyFirst(domain, servers, i + 1, all);
      }
      return CompletableFuture.<X509Certificate>failedFuture(new IllegalStateException(all));
    }).thenCompose(f -> f);
  }

  private CompletableFuture<X509Certificate> identify(String domain, InetSocketAddress server) {
    CompletableFuture<X509Certificate> result = new CompletableFuture<>();
    ServerChainCapture capture = new ServerChainCapture(Address.ofDomain(domain), true);
    ManagedChannel channel;
    try {
      channel = (server.isUnresolved() ? NettyChannelBuilder.forAddress(server.getHostString(), server.getPort())
              : NettyChannelBuilder.forAddress(server))
          .sslContext(GrpcSslContexts.forClient().trustManager(capture).build())
          .overrideAuthority(domain)
          // a node that does not even accept the connection leaves time for the next one
          .withOption(io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS,
              (int) Math.max(1, Math.min(timeout.toMillis(), NODE_CONNECT_TIMEOUT.toMillis())))
          .build();
    } catch (SSLException e) {
      return CompletableFuture.failedFuture(new IllegalStateException("TLS setup: " + e.getMessage()));
    }
    String where = server.getHostString() + ":" + server.getPort(); // for the log only
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

  /** Logs a lookup problem: remote text sanitised, at most a few warnings a second (L6). */
  private void warn(String domain, String what) {
    if (warnings.tryTake("w")) {
      log.warn("{}: {}", LogText.safe(domain), LogText.safe(what));
    } else {
      log.debug("{}: {}", LogText.safe(domain), LogText.safe(what));
    }
  }

  private static StatusRuntimeException unauthenticated(String domain, String why) {
    return Status.UNAUTHENTICATED
        .withDescription("cannot verify a certificate of " + domain + ": the CA of " + domain
            + " could not be learned (" + why + ")")
        .asRuntimeException();
  }
}
