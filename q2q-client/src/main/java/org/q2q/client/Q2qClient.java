package org.q2q.client;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
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
import org.q2q.client.internal.connect.Connector;
import org.q2q.client.internal.connect.DomainServers;
import org.q2q.client.internal.connect.PeerSessions;
import org.q2q.client.internal.peer.PeerSession;
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
 *       re-established with jittered backoff after any loss, re-registering every service).
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
  private final ExecutorService handlerExecutor;
  private final DomainServers servers;
  private final LocalListeners listeners;
  private final SessionCache<PeerSession> cache;
  private final PeerSessions sessions;
  private final Connector connector;
  private final PresenceSession presence;
  private final AtomicBoolean closed = new AtomicBoolean();

  private Q2qClient(Builder b) {
    this.identity = b.identity;
    this.clock = b.clock;
    this.ownsGroup = b.group == null;
    this.group = b.group != null ? b.group
        : new MultiThreadIoEventLoopGroup(b.threads, new DefaultThreadFactory("q2q-" + identity.address(), true),
            NioIoHandler.newFactory());
    AtomicInteger n = new AtomicInteger();
    this.handlerExecutor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "q2q-handler-" + identity.address() + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    // Our own group is NIO, so the gRPC transports can run on it next to the relay channels.
    this.servers = new DomainServers(identity, b.pins, b.locator, b.ownServer, clock, handlerExecutor,
        ownsGroup ? group : null);
    this.listeners = new LocalListeners(handlerExecutor);
    this.cache = new SessionCache<>(PeerSession::isOpen,
        s -> internalFuture(s.closeFuture()), PeerSession::close);
    this.sessions = new PeerSessions(identity, domain -> servers.caFor(domain), clock, listeners.acceptor(),
        cfg -> {
          cfg.heartbeat(b.peerHeartbeatInterval, b.peerIdleTimeout).handshakeTimeout(b.handshakeTimeout);
          if (b.channelBuffer > 0) {
            cfg.receiveWaterMarks(b.channelBuffer / 2, b.channelBuffer).overrunAllowance(b.sessionWindow);
          }
          return cfg;
        });
    this.connector = new Connector(identity, servers, sessions, cache, group,
        new Connector.Timing(b.softTimeout.toMillis(), b.connectTimeout.toMillis(), b.connectTimeout.toMillis()),
        b.connectionListener);
    InboundResponder responder = new InboundResponder(identity.address(), listeners, servers, sessions, group, clock,
        s -> cache.put(s.remoteAddress(), s));
    this.presence = new PresenceSession(identity.address().toString(),
        org.q2q.proto.PresenceGrpc.newStub(servers.own().channel()), group.next(), clock,
        new PresenceSession.Timing(b.heartbeatInterval, b.heartbeatTimeout, b.backoffInitial, b.backoffMax),
        responder, () -> servers.own().channel().resetConnectBackoff());
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
    Builder b = new Builder(id);
    b.pins = home.pins();
    b.ownServer = home.server(address);
    return b;
  }

  /** This client's address. */
  public Address address() {
    return identity.address();
  }

  /** The presence server of this client's own domain ({@code host:port}). */
  public String server() {
    return servers.own().address().toString();
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
    Objects.requireNonNull(to, "to");
    try {
      checkService(service);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(new ConnectFailedException(Q2qException.Reason.INVALID, e.getMessage()));
    }
    if (to.isDomain()) {
      return CompletableFuture.failedFuture(new ConnectFailedException(Q2qException.Reason.INVALID,
          "'" + to + "' is a domain, not a user address (resource@domain)"));
    }
    if (closed.get()) {
      return CompletableFuture.failedFuture(new ConnectFailedException(Q2qException.Reason.LOCAL,
          "the client is closed"));
    }
    return connector.connect(to, service);
  }

  /** The presence session's state. */
  public PresenceState presenceState() {
    return presence.state();
  }

  /** Adds an observer of the presence session's state. */
  public void addPresenceListener(PresenceListener listener) {
    presence.addListener(Objects.requireNonNull(listener, "listener"));
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
    cache.closeAll().awaitQuietly(Duration.ofSeconds(2)); // goodbyes leave before the servers' channels go
    servers.close();
    handlerExecutor.shutdownNow();
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
    private Duration heartbeatInterval = Duration.ofSeconds(15);
    private Duration heartbeatTimeout = Duration.ofSeconds(45);
    private Duration peerHeartbeatInterval = Duration.ofSeconds(15);
    private Duration peerIdleTimeout = Duration.ofSeconds(45);
    private Duration backoffInitial = Duration.ofMillis(500);
    private Duration backoffMax = Duration.ofSeconds(30);
    private ConnectionListener connectionListener = ConnectionListener.NONE;
    private int channelBuffer;
    private int sessionWindow;

    private Builder(Identity identity) {
      this.identity = Objects.requireNonNull(identity, "identity");
    }

    /** Where CAs are pinned (default: the home's pins with {@link #builder(ClientHome, Address)}, else memory). */
    public Builder pins(CaPinStore pins) {
      this.pins = pins;
      return this;
    }

    /** The presence server of our own domain ({@code host:port}), overriding the lookup. */
    public Builder server(String hostPort) {
      ServerAddress.parse(hostPort); // fail early on a malformed value
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

    /** An event loop group to share (not closed by the client); default: a private one. */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.group = group;
      return this;
    }

    /** Whole-connect bound (Inbound plus every method's attempt). */
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

    /** Presence session heartbeats: one every {@code interval}; a server silent for {@code timeout} is dead. */
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

    /** Reconnection backoff of the presence session: jittered, doubling from {@code initial} up to {@code max}. */
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
