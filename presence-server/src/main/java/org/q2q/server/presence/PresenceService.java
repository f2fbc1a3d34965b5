package org.q2q.server.presence;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaPins;
import org.q2q.certstore.Identity;
import org.q2q.proto.BindUdpRequest;
import org.q2q.proto.BindUdpResponse;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.InboundResponse;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayFrame;
import org.q2q.server.internal.Futures;
import org.q2q.server.DomainCas;
import org.q2q.server.internal.federation.CaLearner;
import org.q2q.server.internal.federation.CallerResolver;
import org.q2q.server.internal.grpc.StatusMappingInterceptor;
import org.q2q.server.internal.limits.TokenBuckets;
import org.q2q.server.internal.fleet.NodeLinkService;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.metrics.ServerMetrics.Outcome;
import org.q2q.server.internal.metrics.ServerMetrics.Refusal;
import org.q2q.server.internal.presence.BindUdpForwarder;
import org.q2q.server.internal.presence.OtherNodes;
import org.q2q.server.internal.presence.Caller;
import org.q2q.server.internal.presence.InboundBroker;
import org.q2q.server.internal.presence.ListenSession;
import org.q2q.server.internal.presence.ListenerRegistry;
import org.q2q.server.internal.presence.ListenerTickets;
import org.q2q.server.internal.presence.OutboundBudget;
import org.q2q.server.internal.relay.RelayLimits;
import org.q2q.server.internal.relay.RelayRendezvous;
import org.q2q.server.internal.relay.RelaySocketPort;
import org.q2q.server.internal.tls.ServerTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Presence gRPC service of one domain's server: Listen sessions, Inbound, BindUdp and the relay.
 * Every call is authenticated by the caller's TLS client certificate ({@link
 * org.q2q.server.CallerIdentity}); a caller of a foreign domain is verified against that domain's
 * CA, learned on first use from its server by Identify and pinned (federation).
 *
 * <ul>
 *   <li>Listen: only addresses of this server's domain (else PERMISSION_DENIED); services are
 *       registered for the certificate's address and die with the stream;
 *   <li>Inbound: NOT_FOUND / PERMISSION_DENIED / UNAVAILABLE as described in {@link InboundBroker};
 *       listener ids are 128-bit random, base64url, single use, valid {@link
 *       PresenceConfig#listenerIdTtl()};
 *   <li>BindUdp: forwarded to the listener that accepted the id, only toward a udp_candidate the
 *       caller announced in that Inbound ({@link BindUdpForwarder}), its answer returned;
 *   <li>Relay: two streams spliced byte for byte with gRPC flow control on both hops.
 * </ul>
 * Safe for concurrent use.
 */
public final class PresenceService extends PresenceGrpc.PresenceImplBase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PresenceService.class);
  /** Listen streams one address may hold open at once by default ({@link ListenLimits#maxSessionsPerAddress}). */
  public static final int MAX_LISTEN_SESSIONS_PER_ADDRESS = ListenLimits.defaults().maxSessionsPerAddress();

  private final Address ownDomain;
  private final DomainCas cas;
  private final PresenceConfig config;
  private final CallerResolver callers;
  private final ListenerRegistry registry;
  private final OtherNodes otherNodes;
  private final ListenerTickets tickets;
  private final InboundBroker inbound;
  private final BindUdpForwarder bindUdps;
  private final RelayLimits limits;
  private final RelayRendezvous relay;
  private final AtomicLong sessionIds = new AtomicLong();
  private final ListenLimits listenLimits;
  private final Clock clock;
  private final OutboundBudget outbound;
  private final ServerMetrics metrics;
  /** One thread for every Listen session's idle and stall check (not a thread per timer). */
  private final ScheduledExecutorService timers;
  /** Open Listen sessions, to end them on close. */
  private final Set<ListenSession> sessions = ConcurrentHashMap.newKeySet();
  /** Open Listen sessions per address (counted with compute, so the cap holds under races). */
  private final Map<Address, Integer> sessionsPerAddress = new ConcurrentHashMap<>();
  private final AtomicInteger sessionCount = new AtomicInteger();
  /** At most about one warning a second for refusals remote callers can repeat. */
  private final TokenBuckets warnings;
  private volatile boolean closed;
  private volatile RelaySocketPort relaySocket;

  /**
   * @param cas the CAs this server trusts (its own, and foreign ones learned by federation)
   * @param config timeouts, limits and the federation locator
   * @param clock for listener id expiry (and certificate validity of learned CAs)
   */
  public PresenceService(DomainCas cas, PresenceConfig config, Clock clock) {
    this(cas, config, clock, null);
  }

  /**
   * @param federationPins where CAs learned by federation are pinned across restarts (one file per
   *     domain), or null to keep them in memory only
   */
  public PresenceService(DomainCas cas, PresenceConfig config, Clock clock, CaPins federationPins) {
    this(cas, config, clock, federationPins, ListenLimits.defaults());
  }

  /** @param listenLimits the bounds of Listen streams and listener ids */
  public PresenceService(DomainCas cas, PresenceConfig config, Clock clock, CaPins federationPins,
      ListenLimits listenLimits) {
    this(cas, config, clock, federationPins, listenLimits, OtherNodes.NONE);
  }

  /**
   * @param otherNodes the other nodes serving the domain (a fleet sharing a database), told who
   *     listens here and asked for the listeners they hold; {@link OtherNodes#NONE} alone
   */
  public PresenceService(DomainCas cas, PresenceConfig config, Clock clock, CaPins federationPins,
      ListenLimits listenLimits, OtherNodes otherNodes) {
    this(cas, config, clock, federationPins, listenLimits, otherNodes, new ServerMetrics());
  }

  /** @param metrics where the service counts what it does (its server's) */
  public PresenceService(DomainCas cas, PresenceConfig config, Clock clock, CaPins federationPins,
      ListenLimits listenLimits, OtherNodes otherNodes, ServerMetrics metrics) {
    this.metrics = metrics;
    this.otherNodes = otherNodes;
    this.registry = new ListenerRegistry(otherNodes);
    this.ownDomain = cas.ownDomain();
    this.cas = cas;
    this.listenLimits = listenLimits;
    this.clock = clock;
    this.warnings = new TokenBuckets(5, 1, clock, 1);
    this.outbound = new OutboundBudget(listenLimits.outboundBudgetBytes(), listenLimits.globalOutboundBytes());
    this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "q2q-listen-timers");
      t.setDaemon(true);
      return t;
    });
    this.config = config;
    long period = Math.max(1, Math.min(config.listenIdleTimeout().toMillis(), listenLimits.stallTimeout().toMillis()) / 4);
    timers.scheduleAtFixedRate(this::checkListenSessions, period, period, TimeUnit.MILLISECONDS);
    CaLearner learner = config.federation() == null ? null
        : new CaLearner(cas, federationPins, config.federation(), clock, config.inboundAnswerTimeout());
    this.callers = new CallerResolver(cas, learner);
    this.tickets = new ListenerTickets(clock, config.listenerIdTtl(), listenLimits.maxListenerIds(),
        otherNodes.ticketPrefix());
    this.inbound = new InboundBroker(ownDomain, registry, tickets, config.inboundAnswerTimeout(), otherNodes,
        metrics);
    this.bindUdps = new BindUdpForwarder(tickets, config.bindUdpTimeout());
    this.limits = new RelayLimits(config.maxRelayStreamsPerAddress(), config.maxRelayBytesInFlightPerAddress(),
        config.relayCaps().maxStreams(), config.relayCaps().maxAnonymousStreams(),
        config.relayCaps().maxBytesInFlight(), metrics);
    this.relay = new RelayRendezvous(tickets, limits, config.relayTap(), config.maxRelayFrameBytes(),
        config.relayWindowFrames(), config.relayReadyThresholdBytes(), config.relayJoinTimeout(), metrics);
  }

  /** The service with {@link PresenceConfig#defaults()} and the system clock. */
  public static PresenceService withDefaults(DomainCas cas) {
    return new PresenceService(cas, PresenceConfig.defaults(), Clock.systemUTC());
  }

  @Override
  public StreamObserver<ListenUp> listen(StreamObserver<ListenDown> responses) {
    ServerCallStreamObserver<ListenDown> out = (ServerCallStreamObserver<ListenDown>) responses;
    String id = "listen-" + sessionIds.incrementAndGet();
    Caller caller;
    try {
      Optional<Address> claimed = callers.claimed();
      if (claimed.isPresent() && !claimed.get().domain().equals(ownDomain.domain())) {
        throw Status.PERMISSION_DENIED
            .withDescription("this server (" + ownDomain + ") accepts Listen only for addresses of " + ownDomain
                + "; " + claimed.get() + " must listen at " + claimed.get().domainAddress() + "'s server")
            .asRuntimeException();
      }
      caller = callers.requireVerified();
      if (caller.address().isDomain()) {
        throw Status.PERMISSION_DENIED
            .withDescription("the domain identity " + caller.address() + " cannot listen; use a user address")
            .asRuntimeException();
      }
    } catch (StatusRuntimeException e) {
      log.info("{} {}: Listen refused: {}", id, callers.claimed().map(Object::toString).orElse("-"), e.getStatus());
      out.onError(e);
      return new NoOpObserver<>();
    }
    if (closed) {
      out.onError(Status.UNAVAILABLE.withDescription("the server is shutting down").asRuntimeException());
      return new NoOpObserver<>();
    }
    Address me = caller.address();
    String full = admit(me);
    if (full != null) {
      if (warnings.tryTake("listen")) { // a flood of refused calls must not flood the log (L6)
        log.warn("{} {}: Listen refused: {}", id, me, full);
      }
      out.onError(Status.RESOURCE_EXHAUSTED.withDescription(full).asRuntimeException());
      return new NoOpObserver<>();
    }
    log.info("{} {}: Listen session opened", id, caller.address());
    AtomicBoolean released = new AtomicBoolean();
    ListenSession s = new ListenSession(id, caller, out, registry, config.maxServicesPerSession(),
        config.maxPendingQueriesPerSession(), outbound, clock, metrics, ended -> {
          sessions.remove(ended);
          if (released.compareAndSet(false, true)) {
            release(me);
          }
        });
    sessions.add(s);
    return s;
  }

  /**
   * Every quarter of the shorter of the idle and stall timeouts: ends the Listen sessions silent
   * or not reading for too long. One pass over all sessions reading two fields each, rather than a
   * timer per session: 50,000 sessions' timers fired about 6,700 tasks a second, each one
   * allocation and queue work, and kept G1 busy refining the cards they dirtied (bench/capacity.sh).
   */
  private void checkListenSessions() {
    try {
      Duration idle = config.listenIdleTimeout();
      Duration stall = listenLimits.stallTimeout();
      long idleMillis = idle.toMillis();
      long stallMillis = stall.toMillis();
      long now = clock.millis();
      for (ListenSession s : sessions) {
        if (s.due(now, idleMillis, stallMillis)) {
          s.check(idle, stall);
        }
      }
    } catch (RuntimeException e) { // a throw would cancel the schedule: no session would ever time out
      log.error("checking the Listen sessions for timeouts failed", e);
    }
  }

  /** Counts a new Listen session of {@code me}; null if admitted, else why not. */
  private String admit(Address me) {
    if (sessionCount.incrementAndGet() > listenLimits.maxSessions()) {
      sessionCount.decrementAndGet();
      metrics.refused(Refusal.LISTEN_SESSIONS_TOTAL);
      return "the server has " + listenLimits.maxSessions() + " Listen streams open (the limit); try again later";
    }
    boolean[] admitted = {false};
    sessionsPerAddress.compute(me, (a, n) -> {
      int held = n == null ? 0 : n;
      if (held >= listenLimits.maxSessionsPerAddress()) {
        return n;
      }
      admitted[0] = true;
      return held + 1;
    });
    if (!admitted[0]) {
      sessionCount.decrementAndGet();
      metrics.refused(Refusal.LISTEN_SESSIONS_PER_ADDRESS);
      return me + " already has " + listenLimits.maxSessionsPerAddress() + " Listen streams open (the limit)";
    }
    return null;
  }

  private void release(Address me) {
    sessionsPerAddress.computeIfPresent(me, (a, n) -> n <= 1 ? null : n - 1);
    sessionCount.decrementAndGet();
  }

  /** Listen sessions open now. */
  public int listenSessions() {
    return sessionCount.get();
  }

  /** Services offered by the open Listen sessions now (one per session and service). */
  public int listenServices() {
    return registry.size();
  }

  /** Bytes queued now for Listen clients that do not read (bounded by {@link ListenLimits}). */
  public long listenBytesWaiting() {
    return outbound.used();
  }

  @Override
  public void inbound(InboundRequest request, StreamObserver<InboundResponse> responses) {
    String who = callerName(); // read now: the continuation may run outside this call's Context
    long started = System.nanoTime();
    callers.resolve()
        .thenCompose(caller -> inbound.inbound(caller, request))
        .whenComplete((r, e) -> {
          if (e != null) {
            StatusRuntimeException s = statusOf(e);
            log.info("{}: Inbound {}/{} failed: {}", who, safe(request.getTo()), safe(request.getService()),
                s.getStatus());
            metrics.inbound(InboundBroker.noListenerAnswered(s.getStatus()) ? Outcome.TIMEOUT
                : Outcome.of(s.getStatus().getCode()), System.nanoTime() - started);
            responses.onError(s);
          } else {
            metrics.inbound(Outcome.OK, System.nanoTime() - started);
            responses.onNext(r);
            responses.onCompleted();
          }
        });
  }

  @Override
  public void bindUdp(BindUdpRequest request, StreamObserver<BindUdpResponse> responses) {
    callers.resolve()
        .thenCompose(caller -> otherNodes.bindUdp(caller, request) // an id another node issued goes there
            .orElseGet(() -> bindUdps.bindUdp(caller, request)))
        .whenComplete((r, e) -> {
          if (e != null) {
            responses.onError(statusOf(e));
          } else {
            responses.onNext(r);
            responses.onCompleted();
          }
        });
  }

  /**
   * The node link service: Inbound and BindUdp forwarded by the domain's other nodes, answered from
   * the listeners held here (only other nodes of the domain may call it).
   */
  public io.grpc.BindableService nodeLink() {
    return new NodeLinkService(ownDomain, inbound, bindUdps);
  }

  /** Every (address, service) pair listened for on this node now. */
  public List<ListenerRegistry.Key> listening() {
    return registry.keys();
  }

  @Override
  public StreamObserver<RelayFrame> relay(StreamObserver<RelayFrame> responses) {
    return relay.open(responses, callers.resolve());
  }

  /**
   * Opens the relay socket on {@code at} ({@link RelaySocketPort}) with the server's identity, and
   * announces its port in the relay methods of Inbound answers from now on. Closed with this service.
   *
   * @return the port listened on
   * @throws IOException if the port cannot be bound
   */
  public synchronized int openRelaySocket(InetSocketAddress at, javax.net.ssl.KeyManager serverKeys) throws IOException {
    if (relaySocket != null) {
      throw new IllegalStateException("the relay socket is open already, on port " + relaySocket.port());
    }
    RelaySocketPort p = RelaySocketPort.bind(at, ServerTls.relayContext(serverKeys, RelaySocketPort.ALPN), relay,
        callers::resolve, config.relayCaps());
    relaySocket = p;
    inbound.relaySocketPort(p.port());
    return p.port();
  }

  /** The relay socket's port, or 0 if it is not open. */
  public int relaySocketPort() {
    RelaySocketPort p = relaySocket;
    return p == null ? 0 : p.port();
  }

  /** Timers of relay streams pending now (tests: streams that ended leave none). */
  public int pendingRelayTimers() {
    return relay.pendingTimers();
  }

  /** Relay streams and sockets whose caller or hello is not known yet (tests). */
  public int anonymousRelayStreams() {
    return limits.anonymousStreams();
  }

  /**
   * Ends every Listen session and relay stream with UNAVAILABLE "the server is shutting down", so
   * that clients reconnect elsewhere (or later) at once instead of waiting for the shutdown grace.
   */
  @Override
  public void close() {
    closed = true;
    Status bye = Status.UNAVAILABLE.withDescription("the server is shutting down");
    for (ListenSession s : sessions) {
      s.close(bye);
    }
    relay.close(bye);
    timers.shutdownNow();
    RelaySocketPort p = relaySocket;
    if (p != null) {
      inbound.relaySocketPort(0);
      p.close();
    }
  }

  /**
   * Ends, with UNAUTHENTICATED saying why, every Listen session whose certificate has expired or
   * been revoked since it opened (called after each change of the revocation list and
   * periodically; a set lookup and a date comparison per session).
   *
   * @return how many were ended
   */
  public int dropInvalidListeners() {
    int dropped = 0;
    for (ListenSession s : sessions) {
      try {
        cas.checkStillValid(s.caller().chain());
      } catch (java.security.cert.CertificateException e) {
        log.info("{} {}: ending the Listen session: {}", s.id(), s.address(), e.getMessage());
        s.close(Status.UNAUTHENTICATED.withDescription("client certificate no longer accepted: " + e.getMessage()));
        dropped++;
      }
    }
    return dropped;
  }

  /** The relay's counters (bytes in flight, high-water mark...), for benchmarks and tests. */
  public RelayStats relayStats() {
    return relay.stats();
  }

  /** Bytes of {@code address} now in flight in the relay (tests). */
  public long relayBytesInFlight(Address address) {
    return limits.bytesInFlight(address);
  }

  /** Listener ids handed out and still usable (tests). */
  public int usableListenerIds() {
    tickets.sweep();
    return tickets.size();
  }

  private static StatusRuntimeException statusOf(Throwable e) {
    Throwable c = Futures.unwrap(e);
    if (c instanceof StatusRuntimeException s) {
      return s;
    }
    return StatusMappingInterceptor.toStatus(c, "Presence").asRuntimeException(); // an incident id, no class name (L5)
  }

  private String callerName() {
    return callers.claimed().map(Object::toString).orElse("-");
  }

  private static String safe(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s.replaceAll("\\p{Cntrl}", "?");
  }

  private static final class NoOpObserver<T> implements StreamObserver<T> {
    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
