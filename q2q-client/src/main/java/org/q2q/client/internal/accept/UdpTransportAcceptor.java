package org.q2q.client.internal.accept;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.q2q.certstore.Address;
import org.q2q.client.Route;
import org.q2q.client.internal.Futures;
import org.q2q.client.internal.net.Ips;
import org.q2q.client.internal.net.LocalAddresses;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundQuery;
import org.q2q.ptcp.PtcpConfig;
import org.q2q.ptcp.netty.PtcpSocket;
import org.q2q.client.internal.punch.HolePunch;
import org.q2q.client.internal.punch.PunchSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's one UDP socket (DESIGN.md "Hole punching"): a {@link PtcpSocket} that carries
 * every PTCP connection of the client, both ways, and the datagrams that are not PTCP (STUN
 * answers, punching probes) for whoever registered for them.
 *
 * <ul>
 *   <li>Listening side of {@code ptcp}: advertises this host's interface addresses at the socket's
 *       port (loopback only to a peer on the same host) plus the reflexive address its server's
 *       STUN answer named; each accepted PTCP connection runs the peer session as acceptor, whose
 *       Hello names the listener id ({@link ListenerIds} checks it, as on TCP).
 *   <li>Connecting side: {@link #connect} opens a PTCP connection from the same socket, so a hole
 *       punched for one serves the other.
 * </ul>
 *
 * Thread-safe.
 */
public final class UdpTransportAcceptor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UdpTransportAcceptor.class);
  /** Accepted PTCP connections still in their TLS handshake. */
  static final int MAX_HANDSHAKING = 256;

  /**
   * @param port UDP port (0: random)
   * @param advertised if non-empty, exactly these addresses are advertised
   */
  public record Settings(int port, List<InetSocketAddress> advertised, PtcpConfig ptcp) {
    public Settings {
      advertised = List.copyOf(advertised);
    }
  }

  private final Address self;
  private final InboundSessions inbound;
  private final Settings settings;
  private final HandshakeBudget handshaking;
  private EventLoopGroup group;
  private volatile PtcpSocket socket;
  private volatile PunchSocket punch;
  private volatile InetSocketAddress reflexive;
  private volatile List<InetAddress> interfaces = List.of();
  private volatile boolean closed;
  /** Completes once the first STUN query ended, either way. */
  private final CompletableFuture<Void> stunDone = new CompletableFuture<>();

  public UdpTransportAcceptor(InboundSessions inbound, Settings settings) {
    this.self = inbound.self();
    this.inbound = inbound;
    this.settings = settings;
    this.handshaking = new HandshakeBudget(MAX_HANDSHAKING, self + " PTCP", log);
  }

  /**
   * Binds the UDP socket and starts accepting unless already done (idempotent).
   *
   * @throws IOException if the port cannot be bound, naming it
   */
  public synchronized void start() throws IOException {
    if (socket != null || closed) {
      return;
    }
    group = PtcpSocket.newEventLoopGroup(1); // epoll where available: GSO/GRO for bulk transfers
    io.netty.util.concurrent.Future<PtcpSocket> f =
        PtcpSocket.bind(group, new InetSocketAddress(settings.port()), settings.ptcp()).awaitUninterruptibly();
    if (!f.isSuccess()) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      group = null;
      throw new IOException("cannot open UDP port " + settings.port() + " for PTCP: "
          + (f.cause().getMessage() == null ? f.cause().toString() : f.cause().getMessage()), f.cause());
    }
    PtcpSocket s = f.getNow();
    punch = PunchSocket.on(s); // STUN answers and punching probes share the socket with PTCP
    s.listen(new ChannelInboundHandlerAdapter() {
      @Override
      public boolean isSharable() {
        return true;
      }

      @Override
      public void channelActive(ChannelHandlerContext ctx) {
        ctx.pipeline().remove(this);
        accepted(ctx.channel());
        ctx.fireChannelActive();
      }
    }).awaitUninterruptibly();
    interfaces = LocalAddresses.list();
    socket = s;
    log.info("{} accepting PTCP peer connections on UDP port {}", self, port());
  }

  /** Whether the socket is open. */
  public boolean listening() {
    PtcpSocket s = socket;
    return s != null && s.datagramChannel().isOpen();
  }

  /** The UDP port, or 0 before {@link #start()}. */
  public int port() {
    PtcpSocket s = socket;
    return s == null ? 0 : s.localAddress().getPort();
  }

  /** The socket, or null before {@link #start()} (for STUN and punching on the same port). */
  public PtcpSocket socket() {
    return socket;
  }

  /**
   * Asks {@code stunServer} (our presence server's UDP port) where it sees this socket, and
   * advertises that address from then on.
   */
  public CompletableFuture<InetSocketAddress> learnReflexive(InetSocketAddress stunServer, Duration timeout) {
    PunchSocket p = punch;
    if (p == null) {
      return CompletableFuture.failedFuture(new IOException("no UDP socket"));
    }
    return p.reflexiveAddress(stunServer, timeout).whenComplete((a, e) -> {
      stunDone.complete(null);
      if (a != null) {
        reflexive = a;
        log.debug("{} UDP port {} is seen at {}", self, port(), a);
      } else {
        log.debug("{} no reflexive UDP address from {}: {}", self, stunServer, Futures.unwrap(e).getMessage());
      }
    });
  }

  /**
   * Completes once the first STUN query has ended (so our candidates include the NAT's mapping if
   * there is one), or after {@code maxMillis}, whichever comes first.
   */
  public CompletableFuture<Void> candidatesSettled(long maxMillis) {
    return stunDone.copy().completeOnTimeout(null, maxMillis, TimeUnit.MILLISECONDS);
  }

  /**
   * Punches toward a peer's candidates for the Inbound of {@code listenerId} (both sides do, timed
   * by BindUdp); completes with the peer's address that answered, or fails once the schedule ends.
   */
  public CompletableFuture<InetSocketAddress> punch(HolePunch.Role role, String listenerId, List<HostPort> remote,
      Consumer<HolePunch.Event> events) {
    PunchSocket p = punch;
    if (p == null) {
      return CompletableFuture.failedFuture(new IOException("no UDP socket"));
    }
    // Loopback candidates only toward a peer on this host: elsewhere they would name our own ports.
    boolean sameHost = LocalAddresses.sameHost(interfaces, remote);
    List<InetSocketAddress> peer = remote.stream().filter(Ips::valid).map(Ips::socketAddress)
        .filter(a -> !a.isUnresolved() && (sameHost || !a.getAddress().isLoopbackAddress()))
        .limit(HolePunch.MAX_CANDIDATES).toList();
    List<InetSocketAddress> ours = ownCandidates().stream().map(Ips::socketAddress).toList();
    return p.punch(role, listenerId, peer, ours, HolePunch.Schedule.DEFAULT, events);
  }

  /** The candidate a peer most likely reaches: the reflexive address if known, else the first. */
  public HostPort preferredCandidate() {
    InetSocketAddress r = reflexive;
    if (r != null && r.getAddress() != null) {
      return Ips.hostPort(r.getAddress(), r.getPort());
    }
    List<HostPort> all = ownCandidates();
    return all.isEmpty() ? null : all.get(0);
  }

  /** Where peers may reach this socket, all of them (our Inbound's udp_candidates). */
  public List<HostPort> ownCandidates() {
    return candidates(true);
  }

  /** The ptcp methods of our answer to {@code q} (loopback only if the connector is on this host). */
  public List<ConnectionMethod> methods(InboundQuery q) {
    List<ConnectionMethod> out = new ArrayList<>();
    if (!listening()) {
      return out;
    }
    List<HostPort> peer = new ArrayList<>(q.getUdpCandidatesList());
    peer.addAll(q.getTcpCandidatesList());
    boolean sameHost = peer.isEmpty() || LocalAddresses.sameHost(interfaces, peer);
    for (HostPort hp : candidates(sameHost)) {
      out.add(ConnectionMethod.newBuilder().setPtcp(hp).build());
    }
    return out;
  }

  private List<HostPort> candidates(boolean withLoopback) {
    if (!settings.advertised().isEmpty()) {
      return settings.advertised().stream().map(a -> Ips.hostPort(a.getAddress(), a.getPort())).toList();
    }
    List<HostPort> out = new ArrayList<>(LocalAddresses.candidates(interfaces, port(), withLoopback));
    InetSocketAddress r = reflexive;
    if (r != null && r.getAddress() != null && !r.getAddress().isLoopbackAddress()) {
      HostPort hp = Ips.hostPort(r.getAddress(), r.getPort());
      if (!out.contains(hp)) {
        out.add(hp); // the NAT's mapping of this socket, as our server saw it
      }
    }
    return out;
  }

  private void accepted(Channel ch) {
    Runnable settled = closed ? null : handshaking.tryEnter();
    if (settled == null) {
      ch.close();
      return;
    }
    ch.closeFuture().addListener(f -> settled.run());
    Route route = Route.direct(Route.Kind.PTCP, (InetSocketAddress) ch.remoteAddress());
    inbound.accept(ch, null, route, settled);
  }

  /** Connecting side: a PTCP connection from this socket to {@code to} (a punched path). */
  public CompletableFuture<Channel> connect(InetSocketAddress to) {
    PtcpSocket s = socket;
    if (s == null) {
      return CompletableFuture.failedFuture(new IOException("this client has no UDP socket"));
    }
    return Futures.of(s.connect(to));
  }

  @Override
  public void close() {
    closed = true;
    PtcpSocket s;
    EventLoopGroup g;
    synchronized (this) {
      s = socket;
      g = group;
    }
    if (s != null) {
      s.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
    if (g != null) {
      g.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
