package org.q2q.client;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.q2q.certstore.Address;
import org.q2q.certstore.CaPinStore;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.certstore.ServiceName;
import org.q2q.client.internal.cache.SessionCache;
import org.q2q.client.internal.accept.InboundSessions;
import org.q2q.client.internal.accept.ListenerIds;
import org.q2q.client.internal.accept.TcpTransportAcceptor;
import org.q2q.client.internal.accept.UdpTransportAcceptor;
import org.q2q.client.internal.connect.Connector;
import org.q2q.client.internal.grpc.DomainServers;
import org.q2q.client.internal.connect.Racer;
import org.q2q.client.internal.net.SocketTransport;
import org.q2q.client.internal.net.Ips;
import org.q2q.client.internal.peer.PeerSession;
import org.q2q.client.internal.peer.PeerSessions;
import org.q2q.client.internal.presence.HandlerExecutor;
import org.q2q.client.internal.presence.InboundResponder;
import org.q2q.client.internal.presence.LocalListeners;
import org.q2q.client.internal.presence.PresenceSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A q2q client for one identity: listens for services at its address and connects to services at
 * other addresses, end-to-end encrypted whatever path carries the bytes.
 *
 * <pre>
 * try (Q2qClient bob = Q2qClient.builder(home, Address.parse("bob@example.com")).build()) {
 *   bob.listen("echo", ch -&gt; ch.inputStream().transferTo(ch.outputStream())).ready().join();
 * }
 * try (Q2qClient alice = Q2qClient.builder(home, Address.parse("alice@example.com")).build()) {
 *   VirtualChannel ch = alice.connect(Address.parse("bob@example.com"), "echo").get();
 * }
 * </pre>
 *
 * <ul>
 *   <li>{@link #listen} registers a service on the client's presence session (one Listen stream
 *       to its own domain's server, opened on the first listen, kept alive with heartbeats and
 *       re-established with jittered backoff after any loss, re-registering every service; when
 *       the domain has several nodes, on another one if its node went away).
 *   <li>{@link #connect} reuses the peer session with the address if there is one, else asks the
 *       address's domain server (Inbound) and races the listener's connection methods; the first
 *       mutual-TLS session that verifies the expected peer wins.
 *   <li>{@link #presenceState()} and {@link #addPresenceListener} show whether listeners are
 *       reachable.
 * </ul>
 *
 * Safe for concurrent use.
 */
public final class Q2qClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Q2qClient.class);

  private final Identity identity;
  private final Clock clock;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  /** Runs gRPC callbacks of the server connections. */
  private final ExecutorService handlerExecutor;
  /** Runs the listeners' channel handlers, bounded: peers decide how many channels arrive. */
  private final HandlerExecutor channelHandlers;
  private final DomainServers servers;
  private final LocalListeners listeners;
  private final SessionCache<PeerSession> cache;
  private final PeerSessions sessions;
  private final TcpTransportAcceptor acceptor;
  private final UdpTransportAcceptor udp;
  private final boolean directTcp;
  private final boolean ptcp;
  private final Transport defaultTransport;
  private final boolean tcpPortGiven;
  private final AtomicBoolean askedWhoAmI = new AtomicBoolean();
  private final AtomicBoolean triedUdp = new AtomicBoolean();
  private final Connector connector;
  private final PresenceSession presence;
  private final AtomicBoolean closed = new AtomicBoolean();

  private Q2qClient(Builder b) {
    this.identity = b.identity;
    this.clock = b.clock;
    this.ownsGroup = b.group == null;
    this.group = b.group != null ? b.group
        : SocketTransport.preferred().newGroup(b.threads, new DefaultThreadFactory("q2q-" + identity.address(), true));
    AtomicInteger n = new AtomicInteger();
    this.handlerExecutor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "q2q-handler-" + identity.address() + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    // Our own group runs sockets (SocketTransport), so the gRPC transports can run on it next to the relay channels.
    this.servers = new DomainServers(identity, b.pins, b.locator, b.ownServer, clock, handlerExecutor,
        ownsGroup ? group : null);
    this.channelHandlers = HandlerExecutor.withThreads("q2q-channel-" + identity.address(), b.handlerThreads);
    this.listeners = new LocalListeners(channelHandlers);
    this.cache = new SessionCache<>(PeerSession::isOpen,
        s -> internalFuture(s.closeFuture()), PeerSession::close);
    this.sessions = new PeerSessions(identity, domain -> servers.caFor(domain), clock, listeners.acceptor(),
        cfg -> {
          cfg.heartbeat(b.peerHeartbeatInterval, b.peerIdleTimeout).handshakeTimeout(b.handshakeTimeout)
              .unusedTimeout(b.unusedSessionTimeout).writeStallTimeout(b.writeStallTimeout);
          if (b.channelBuffer > 0) {
            cfg.receiveWaterMarks(b.channelBuffer / 2, b.channelBuffer).overrunAllowance(b.sessionWindow);
          }
          return cfg;
        });
    ListenerIds ids = new ListenerIds(clock);
    long soft = b.softTimeout.toMillis();
    long stagger = Math.max(10, soft / 10);
    this.directTcp = b.directTcp;
    this.tcpPortGiven = b.tcpPort != 0;
    InboundSessions inbound = new InboundSessions(identity.address(), sessions, ids, s -> cache.put(s.remoteAddress(), s));
    this.acceptor = new TcpTransportAcceptor(group, inbound,
        new TcpTransportAcceptor.Settings(b.tcpPort, b.advertisedTcp, b.handshakeTimeout.toMillis(), stagger));
    this.ptcp = b.ptcp;
    this.defaultTransport = b.transport;
    this.udp = new UdpTransportAcceptor(inbound, new UdpTransportAcceptor.Settings(b.udpPort, b.advertisedUdp, org.q2q.ptcp.PtcpConfig.defaults()));
    Racer.Scheduler scheduler = (task, delay) -> {
      var f = group.next().schedule(task, delay, TimeUnit.MILLISECONDS);
      return () -> f.cancel(false);
    };
    this.connector = new Connector(identity, servers, sessions, cache, acceptor, udp, group, scheduler, System::nanoTime,
        new Connector.Timing(soft, stagger, b.connectTimeout.toMillis()), b.connectionListener);
    InboundResponder responder = new InboundResponder(identity.address(), listeners, servers, sessions, ids, acceptor, udp,
        soft, group, s -> cache.put(s.remoteAddress(), s));
    this.presence = new PresenceSession(identity.address().toString(),
        org.q2q.proto.PresenceGrpc.newStub(servers.own().channel()), group.next(), clock,
        new PresenceSession.Timing(b.heartbeatInterval, b.heartbeatTimeout, b.backoffInitial, b.backoffMax),
        responder, serverSilent -> {
          DomainServers.Server own = servers.own();
          if (serverSilent) {
            // its connection may look open but lead nowhere, and it may still accept new ones:
            // drop it and dial the domain's other nodes first
            own.nodes().avoidCurrent();
            own.channel().enterIdle();
          }
          own.channel().resetConnectBackoff();
        });
  }

  /** {@link #startDirect}, for a connect: without listening it still goes, relayed or dialled. */
  private void startDirectQuietly() {
    try {
      startDirect();
    } catch (IOException e) {
      log.debug("{} no reverse TCP for this connect: {}", identity.address(), e.getMessage());
    }
  }

  /** True on a thread of this client's event loops. */
  private boolean onOwnLoop() {
    for (io.netty.util.concurrent.EventExecutor e : group) {
      if (e.inEventLoop()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Starts accepting direct peer connections if this client does (idempotent), and asks our
   * server once where it sees us, so the public address is advertised too.
   *
   * @throws IOException if the configured port cannot be bound
   */
  private void startDirect() throws IOException {
    if (ptcp && triedUdp.compareAndSet(false, true)) {
      try {
        udp.start();
        // Our server's UDP port has its TCP port's number: STUN there names our NAT mapping.
        ServerAddress own = servers.own().address();
        udp.learnReflexive(new java.net.InetSocketAddress(own.host(), own.port()), Duration.ofSeconds(2));
      } catch (IOException e) {
        log.warn("{} no PTCP (UDP) transport: {}", identity.address(), e.getMessage());
      }
    }
    if (!directTcp) {
      return;
    }
    acceptor.start();
    if (acceptor.listening() && askedWhoAmI.compareAndSet(false, true)) {
      org.q2q.proto.RegistrationGrpc.newStub(servers.own().channel()).withDeadlineAfter(10, TimeUnit.SECONDS)
          .whoAmI(org.q2q.proto.WhoAmIRequest.getDefaultInstance(), new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(org.q2q.proto.WhoAmIResponse r) {
              java.net.InetAddress ip = Ips.literal(r.getAddress().getHost());
              if (ip != null) {
                acceptor.observed(ip);
              }
            }

            @Override
            public void onError(Throwable t) {
              log.debug("{} WhoAmI failed: {}", identity.address(), t.toString());
            }

            @Override
            public void onCompleted() {}
          });
    }
  }

  /** The UDP port of this client's PTCP socket, or 0 if it has none (yet). */
  public int udpPort() {
    return udp.port();
  }

  /** The TCP port this client accepts direct peer connections on, or 0 if it does not (yet). */
  public int directTcpPort() {
    return acceptor.port();
  }

  private static CompletableFuture<Void> internalFuture(io.netty.util.concurrent.Future<?> f) {
    CompletableFuture<Void> c = new CompletableFuture<>();
    f.addListener(x -> c.complete(null));
    return c;
  }

  /** A builder for a client acting as {@code identity}. */
  public static Builder builder(Identity identity) {
    return new Builder(identity);
  }

  /**
   * A builder for the identity {@code address} stored in {@code home}, trusting the CAs pinned
   * there and pinning the ones it learns, with the server remembered for the address.
   *
   * @throws IOException if the home cannot be read or holds no identity for {@code address}
   */
  public static Builder builder(ClientHome home, Address address) throws IOException {
    Identity id = home.load(address).orElseThrow(() -> new IOException(
        "no identity for " + address + " in " + home.root() + " (register it first: q2q register " + address + ")"));
    return builder(home, id);
  }

  /**
   * A builder for {@code identity}, already loaded from {@code home} (loading checks the key
   * against the certificate, tens of ms of a short command: once is enough), trusting the CAs
   * pinned there and pinning the ones it learns, with the server remembered for the address.
   *
   * @throws IOException if the home cannot be read
   */
  public static Builder builder(ClientHome home, Identity identity) throws IOException {
    Builder b = new Builder(identity);
    b.pins = home.pins();
    b.ownServer = home.server(identity.address());
    return b;
  }

  /** This client's address. */
  public Address address() {
    return identity.address();
  }

  /**
   * The presence server of this client's own domain ({@code host:port}): the node it talks to
   * now, or the first it will try.
   */
  public String server() {
    return servers.own().address().toString();
  }

  /**
   * The nodes of this client's own domain it knows, in the order it tries them: those the node it
   * reached named (Nodes), then the configured ones.
   */
  public java.util.List<ServerAddress> knownServers() {
    return servers.own().nodes().all();
  }

  /**
   * The event loops this client's channels run on, so that a program splicing sockets to virtual
   * channels (port forwarding) can put both on one loop. Not to be shut down by the caller.
   */
  public EventLoopGroup eventLoopGroup() {
    return group;
  }

  /** Listens for {@code service}, accepting anyone with a valid certificate. */
  public ListenerRegistration listen(String service, ChannelHandler handler) {
    return listen(service, "", AcceptPolicy.anyone(), handler);
  }

  /** Listens for {@code service}, accepting the peers {@code policy} accepts. */
  public ListenerRegistration listen(String service, AcceptPolicy policy, ChannelHandler handler) {
    return listen(service, "", policy, handler);
  }

  /**
   * Listens for {@code service} at this client's address.
   *
   * @param description shown to connecting peers
   * @param policy decides which peers may connect; the others are declined
   * @param handler receives each accepted channel, on the client's handler threads
   * @throws IllegalArgumentException for an invalid service name
   * @throws IllegalStateException if this client already listens for {@code service} or is closed
   */
  public ListenerRegistration listen(String service, String description, AcceptPolicy policy, ChannelHandler handler) {
    checkService(service);
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(handler, "handler");
    if (closed.get()) {
      throw new IllegalStateException("the client is closed");
    }
    try {
      startDirect();
    } catch (IOException e) {
      if (tcpPortGiven) {
        throw new IllegalStateException(e.getMessage(), e);
      }
      log.warn("{} peers cannot connect directly (relay only): {}", identity.address(), e.getMessage());
    }
    LocalListeners.Listening l = new LocalListeners.Listening(service, description, policy, handler);
    listeners.add(l);
    CompletableFuture<Void> ready = presence.offer(service, description);
    return new ListenerRegistration() {
      private final AtomicBoolean done = new AtomicBoolean();

      @Override
      public String service() {
        return service;
      }

      @Override
      public CompletableFuture<Void> ready() {
        return ready;
      }

      @Override
      public void close() {
        if (done.compareAndSet(false, true)) {
          listeners.remove(l);
          presence.withdraw(service);
        }
      }
    };
  }

  /**
   * Opens a channel to {@code service} at {@code to}.
   *
   * @return completes with the open channel, or fails with a {@link ConnectFailedException}
   *     naming what failed (unknown address or service, declined, unreachable, timed out)
   */
  public CompletableFuture<VirtualChannel> connect(Address to, String service) {
    return connect(to, service, defaultTransport);
  }

  /**
   * Opens a channel to {@code service} at {@code to} over a route {@code transport} allows.
   *
   * @return completes with the open channel (its {@link VirtualChannel#route()} says which path
   *     carries it), or fails with a {@link ConnectFailedException} naming what failed, within the
   *     connect timeout as a whole
   */
  public CompletableFuture<VirtualChannel> connect(Address to, String service, Transport transport) {
    ConnectFailedException invalid = beforeConnect(to, service, transport);
    if (invalid != null) {
      return CompletableFuture.failedFuture(invalid);
    }
    return connector.connect(to, service, transport);
  }

  /**
   * Builds the peer session a {@link #connect(Address, String) connect} to {@code service} at
   * {@code to} would use (or finds it already open) without opening a channel, so that the first
   * connect after it does not wait for the session; a forwarder calls it at start, which also tells
   * its user at once when the address cannot be reached. Needs no listener to accept anything: the
   * peer sees a session and no channel.
   *
   * @return completes with the session's route, or fails with a {@link ConnectFailedException} as
   *     connect would (except that a service the peer would decline is only found out by a connect)
   */
  public CompletableFuture<Route> prepare(Address to, String service) {
    ConnectFailedException invalid = beforeConnect(to, service, defaultTransport);
    if (invalid != null) {
      return CompletableFuture.failedFuture(invalid);
    }
    return connector.prepare(to, service, defaultTransport);
  }

  /** Null if a connect with these arguments may go ahead (the transports it needs are then started), else why not. */
  private ConnectFailedException beforeConnect(Address to, String service, Transport transport) {
    Objects.requireNonNull(to, "to");
    Objects.requireNonNull(transport, "transport");
    try {
      checkService(service);
    } catch (IllegalArgumentException e) {
      return new ConnectFailedException(Q2qException.Reason.INVALID, e.getMessage());
    }
    if (to.isDomain()) {
      return new ConnectFailedException(Q2qException.Reason.INVALID,
          "'" + to + "' is a domain, not a user address (resource@domain)");
    }
    if (closed.get()) {
      return new ConnectFailedException(Q2qException.Reason.LOCAL, "the client is closed");
    }
    if (onOwnLoop()) {
      // Binding waits for a loop of our group, maybe this one (a forwarder accepts on it): start
      // the transports beside, and this connect goes without reverse TCP unless already listening.
      handlerExecutor.execute(this::startDirectQuietly);
    } else {
      startDirectQuietly(); // so the listener can dial back if it cannot reach us
    }
    return null;
  }

  /** The presence session's state. */
  public PresenceState presenceState() {
    return presence.state();
  }

  /** Adds an observer of the presence session's state. */
  public void addPresenceListener(PresenceListener listener) {
    presence.addListener(Objects.requireNonNull(listener, "listener"));
  }

  /**
   * Closes every peer session (their channels fail with SESSION_LOST); the next connect to a peer
   * builds a new one. For a changed network, or to measure connecting.
   */
  public void closePeerSessions() {
    cache.evictAll();
  }

  /** Number of cached peer sessions (one per peer address). */
  public int peerSessionCount() {
    return cache.size();
  }

  /** The one service-name rule shared with the server ({@link ServiceName}). */
  static void checkService(String service) {
    ServiceName.check(service);
  }

  /** Withdraws every service, closes every peer session and the connections to servers. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    log.debug("{} closing", identity.address());
    presence.close();
    acceptor.close();
    cache.closeAll().awaitQuietly(Duration.ofSeconds(2)); // goodbyes leave before the servers' channels go
    udp.close();
    servers.close();
    handlerExecutor.shutdownNow();
    channelHandlers.close();
    if (ownsGroup) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /** Configures a {@link Q2qClient}. Not thread-safe. */
  public static final class Builder {
    private final Identity identity;
    private CaPinStore pins;
    private Optional<String> ownServer = Optional.empty();
    private ServerLocator locator = new ServerLocator(System.getenv());
    private Clock clock = Clock.systemUTC();
    private EventLoopGroup group;
    private int threads = 2;
    private Duration connectTimeout = Duration.ofSeconds(30);
    private Duration softTimeout = Duration.ofMillis(250);
    private Duration handshakeTimeout = Duration.ofSeconds(15);
    private Duration heartbeatInterval = PresenceSession.DEFAULT_HEARTBEAT_INTERVAL;
    private Duration heartbeatTimeout = PresenceSession.DEFAULT_HEARTBEAT_TIMEOUT;
    private Duration peerHeartbeatInterval = Duration.ofSeconds(15);
    private Duration peerIdleTimeout = Duration.ofSeconds(45);
    // Small start, and a cap of a few seconds: a listener is reachable again within about 5 s of
    // its server's return however long the outage was; the jitter spreads the reconnections.
    private Duration backoffInitial = PresenceSession.DEFAULT_BACKOFF_INITIAL;
    private Duration backoffMax = PresenceSession.DEFAULT_BACKOFF_MAX;
    private ConnectionListener connectionListener = ConnectionListener.NONE;
    private int channelBuffer;
    private int handlerThreads = HandlerExecutor.DEFAULT_THREADS;
    private Duration writeStallTimeout = org.q2q.client.internal.peer.PeerSessionConfig.DEFAULT_WRITE_STALL_TIMEOUT;
    private int sessionWindow;
    private boolean directTcp = true;
    private int tcpPort;
    private java.util.List<java.net.InetSocketAddress> advertisedTcp = java.util.List.of();
    private Duration unusedSessionTimeout = Duration.ofMinutes(5);
    private boolean ptcp = true;
    private Transport transport = Transport.AUTO;
    private int udpPort;
    private java.util.List<java.net.InetSocketAddress> advertisedUdp = java.util.List.of();

    private Builder(Identity identity) {
      this.identity = Objects.requireNonNull(identity, "identity");
    }

    /** Where CAs are pinned (default: the home's pins with {@link #builder(ClientHome, Address)}, else memory). */
    public Builder pins(CaPinStore pins) {
      this.pins = pins;
      return this;
    }

    /**
     * The presence server of our own domain ({@code host:port}, or the domain's nodes separated by
     * commas, tried in that order), overriding the lookup.
     */
    public Builder server(String hostPort) {
      ServerAddress.parseList(hostPort); // fail early on a malformed value
      this.ownServer = Optional.of(hostPort);
      return this;
    }

    /** How domains' servers are found (default: {@code Q2Q_SERVERS} from the process environment). */
    public Builder serverLocator(ServerLocator locator) {
      this.locator = Objects.requireNonNull(locator, "locator");
      return this;
    }

    /** Shorthand for {@code serverLocator(new ServerLocator(env))}. */
    public Builder environment(Map<String, String> env) {
      return serverLocator(new ServerLocator(env));
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * An event loop group to share (not closed by the client), NIO or epoll (forwarded sockets then
     * run on NIO loops of their own; see {@link org.q2q.client.internal.net.SocketTransport});
     * default: a private NIO group.
     */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = group;
      return this;
    }

    /**
     * Whether peers may connect to this client over TCP directly (default true): it then listens
     * on a TCP port (see {@link #tcpPort}) once it listens for a service or connects, and
     * advertises its addresses to connecting peers; also needed for reverse TCP, where a listener
     * that cannot be reached dials us back. Off: every session takes the relay.
     */
    public Builder directTcp(boolean enabled) {
      this.directTcp = enabled;
      return this;
    }

    /**
     * Whether this client opens its one UDP socket for PTCP (default true): peers behind NATs then
     * reach each other by hole punching, timed through the presence server (BindUdp).
     */
    public Builder ptcp(boolean enabled) {
      this.ptcp = enabled;
      return this;
    }

    /** The routes {@link #connect(Address, String)} may take (default {@link Transport#AUTO}: all of them). */
    public Builder transport(Transport transport) {
      this.transport = Objects.requireNonNull(transport, "transport");
      return this;
    }

    /** The UDP port of the PTCP socket (default 0: a random free one). */
    public Builder udpPort(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("udpPort not in 0..65535: " + port);
      }
      this.udpPort = port;
      return this;
    }

    /** Advertise exactly these addresses for PTCP instead of this host's interfaces and STUN's answer. */
    public Builder advertiseUdp(java.util.List<java.net.InetSocketAddress> addresses) {
      this.advertisedUdp = java.util.List.copyOf(addresses);
      return this;
    }

    /** The TCP port for direct peer connections (default 0: a random free one). */
    public Builder tcpPort(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("tcpPort not in 0..65535: " + port);
      }
      this.tcpPort = port;
      return this;
    }

    /**
     * Advertise exactly these addresses for direct TCP instead of this host's interfaces (e.g. a
     * router's public address that forwards a port to {@link #tcpPort}).
     */
    public Builder advertiseTcp(java.util.List<java.net.InetSocketAddress> addresses) {
      this.advertisedTcp = java.util.List.copyOf(addresses);
      return this;
    }

    /** A peer session that carried no channel for this long is closed (default 5 minutes; zero: never). */
    public Builder unusedSessionTimeout(Duration d) {
      Objects.requireNonNull(d, "unusedSessionTimeout");
      if (d.isNegative()) {
        throw new IllegalArgumentException("unusedSessionTimeout must not be negative: " + d);
      }
      this.unusedSessionTimeout = d;
      return this;
    }

    /**
     * The bound of a whole {@link #connect}: finding the domain's server (and learning its CA),
     * Inbound, racing the connection methods and opening the channel (default 30 s).
     */
    public Builder connectTimeout(Duration d) {
      this.connectTimeout = positive(d, "connectTimeout");
      return this;
    }

    /** Delay between starting successive connection methods (Happy Eyeballs). */
    public Builder softTimeout(Duration d) {
      this.softTimeout = positive(d, "softTimeout");
      return this;
    }

    /** TLS handshake plus Hello exchange bound of a peer session. */
    public Builder handshakeTimeout(Duration d) {
      this.handshakeTimeout = positive(d, "handshakeTimeout");
      return this;
    }

    /**
     * Presence session heartbeats: one every {@code interval}; a server silent for {@code timeout} is
     * dead (default 30 s and 90 s).
     */
    public Builder presenceHeartbeat(Duration interval, Duration timeout) {
      this.heartbeatInterval = positive(interval, "interval");
      this.heartbeatTimeout = positive(timeout, "timeout");
      return this;
    }

    /** Peer session heartbeats: a Ping every {@code interval}; a peer silent for {@code idleTimeout} is lost. */
    public Builder peerHeartbeat(Duration interval, Duration idleTimeout) {
      this.peerHeartbeatInterval = positive(interval, "interval");
      this.peerIdleTimeout = positive(idleTimeout, "idleTimeout");
      return this;
    }

    /**
     * Reconnection backoff of the presence session: jittered, doubling from {@code initial} up to
     * {@code max} (default 250 ms up to 5 s; {@code max} bounds how long a listener stays
     * unreachable after its server is back).
     */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      this.backoffInitial = positive(initial, "initial");
      this.backoffMax = positive(max, "max");
      return this;
    }

    /** Observes connection attempts. */
    public Builder connectionListener(ConnectionListener l) {
      this.connectionListener = Objects.requireNonNull(l, "listener");
      return this;
    }

    /**
     * Peer-session flow control (default: the peer session's, 256 KiB and 4 MiB): each channel
     * buffers up to {@code channelBuffer} unread bytes before choking the sender, and a sender
     * keeps at most {@code sessionWindow} bytes unacknowledged per session (also the overrun a
     * receiver tolerates). Larger windows move more bytes per round trip on slow paths such as a
     * busy relay, at the cost of memory.
     */
    public Builder peerFlowControl(int channelBuffer, int sessionWindow) {
      if (channelBuffer < 2 || sessionWindow < channelBuffer) {
        throw new IllegalArgumentException("need 2 <= channelBuffer <= sessionWindow, got "
            + channelBuffer + " and " + sessionWindow);
      }
      this.channelBuffer = channelBuffer;
      this.sessionWindow = sessionWindow;
      return this;
    }

    /**
     * Most threads running listeners' channel handlers at once (default {@value
     * HandlerExecutor#DEFAULT_THREADS}). One peer runs at most half of them at once; its further
     * handlers wait their turn ({@value HandlerExecutor#DEFAULT_PER_PEER_WAITING} per peer,
     * {@value HandlerExecutor#DEFAULT_WAITING} in all), and channels beyond that are refused.
     */
    public Builder handlerThreads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("handlerThreads < 1: " + threads);
      }
      this.handlerThreads = threads;
      return this;
    }

    /**
     * A blocking write (or close) of a channel's output stream that makes no progress for this
     * long resets the channel and fails (default 60 s): a peer that never reads cannot pin a thread.
     */
    public Builder writeStallTimeout(Duration timeout) {
      this.writeStallTimeout = positive(timeout, "writeStallTimeout");
      return this;
    }

    /** Event loop threads of the private group (default 2). */
    public Builder threads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("threads < 1: " + threads);
      }
      this.threads = threads;
      return this;
    }

    public Q2qClient build() {
      return new Q2qClient(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException(name + " must be positive: " + d);
      }
      return d;
    }
  }
}
