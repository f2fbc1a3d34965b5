package org.q2q.server;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Identity;
import org.q2q.certstore.PasswordHasher;
import org.q2q.certstore.ServerDirectory;
import org.q2q.proto.PresenceGrpc;
import org.q2q.server.internal.fleet.Fleet;
import org.q2q.server.internal.fleet.Node;
import org.q2q.server.internal.fleet.NodeDirectory;
import org.q2q.server.internal.fleet.NodeLinks;
import org.q2q.server.internal.grpc.StatusMappingInterceptor;
import org.q2q.server.internal.presence.OtherNodes;
import org.q2q.server.internal.grpc.StreamsEndedOnClose;
import org.q2q.server.internal.metrics.MetricsEndpoint;
import org.q2q.server.internal.metrics.ServerMetrics;
import org.q2q.server.internal.registration.RegistrationService;
import org.q2q.server.internal.registration.RevocationService;
import org.q2q.server.internal.registration.DomainRateLimits;
import org.q2q.server.internal.registration.SignGate;
import org.q2q.server.internal.stun.StunPort;
import org.q2q.server.internal.limits.ConnectionGate;
import org.q2q.server.internal.tls.ServerCertificate;
import org.q2q.server.internal.tls.ServerTls;
import org.q2q.server.presence.ListenLimits;
import org.q2q.server.presence.PresenceConfig;
import org.q2q.server.presence.PresenceService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A domain's presence server: its CA, its accounts, and the gRPC services over TLS.
 *
 * <ul>
 *   <li>{@link #start()} loads (or creates on first start) the CA in the data folder, issues the
 *       server's own TLS certificate from it, opens the account database and listens;
 *   <li>the Registration service is always there, Presence by default ({@link Builder#presence});
 *       more services are added with {@link Builder#addService};
 *   <li>the UDP port of the same number (unless {@link Builder#udp} turns it off) answers STUN
 *       Binding requests, so clients learn the NAT mapping of their PTCP socket (see {@link
 *       #udpPort()});
 *   <li>the standard gRPC health service ({@code grpc.health.v1.Health}: SERVING once started, for
 *       the server ("") and each q2q service, NOT_SERVING as soon as {@link #close()} begins) and
 *       server reflection (v1 and v1alpha) are on the same port, callable without a client
 *       certificate, so generic probes and tools work;
 *   <li>{@link #metrics()} counts what the server does; {@link Builder#metrics} serves it over HTTP
 *       in the Prometheus text format (off by default);
 *   <li>every call passes the {@link CallerIdentity} interceptor (client certificates are optional
 *       in TLS and checked per call against {@link #domainCas()}) and a catch-all that turns
 *       exceptions into described statuses;
 *   <li>{@link #close()} stops taking calls, closes services that are {@link AutoCloseable} (so
 *       they can end long-lived streams), waits up to the grace period, then cancels the rest.
 * </ul>
 *
 * Safe for concurrent use.
 */
public final class PresenceServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PresenceServer.class);

  /** Makes a service once the server's CA and registries exist (called by {@link #start()}). */
  @FunctionalInterface
  public interface ServiceFactory {
    /** The service to add; if it is {@link AutoCloseable} it is closed when the server closes. */
    BindableService create(PresenceServer server) throws IOException;
  }

  private final Builder config;
  private final Address domain;
  private volatile CertificateAuthority ca;
  private volatile DomainCas domainCas;
  private volatile ServerCertificate serverCertificate;
  private volatile ConnectionGate connections;
  /** Server-wide timers (the TLS certificate's renewal). */
  private volatile ScheduledExecutorService timers;
  private volatile ServerDatabase database;
  private volatile AccountStore accounts;
  private volatile Revocations revocations;
  private volatile ScheduledExecutorService revocationWatch;
  private volatile Server server;
  private volatile ExecutorService executor;
  private volatile PresenceService presence;
  private volatile StunPort stun;
  private volatile NodeDirectory directory; // null: alone
  private final ServerMetrics metrics = new ServerMetrics();
  private volatile HealthStatusManager health;
  private volatile MetricsEndpoint metricsEndpoint;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  private PresenceServer(Builder b) {
    this.config = b;
    this.domain = Address.ofDomain(b.domain);
  }

  /** A builder with the defaults of {@code q2q server}. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts the server: CA, TLS identity, database, services, listening socket.
   *
   * @throws IOException if the data folder, the database or the port cannot be used
   */
  public synchronized PresenceServer start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    boolean ok = false;
    try {
      ca = CertificateAuthority.loadOrCreate(config.dataDir, domain, config.clock);
      serverCertificate = new ServerCertificate(ca, config.bindHost, config.clock, config.serverCertificateValidity);
      timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "q2q-server-timers");
        t.setDaemon(true);
        return t;
      });
      long renewEvery = serverCertificate.checkInterval().toMillis();
      timers.scheduleWithFixedDelay(serverCertificate::renewIfDue, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
      database = ServerDatabase.open(
          config.database != null ? config.database : DatabaseLocation.sqlite(config.dataDir));
      closeables.add(database);
      // every node of a domain serves with the same CA: the database keeps the first one's
      database.recordOrCheckCa(domain, ca.fingerprint());
      log.info("serving {} with the CA {} (database {})", domain, ca.fingerprint(), database.location());
      accounts = new AccountStore(database, config.clock);
      revocations = Revocations.of(accounts);
      domainCas = new DomainCas(ca, config.clock, revocations);

      executor = newExecutor(config.threads);
      InetSocketAddress bind =
          config.bindHost == null || config.bindHost.isEmpty()
              ? new InetSocketAddress(config.port)
              : new InetSocketAddress(config.bindHost, config.port);
      ConnectionLimits limits = config.connectionLimits;
      connections = new ConnectionGate(
          InternalProtocolNegotiators.serverTls(ServerTls.serverContext(serverCertificate)),
          limits.maxPerNetwork(), limits.maxTotal(), config.clock, metrics);
      metrics.watchConnections(connections::open);
      NettyServerBuilder sb =
          NettyServerBuilder.forAddress(bind, InternalNettyServerCredentials.create(connections))
              .executor(executor)
              .callExecutor(PresenceServer::callExecutor)
              // clients ping idle channels every 45 s (PresenceChannels); allow it, or gRPC
              // answers GOAWAY "too_many_pings"
              .permitKeepAliveTime(10, TimeUnit.SECONDS)
              .permitKeepAliveWithoutCalls(true)
              .handshakeTimeout(limits.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS)
              .maxConnectionIdle(limits.maxIdle().toMillis(), TimeUnit.MILLISECONDS)
              .maxConcurrentCallsPerConnection(limits.maxCallsPerConnection())
              .maxInboundMessageSize(config.maxMessageBytes);

      SignGate signGate = new SignGate(config.registrationLimits, config.clock,
          new DomainRateLimits(database, config.clock), metrics);
      closeables.add(0, signGate);
      List<BindableService> services = new ArrayList<>();
      services.add(
          new RegistrationService(
              ca, accounts, config.hasher, config.registration, config.certificateValidity, signGate, metrics,
              config.nodes != null ? config.nodes : this::liveNodes));
      services.add(new RevocationService(domain, revocations));
      for (ServiceFactory f : config.factories) {
        BindableService s = f.create(this);
        services.add(s);
        if (s instanceof AutoCloseable c) {
          closeables.add(0, c); // services close before the database
        }
      }
      // Presence is on by default, unless disabled or replaced by an added service of the same name.
      if (config.presence != null && services.stream().noneMatch(
          s -> s.bindService().getServiceDescriptor().getName().equals(PresenceGrpc.SERVICE_NAME))) {
        OtherNodes others = OtherNodes.NONE;
        if (database.dialect() == SqlDialect.POSTGRESQL) { // a shared database: one node of a fleet
          directory = new NodeDirectory(database.dataSource(), Node.newId(), config.fleetHeartbeat,
              config.fleetDeadAfter, () -> presence == null ? List.of() : presence.listening());
          NodeLinks links = new NodeLinks(domain, ca.certificate(), serverCertificate::identity, executor);
          closeables.add(0, links);
          others = new Fleet(directory, links, config.presence.inboundAnswerTimeout());
        }
        presence = new PresenceService(domainCas, config.presence, config.clock,
            DatabaseCaPins.open(database, config.dataDir, config.clock), config.listenLimits, others, metrics);
        services.add(presence);
        if (directory != null) {
          services.add(presence.nodeLink());
        }
        closeables.add(0, presence);
        PresenceService p = presence;
        revocations.onChange(p::dropInvalidListeners);
      }
      revocationWatch = watchRevocations(config.revocationCheckInterval);
      closeables.add(0, revocationWatch::shutdownNow);
      List<String> names = new ArrayList<>();
      for (BindableService s : services) {
        ServerServiceDefinition def = s.bindService();
        names.add(def.getServiceDescriptor().getName());
        // the catch-all runs inside the identity interceptor's context (interceptors added last run first)
        sb.addService(
            ServerInterceptors.intercept(
                def, new StatusMappingInterceptor(), CallerIdentity.interceptor(domainCas)));
      }
      addOperationServices(sb);
      server = sb.build().start();
      if (presence != null && (config.relaySocketPort == null || config.relaySocketPort >= 0)) {
        openRelaySocket(bind);
      }
      if (config.udp) {
        stun = bindUdp(port());
        closeables.add(0, stun);
      }
      if (directory != null) {
        joinFleet();
      }
      watchCounts();
      if (config.metricsAddress != null) {
        metricsEndpoint = MetricsEndpoint.open(config.metricsAddress, metrics);
        closeables.add(0, metricsEndpoint);
        log.info("metrics of {} served on http://{}:{}/metrics", domain,
            config.metricsAddress.getAddress().getHostAddress(), metricsEndpoint.port());
      }
      // serving only now that every port is open
      for (String name : names) {
        health.setStatus(name, ServingStatus.SERVING);
      }
      health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
      ok = true;
      log.info("q2q presence server for {} listening on {}{} (CA {}, registration {})",
          domain, server.getListenSockets(), stun == null ? "" : " and udp " + stun.localAddress(),
          ca.fingerprint(), config.registration);
      return this;
    } catch (IOException e) {
      throw new IOException(describeStartFailure(e), e);
    } finally {
      if (!ok) {
        closeQuietly();
      }
    }
  }

  /**
   * Adds the health service and server reflection: no client certificate needed (like
   * Registration), and their streams end when the server closes instead of holding its grace.
   */
  @SuppressWarnings("deprecation") // v1alpha reflection: grpcurl and older tools ask for it first
  private void addOperationServices(NettyServerBuilder sb) {
    health = new HealthStatusManager();
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING); // until start ends
    StreamsEndedOnClose ended = new StreamsEndedOnClose();
    closeables.add(0, ended);
    for (BindableService s : List.of(health.getHealthService(), ProtoReflectionServiceV1.newInstance(),
        io.grpc.protobuf.services.ProtoReflectionService.newInstance())) {
      sb.addService(ServerInterceptors.intercept(s, new StatusMappingInterceptor(), ended));
    }
  }

  /** Points the metrics that read counts kept elsewhere at where they are kept. */
  private void watchCounts() {
    metrics.identify(domain.domain(), ca.fingerprint().toString());
    PresenceService p = presence;
    if (p != null) {
      metrics.watchListeners(p::listenSessions, p::listenServices);
    }
    StunPort u = stun;
    if (u != null) {
      metrics.watchStun(u::stats);
    }
    NodeDirectory d = directory;
    if (d != null) {
      metrics.watchLiveNodes(() -> d.liveNodes().size());
    }
  }

  /**
   * Opens the Presence service's relay socket: on the configured port, else on the gRPC port + 1,
   * or any free port when that one is taken (or the gRPC port was 0): clients learn it from Inbound.
   */
  private void openRelaySocket(InetSocketAddress grpc) throws IOException {
    Integer asked = config.relaySocketPort;
    int grpcPort = port();
    int first = asked != null ? asked : (config.port == 0 || grpcPort >= 65535 ? 0 : grpcPort + 1);
    try {
      presence.openRelaySocket(new InetSocketAddress(grpc.getAddress(), first), serverCertificate);
    } catch (IOException e) {
      if (asked != null || first == 0) {
        throw e;
      }
      log.info("relay socket port {} is taken; binding another one (announced in Inbound answers)", first);
      presence.openRelaySocket(new InetSocketAddress(grpc.getAddress(), 0), serverCertificate);
    }
  }

  /**
   * Joins the node directory once the ports are bound; it is the first thing closed, so that the
   * other nodes stop forwarding here before the listeners' streams end.
   */
  private void joinFleet() throws IOException {
    String host = config.advertiseHost;
    if (host == null) {
      host = config.bindHost != null ? config.bindHost : InetAddress.getLocalHost().getHostAddress();
    }
    try {
      directory.start(new Node(directory.id(), host, port(), relaySocketPort()), timers);
    } catch (java.sql.SQLException e) {
      throw new IOException("cannot join the node directory in the database: " + e.getMessage(), e);
    }
    closeables.add(0, directory);
  }

  /**
   * The live nodes of this server's domain as clients should dial them, as the Registration
   * service's Nodes call names them: the node directory's (this one first) when this node is one
   * of a fleet, else {@link #thisNode()}.
   */
  public List<ServerDirectory.Endpoint> liveNodes() {
    NodeDirectory d = directory;
    if (d != null) {
      return d.liveNodes().stream().map(n -> new ServerDirectory.Endpoint(n.host(), n.grpcPort())).toList();
    }
    return thisNode();
  }

  /**
   * This node as clients should dial it: its advertised host, else the interface it is bound to if
   * one was given; else nothing, and Nodes answers with the address each caller reached it at.
   */
  private List<ServerDirectory.Endpoint> thisNode() {
    String host = config.advertiseHost != null ? config.advertiseHost : config.bindHost;
    if (host == null || host.equals("0.0.0.0") || host.equals("::") || server == null) {
      return List.of();
    }
    return List.of(new ServerDirectory.Endpoint(host, port()));
  }

  /** The relay socket's TCP port; 0 if there is none. */
  public int relaySocketPort() {
    requireStarted(server);
    return presence == null ? 0 : presence.relaySocketPort();
  }

  /**
   * Binds the UDP port of the TCP port's number; with port 0 (tests) and that number taken for UDP,
   * any free UDP port instead ({@link #udpPort()} tells which).
   */
  private StunPort bindUdp(int tcpPort) throws IOException {
    InetSocketAddress at = config.bindHost == null ? new InetSocketAddress(tcpPort)
        : new InetSocketAddress(config.bindHost, tcpPort);
    try {
      return StunPort.bind(at, config.stunPerSourcePerSecond, config.stunPerSourceBurst, config.stunGlobalPerSecond);
    } catch (IOException e) {
      if (config.port != 0) {
        throw new IOException("cannot listen on udp " + (config.bindHost == null ? "*" : config.bindHost) + ":"
            + tcpPort + " (the STUN/PTCP port, same number as TCP): " + e.getMessage()
            + " (is another server running? choose another --port)", e);
      }
      log.info("udp port {} is taken; binding another one for STUN", tcpPort);
      return StunPort.bind(new InetSocketAddress(at.getAddress(), 0), config.stunPerSourcePerSecond,
          config.stunPerSourceBurst, config.stunGlobalPerSecond);
    }
  }

  private String describeStartFailure(IOException e) {
    if (e.getMessage() != null && (e.getMessage().startsWith("cannot listen on udp")
        || e.getMessage().startsWith(MetricsEndpoint.CANNOT_SERVE))) {
      return e.getMessage(); // bindUdp's and the metrics endpoint's messages already say it all
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      // NIO throws BindException; Netty's epoll transport (used by gRPC when netty-transport-native-epoll
      // is on the class path, as in the q2q tool) a NativeIoException "bind(..) failed: Address already in use"
      if (c instanceof java.net.BindException
          || (c.getMessage() != null && c.getMessage().contains("Address already in use"))) {
        return "cannot listen on " + (config.bindHost == null ? "*" : config.bindHost) + ":" + config.port
            + ": " + c.getMessage() + " (is another server running? choose another --port)";
      }
    }
    return e.getMessage();
  }

  /**
   * Every {@code interval}: picks up revocations another process wrote to the database (the
   * administrator's {@code q2q server revoke}); a change ends the Listen streams of the revoked
   * certificates at once (the list's change listener). Every 15 intervals (30 s by default): ends
   * Listen streams whose certificate has expired since they started (review L11). Why not at every
   * interval: it rechecks every session, about 20 ms of CPU every 2 s at 50,000 sessions, for
   * certificates that expire after months.
   */
  private ScheduledExecutorService watchRevocations(Duration interval) {
    ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "q2q-revocations");
      t.setDaemon(true);
      return t;
    });
    long every = Math.max(1, interval.toMillis());
    long expirySweep = TimeUnit.MILLISECONDS.toNanos(every * 15);
    long[] lastSweep = {System.nanoTime()};
    s.scheduleWithFixedDelay(() -> {
      try {
        revocations.refresh();
        PresenceService p = presence;
        long now = System.nanoTime();
        if (p != null && now - lastSweep[0] >= expirySweep) {
          lastSweep[0] = now;
          p.dropInvalidListeners();
        }
      } catch (IOException | RuntimeException e) {
        log.warn("checking for revoked certificates failed: {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
    return s;
  }

  /**
   * Listen and Inbound run on the event loop of their connection instead of the executor: their
   * work is short and never blocks (sessions serialize on their own context, Inbound waits on
   * futures, a fleet's directory is in memory), and the hand-offs to and from the executor cost
   * more CPU than the work (5 answers and an Inbound per brokering). Everything else (Sign hashes
   * passwords, the database, federation) keeps the executor. Null: the server's executor.
   */
  private static java.util.concurrent.Executor callExecutor(io.grpc.ServerCall<?, ?> call, io.grpc.Metadata headers) {
    String method = call.getMethodDescriptor().getFullMethodName();
    return method.equals(PresenceGrpc.getListenMethod().getFullMethodName())
        || method.equals(PresenceGrpc.getInboundMethod().getFullMethodName()) ? Runnable::run : null;
  }

  private static ExecutorService newExecutor(int threads) {
    // A fixed number of threads, so a flood of calls queues instead of spawning threads; streaming
    // calls hold no thread while idle, and unary calls are short (Argon2 runs on its own gate).
    // The queue is bounded by what feeds it, not by rejecting: every task is a step of a call gRPC
    // already admitted (a message, a half-close, a cancellation), so at most connections x 100
    // streams x a few steps, each within its HTTP/2 window. A rejected step is a call left broken
    // forever: at 10,000 connections opening their Listen streams at once, a 10,000-task queue
    // rejected 1,500 steps and lost 30,000 of 50,000 sessions (bench/capacity.sh). 1 Mi queued
    // steps of about 100 bytes is the bound.
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf =
        r -> {
          Thread t = new Thread(r, "q2q-server-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    ThreadPoolExecutor e =
        new ThreadPoolExecutor(
            threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(1 << 20), tf);
    e.allowCoreThreadTimeOut(true);
    return e;
  }

  /** The domain this server speaks for. */
  public Address domain() {
    return domain;
  }

  /** The domain's CA (available after {@link #start()}). */
  public CertificateAuthority ca() {
    return requireStarted(ca);
  }

  /** The CAs trusted for callers' certificates: the own one and learned foreign ones. */
  public DomainCas domainCas() {
    return requireStarted(domainCas);
  }

  /**
   * The server's TLS identity now (address = the domain), issued by {@link #ca()} on start and
   * renewed at two thirds of its life ({@link Builder#serverCertificateValidity}).
   */
  public Identity serverIdentity() {
    return requireStarted(serverCertificate).identity();
  }

  /** TCP connections open now (bounded by {@link Builder#connectionLimits}). */
  public int openConnections() {
    return requireStarted(connections).open();
  }

  /**
   * The built-in Presence service (its relay counters, for benchmarks and tests); null if it was
   * disabled ({@link Builder#presence}) or replaced by an added service.
   */
  public PresenceService presence() {
    requireStarted(server);
    return presence;
  }

  /** The account database. */
  public AccountStore accounts() {
    return requireStarted(accounts);
  }

  /** The server's database (its pool and dialect, for further stores). */
  public ServerDatabase database() {
    return requireStarted(database);
  }

  /** This domain's revoked certificates, as the server checks them. */
  public Revocations revocations() {
    return requireStarted(revocations);
  }

  /** The TCP port actually listened on (useful with port 0). */
  public int port() {
    Server s = requireStarted(server);
    return ((InetSocketAddress) s.getListenSockets().get(0)).getPort();
  }

  /**
   * The UDP port that answers STUN: the TCP port's number, unless the server was built with port 0
   * and that number was taken for UDP; 0 if UDP is off ({@link Builder#udp}).
   */
  public int udpPort() {
    requireStarted(server);
    StunPort s = stun;
    return s == null ? 0 : s.localAddress().getPort();
  }

  /**
   * The server's metrics: counted whether or not they are served ({@link Builder#metrics}). The
   * node directory reports the domain's live nodes through {@link ServerMetrics#setLiveNodes}.
   */
  public ServerMetrics metrics() {
    return metrics;
  }

  /** The port of the metrics endpoint; 0 if it is off ({@link Builder#metrics}). */
  public int metricsPort() {
    requireStarted(server);
    MetricsEndpoint m = metricsEndpoint;
    return m == null ? 0 : m.port();
  }

  /** The UDP port's counters (all zero if UDP is off). */
  public StunStats stunStats() {
    requireStarted(server);
    StunPort s = stun;
    return s == null ? new StunStats(0, 0, 0, 0, 0, 0, 0) : s.stats();
  }

  /** The data folder. */
  public Path dataDir() {
    return config.dataDir;
  }

  /** The clock every component uses. */
  public Clock clock() {
    return config.clock;
  }

  /** The registration mode. */
  public RegistrationMode registrationMode() {
    return config.registration;
  }

  /** Blocks until the server has terminated (after {@link #close()} from another thread). */
  public void awaitTermination() throws InterruptedException {
    requireStarted(server).awaitTermination();
  }

  /**
   * Stops gracefully: no new calls, closeable services closed, running calls get the grace period
   * ({@link Builder#shutdownGrace}), then are cancelled. Idempotent.
   */
  @Override
  public synchronized void close() {
    Server s = server;
    if (s != null && !s.isShutdown()) {
      HealthStatusManager h = health;
      if (h != null) {
        h.enterTerminalState(); // NOT_SERVING to probes and watchers while the port is still open
      }
      s.shutdown();
      log.info("q2q presence server for {} stopping", domain);
    }
    // services first (they may end long-lived streams), each once; the database after the wait
    for (java.util.Iterator<AutoCloseable> it = closeables.iterator(); it.hasNext(); ) {
      AutoCloseable c = it.next();
      if (!(c instanceof ServerDatabase)) {
        it.remove();
        closeOne(c);
      }
    }
    if (s != null) {
      try {
        if (!s.awaitTermination(config.shutdownGrace.toMillis(), TimeUnit.MILLISECONDS)) {
          s.shutdownNow();
          s.awaitTermination(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        s.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
    closeQuietly();
  }

  private void closeQuietly() {
    Server s = server;
    if (s != null) {
      s.shutdownNow();
    }
    for (AutoCloseable c : closeables) {
      closeOne(c);
    }
    closeables.clear();
    ExecutorService e = executor;
    if (e != null) {
      e.shutdown();
    }
    ScheduledExecutorService t = timers;
    if (t != null) {
      t.shutdownNow();
    }
  }

  private static void closeOne(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ex) {
      log.warn("closing {} failed: {}", c, ex.toString());
    }
  }

  private static <T> T requireStarted(T value) {
    if (value == null) {
      throw new IllegalStateException("the presence server is not started");
    }
    return value;
  }

  /** Settings of a {@link PresenceServer}; defaults are those of {@code q2q server}. */
  public static final class Builder {
    private String domain = "localhost";
    private Path dataDir = Path.of("q2q-data");
    private int port = 8788;
    private String bindHost; // null: all interfaces
    private RegistrationMode registration = RegistrationMode.OPEN;
    private Clock clock = Clock.systemUTC();
    private PasswordHasher hasher = PasswordHasher.DEFAULT;
    private Duration certificateValidity = CertificateAuthority.DEFAULT_VALIDITY;
    private RegistrationLimits registrationLimits = RegistrationLimits.defaults();
    private ConnectionLimits connectionLimits = ConnectionLimits.defaults();
    private Duration serverCertificateValidity = ServerTls.VALIDITY;
    private int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    private int maxMessageBytes = 4 * 1024 * 1024;
    private Duration shutdownGrace = Duration.ofSeconds(5);
    private final List<ServiceFactory> factories = new ArrayList<>();
    private PresenceConfig presence = PresenceConfig.defaults();
    private ListenLimits listenLimits = ListenLimits.defaults();
    private boolean udp = true;
    private Integer relaySocketPort; // null: the gRPC port + 1, or any free one
    private double stunPerSourcePerSecond = 5;
    private int stunPerSourceBurst = 20;
    private double stunGlobalPerSecond = 5000;
    private Duration revocationCheckInterval = Duration.ofSeconds(2);
    private String advertiseHost;
    private Duration fleetHeartbeat = Duration.ofSeconds(1);
    private Duration fleetDeadAfter = Duration.ofSeconds(5);
    private InetSocketAddress metricsAddress; // null: no metrics endpoint
    private java.util.function.Supplier<List<ServerDirectory.Endpoint>> nodes; // null: this node
    private DatabaseLocation database; // null: SQLite in the data folder

    private Builder() {}

    /**
     * Serves the server's metrics over plain HTTP at {@code http://HOST:PORT/metrics}, in the
     * Prometheus text format (default: off). Port 0 picks a free one ({@link
     * PresenceServer#metricsPort()}). Bind it where only the monitoring system reaches it.
     *
     * @param host a host name or IP literal; null: off
     */
    public Builder metrics(String host, int port) {
      if (host == null) {
        this.metricsAddress = null;
        return this;
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("metrics port " + port + " is not in 0..65535");
      }
      InetSocketAddress at = new InetSocketAddress(host, port);
      if (at.isUnresolved()) {
        throw new IllegalArgumentException("unknown host for the metrics endpoint: " + host);
      }
      this.metricsAddress = at;
      return this;
    }

    /**
     * The domain's live nodes that the Registration service's Nodes call names, this node first
     * (default: the node directory's live nodes when this node is one of a {@link #fleet}; else
     * this node, at its advertised or bind host if one was given, else at the address each caller
     * reached it at). Called for every Nodes call: keep it cheap.
     */
    public Builder nodes(java.util.function.Supplier<List<ServerDirectory.Endpoint>> nodes) {
      this.nodes = Objects.requireNonNull(nodes, "nodes");
      return this;
    }

    /** The domain this server speaks for (default {@code localhost}). */
    public Builder domain(String domain) {
      this.domain = Address.ofDomain(domain).domain();
      return this;
    }

    /** The data folder: CA, database (default {@code ./q2q-data}). */
    public Builder dataDir(Path dataDir) {
      this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
      return this;
    }

    /**
     * The database (default: SQLite {@code q2q.db} in the data folder); a PostgreSQL database is
     * shared by the nodes of a domain, each with the same CA files in its data folder.
     */
    public Builder database(DatabaseLocation database) {
      this.database = database;
      return this;
    }

    /** The TCP port (default 8788; 0 picks a free one, see {@link PresenceServer#port()}). */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port " + port + " is not in 0..65535");
      }
      this.port = port;
      return this;
    }

    /**
     * Whether to bind the UDP port of the same number, answering STUN Binding requests (default
     * true).
     */
    public Builder udp(boolean on) {
      this.udp = on;
      return this;
    }

    /**
     * How many STUN answers the UDP port sends: per source address, {@code perSourceBurst} at once
     * then {@code perSourcePerSecond}; for the whole port at most {@code globalPerSecond} (defaults
     * 20, 5/s and 5000/s: a client asks a few times per connection; a spoofed victim gets at most
     * 5 answers of at most 44 bytes per second).
     */
    public Builder stunRateLimit(double perSourcePerSecond, int perSourceBurst, double globalPerSecond) {
      if (perSourcePerSecond <= 0 || perSourceBurst < 1 || globalPerSecond <= 0) {
        throw new IllegalArgumentException("STUN rates must be positive and the burst at least 1, got "
            + perSourcePerSecond + "/s, burst " + perSourceBurst + ", global " + globalPerSecond + "/s");
      }
      this.stunPerSourcePerSecond = perSourcePerSecond;
      this.stunPerSourceBurst = perSourceBurst;
      this.stunGlobalPerSecond = globalPerSecond;
      return this;
    }

    /**
     * The relay socket's TCP port (default: the gRPC port + 1, or any free port when that is taken
     * or the gRPC port is 0); 0: any free port; -1: no relay socket (relays use the Relay RPC).
     * Clients learn the port from Inbound answers.
     */
    public Builder relaySocketPort(int port) {
      if (port < -1 || port > 65535) {
        throw new IllegalArgumentException("relay socket port " + port + " is not in -1..65535");
      }
      this.relaySocketPort = port;
      return this;
    }

    /** The interface to listen on (default: all); a host name or IP literal. */
    public Builder bindHost(String bindHost) {
      this.bindHost = bindHost == null || bindHost.isBlank() ? null : bindHost;
      return this;
    }

    /** Who may create accounts (default {@link RegistrationMode#OPEN}). */
    public Builder registration(RegistrationMode registration) {
      this.registration = Objects.requireNonNull(registration, "registration");
      return this;
    }

    /** The clock for certificates, validation and rate limits (default system UTC). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** The password hasher for new accounts (default Argon2id at OWASP's parameters). */
    public Builder passwordHasher(PasswordHasher hasher) {
      this.hasher = Objects.requireNonNull(hasher, "hasher");
      return this;
    }

    /** Lifetime of user certificates (default one year). */
    public Builder certificateValidity(Duration validity) {
      if (validity.isNegative() || validity.isZero()) {
        throw new IllegalArgumentException("certificate validity must be positive: " + validity);
      }
      this.certificateValidity = validity;
      return this;
    }

    /**
     * How often the server looks for revocations made by another process on its data folder, and
     * rechecks the certificates of open Listen streams (default 2 s).
     */
    public Builder revocationCheckInterval(Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("revocation check interval must be positive: " + interval);
      }
      this.revocationCheckInterval = interval;
      return this;
    }

    /**
     * Failed password attempts allowed per (address, client network) and per client network within
     * {@code window} (ten times as many per address from all networks).
     */
    public Builder failedAttemptLimit(int maxFailures, Duration window) {
      this.registrationLimits = registrationLimits.withFailures(maxFailures, 10 * maxFailures, window);
      return this;
    }

    /** Bounds on connections and streams (default {@link ConnectionLimits#defaults()}). */
    public Builder connectionLimits(ConnectionLimits limits) {
      this.connectionLimits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /**
     * Lifetime of the server's own TLS certificate (default 90 days); it is renewed at two thirds
     * of it while the server runs.
     */
    public Builder serverCertificateValidity(Duration validity) {
      if (validity.isNegative() || validity.isZero()) {
        throw new IllegalArgumentException("server certificate validity must be positive: " + validity);
      }
      this.serverCertificateValidity = validity;
      return this;
    }

    /** How much Sign work the server takes on (default {@link RegistrationLimits#defaults()}). */
    public Builder registrationLimits(RegistrationLimits limits) {
      this.registrationLimits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /** Threads that run calls (default max(4, 2 x cores)). */
    public Builder threads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("threads must be at least 1: " + threads);
      }
      this.threads = threads;
      return this;
    }

    /** How long {@link PresenceServer#close()} waits for running calls (default 5 s). */
    public Builder shutdownGrace(Duration grace) {
      this.shutdownGrace = Objects.requireNonNull(grace, "grace");
      return this;
    }

    /**
     * The settings of the built-in Presence service (default {@link PresenceConfig#defaults()}:
     * federation through {@code <domain>:8788}); null disables it.
     */
    public Builder presence(PresenceConfig presence) {
      this.presence = presence;
      return this;
    }

    /** The bounds of Listen streams and listener ids (default {@link ListenLimits#defaults()}). */
    public Builder listenLimits(ListenLimits limits) {
      this.listenLimits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /** Adds a service built by {@code factory} when the server starts. */
    public Builder addService(ServiceFactory factory) {
      factories.add(Objects.requireNonNull(factory, "factory"));
      return this;
    }

    /** Adds a ready-made service. */
    public Builder addService(BindableService service) {
      Objects.requireNonNull(service, "service");
      factories.add(s -> service);
      return this;
    }

    /**
     * The host the domain's other nodes and clients reach this node at (its gRPC port and relay
     * socket), as the node directory and Nodes announce it; default: the bind host, else this
     * machine's address. Matters only on a shared (PostgreSQL) database, where the server is one
     * node of a fleet: who listens where and which nodes are live are kept there, so that a client
     * on any node reaches a listener on any other.
     */
    public Builder advertise(String host) {
      this.advertiseHost = host == null || host.isBlank() ? null : host;
      return this;
    }

    /**
     * How often a fleet node writes its heartbeat (default 1 s), and how old a heartbeat may be
     * before its node counts as dead (default 5 s).
     */
    public Builder fleetTiming(Duration heartbeat, Duration deadAfter) {
      if (heartbeat.isNegative() || heartbeat.isZero() || deadAfter.compareTo(heartbeat.multipliedBy(2)) < 0) {
        throw new IllegalArgumentException("the heartbeat must be positive and at most half of deadAfter: "
            + heartbeat + ", " + deadAfter);
      }
      this.fleetHeartbeat = heartbeat;
      this.fleetDeadAfter = deadAfter;
      return this;
    }

    /** The server (not started). */
    public PresenceServer build() {
      return new PresenceServer(this);
    }
  }
}
