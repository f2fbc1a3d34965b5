package org.q2q.client.internal.accept;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.q2q.client.internal.net.SocketTransport;
import org.q2q.certstore.Address;
import org.q2q.client.Route;
import org.q2q.client.internal.net.CandidateOrder;
import org.q2q.client.internal.net.Ips;
import org.q2q.client.internal.net.LocalAddresses;
import org.q2q.proto.ConnectionMethod;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.ReverseTcpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's TCP transport acceptor (DESIGN.md "connection method", listening side of {@code
 * tcp} and both sides of {@code reverse_tcp}).
 *
 * <ul>
 *   <li>Listens on one TCP port (random unless configured) on every interface and advertises it:
 *       this host's interface addresses (loopback only to a peer on the same host) plus the address
 *       the presence server sees us at, or exactly the configured addresses.
 *   <li>A peer that dials us starts TLS at once; the session learns from its Hello which Inbound
 *       answer it belongs to, and {@link ListenerIds} refuses unknown, expired, reused ids or
 *       another peer's.
 *   <li>Reverse TCP, listener side: {@link #dialBack} dials the connector's candidates if the id
 *       is still unused after a delay (the connector could not reach us), sends the {@link
 *       ReversePreamble} and runs the session as acceptor. Connector side: a connection that opens
 *       with a preamble goes to the attempt that {@link #awaitReverse awaits} that id.
 *   <li>Bounded: at most {@link #MAX_HANDSHAKING} accepted connections not yet authenticated,
 *       each closed if it says nothing for the handshake timeout.
 * </ul>
 *
 * Thread-safe.
 */
public final class TcpTransportAcceptor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TcpTransportAcceptor.class);
  /** Accepted connections still in their preamble or TLS handshake. */
  static final int MAX_HANDSHAKING = 256;
  /** Candidates of a connector we dial back at most. */
  static final int MAX_DIAL_BACK = 8;
  /** Reverse connections held for a connect that has not started waiting yet. */
  static final int MAX_PARKED = 32;

  /**
   * How the acceptor runs.
   *
   * @param port TCP port to listen on (0: random)
   * @param advertised if non-empty, exactly these addresses are advertised (port forwarding, tests)
   * @param handshakeMillis bound on a connection's preamble (the session bounds its handshake)
   * @param staggerMillis delay between successive dial-back attempts
   */
  public record Settings(int port, List<InetSocketAddress> advertised, long handshakeMillis, long staggerMillis) {
    public Settings {
      advertised = List.copyOf(advertised);
    }
  }

  private final Address self;
  private final EventLoopGroup group;
  private final InboundSessions inbound;
  private final ListenerIds ids;
  private final Settings settings;
  private final Map<String, CompletableFuture<Channel>> awaiting = new ConcurrentHashMap<>();
  /**
   * Reverse connections that arrived before their connect waited for them (a listener can dial
   * back while a cold sender is still planning its race); each is closed after the handshake
   * timeout if nobody takes it.
   */
  private final Map<String, Channel> parked = new ConcurrentHashMap<>();
  private final HandshakeBudget handshaking;
  private volatile Channel server;
  private volatile InetAddress observed;
  private volatile List<InetAddress> interfaces = List.of();
  private volatile boolean closed;

  public TcpTransportAcceptor(EventLoopGroup group, InboundSessions inbound, Settings settings) {
    this.self = inbound.self();
    this.group = group;
    this.inbound = inbound;
    this.ids = inbound.ids();
    this.settings = settings;
    this.handshaking = new HandshakeBudget(MAX_HANDSHAKING, self + " direct TCP", log);
  }

  /**
   * Starts listening unless already listening (idempotent).
   *
   * @throws IOException if the port cannot be bound, naming it
   */
  public synchronized void start() throws IOException {
    if (server != null || closed) {
      return;
    }
    ServerBootstrap b = new ServerBootstrap().group(group).channel(SocketTransport.of(group).serverSocketChannelClass())
        .option(ChannelOption.SO_BACKLOG, 128)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            accepted(ch);
          }
        });
    ChannelFuture f = b.bind(new InetSocketAddress(settings.port())).awaitUninterruptibly();
    if (!f.isSuccess()) {
      throw new IOException("cannot listen for peers on TCP port " + settings.port() + ": "
          + (f.cause().getMessage() == null ? f.cause().toString() : f.cause().getMessage()), f.cause());
    }
    server = f.channel();
    interfaces = LocalAddresses.list();
    log.info("{} accepting direct peer connections on TCP port {}", self, port());
  }

  /** Whether the acceptor listens. */
  public boolean listening() {
    Channel s = server;
    return s != null && s.isActive();
  }

  /** The TCP port it listens on, or 0 before {@link #start()}. */
  public int port() {
    Channel s = server;
    return s == null ? 0 : ((InetSocketAddress) s.localAddress()).getPort();
  }

  /** Notes the address the presence server sees us at (its WhoAmI), advertised beside our interfaces. */
  public void observed(InetAddress address) {
    this.observed = address;
  }

  /** Where peers may reach us, all of them (sent in our Inbound for reverse TCP). */
  public List<HostPort> ownCandidates() {
    return candidates(true);
  }

  /**
   * The methods to put in our answer to {@code q}: tcp to our candidates (loopback ones only if
   * the connector is on this host), and reverse_tcp if the connector announced where it listens.
   */
  public List<ConnectionMethod> methods(InboundQuery q) {
    List<ConnectionMethod> out = new ArrayList<>();
    if (!listening()) {
      return out;
    }
    List<HostPort> peer = q.getTcpCandidatesList();
    boolean sameHost = LocalAddresses.sameHost(interfaces, peer) || peer.isEmpty();
    for (HostPort hp : candidates(sameHost)) {
      out.add(ConnectionMethod.newBuilder().setTcp(hp).build());
    }
    if (peer.stream().anyMatch(Ips::valid)) {
      out.add(ConnectionMethod.newBuilder().setReverseTcp(ReverseTcpMethod.getDefaultInstance()).build());
    }
    return out;
  }

  private List<HostPort> candidates(boolean withLoopback) {
    if (!settings.advertised().isEmpty()) {
      return settings.advertised().stream().map(a -> Ips.hostPort(a.getAddress(), a.getPort())).toList();
    }
    int port = port();
    List<HostPort> out = new ArrayList<>(LocalAddresses.candidates(interfaces, port, withLoopback));
    InetAddress o = observed;
    if (o != null && !o.isLoopbackAddress() && !interfaces.contains(o)) {
      out.add(Ips.hostPort(o, port)); // public address of a port-forwarded or unfiltered host
    }
    return out;
  }

  // ---- the listening side ----

  private void accepted(SocketChannel ch) {
    Runnable settled = closed ? null : handshaking.tryEnter();
    if (settled == null) {
      ch.close();
      return;
    }
    ch.closeFuture().addListener(f -> settled.run());
    TransportPreamble preamble = new TransportPreamble(new TransportPreamble.Handoff() {
      @Override
      public void direct(Channel c) {
        InetSocketAddress from = (InetSocketAddress) c.remoteAddress();
        Route route = Route.direct(Route.Kind.TCP, from);
        inbound.accept(c, null, route, settled);
      }

      @Override
      public void reverse(Channel c, String listenerId) {
        settled.run(); // the awaiting attempt bounds its own handshake
        CompletableFuture<Channel> waiter = awaiting.remove(listenerId);
        if (waiter != null && waiter.complete(c)) {
          return;
        }
        if (parked.size() >= MAX_PARKED || parked.putIfAbsent(listenerId, c) != null) {
          log.debug("{} reverse connection from {} for a listener id nobody awaits", self, c.remoteAddress());
          c.close();
          return;
        }
        c.closeFuture().addListener(f -> parked.remove(listenerId, c));
        c.eventLoop().schedule(() -> {
          if (parked.remove(listenerId, c)) {
            log.debug("{} reverse connection from {} was not taken in time", self, c.remoteAddress());
            c.close();
          }
        }, settings.handshakeMillis(), TimeUnit.MILLISECONDS);
      }
    });
    ch.pipeline().addLast(preamble);
    ch.eventLoop().schedule(() -> {
      if (ch.pipeline().context(preamble) != null && ch.isOpen()) {
        log.debug("{} closing {}: nothing said within {} ms", self, ch.remoteAddress(), settings.handshakeMillis());
        ch.close();
      }
    }, settings.handshakeMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Listener side of reverse TCP: unless {@code listenerId} was used by then, dials {@code
   * from}'s candidates after {@code delayMillis}, staggered, and runs the session on the first
   * connection made.
   */
  public void dialBack(String listenerId, Address from, List<HostPort> targets, long delayMillis) {
    List<HostPort> usable = targets.stream().filter(Ips::valid).toList();
    boolean sameHost = LocalAddresses.sameHost(interfaces, usable);
    List<HostPort> order = CandidateOrder.order(usable.stream()
        .filter(hp -> sameHost || !isLoopback(hp)).toList());
    if (order.isEmpty() || closed) {
      return;
    }
    List<HostPort> dial = order.subList(0, Math.min(order.size(), MAX_DIAL_BACK));
    group.next().schedule(() -> {
      if (ids.isPending(listenerId) && !closed) {
        log.debug("{} dialing back {} at {}", self, from, dial.stream().map(Ips::toString).toList());
        new DialBack(listenerId, from, dial).next();
      }
    }, delayMillis, TimeUnit.MILLISECONDS);
  }

  private static boolean isLoopback(HostPort hp) {
    InetAddress ip = Ips.literal(hp.getHost());
    return ip != null && ip.isLoopbackAddress();
  }

  /** One dial-back: staggered connects, the first connection carries the session. */
  private final class DialBack {
    private final String listenerId;
    private final Address from;
    private final List<HostPort> targets;
    private final List<Channel> dialing = new ArrayList<>();
    private int nextIndex;
    private int inFlight;
    private boolean won;

    DialBack(String listenerId, Address from, List<HostPort> targets) {
      this.listenerId = listenerId;
      this.from = from;
      this.targets = targets;
    }

    synchronized void next() {
      if (won || nextIndex >= targets.size() || !ids.isPending(listenerId)) {
        return;
      }
      HostPort target = targets.get(nextIndex++);
      inFlight++;
      ChannelFuture cf = new Bootstrap().group(group).channel(SocketTransport.of(group).socketChannel())
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(10_000, settings.handshakeMillis()))
          .handler(new ChannelInboundHandlerAdapter())
          .connect(Ips.socketAddress(target));
      dialing.add(cf.channel());
      cf.addListener((ChannelFutureListener) f -> connected(f, target));
      group.next().schedule(this::next, settings.staggerMillis(), TimeUnit.MILLISECONDS);
    }

    private void connected(ChannelFuture f, HostPort target) {
      List<Channel> losers = new ArrayList<>();
      synchronized (this) {
        inFlight--;
        if (!f.isSuccess()) {
          log.debug("{} dial-back to {} failed: {}", self, Ips.toString(target), f.cause().toString());
          if (inFlight == 0) {
            next(); // nothing else is connecting: no need to wait for the stagger
          }
          return;
        }
        if (won) {
          f.channel().close();
          return;
        }
        won = true;
        for (Channel c : dialing) {
          if (c != f.channel()) {
            losers.add(c);
          }
        }
      }
      losers.forEach(Channel::close);
      Channel ch = f.channel();
      Route route = Route.direct(Route.Kind.REVERSE_TCP, (InetSocketAddress) ch.remoteAddress());
      ch.writeAndFlush(ReversePreamble.encode(ch.alloc(), listenerId));
      inbound.accept(ch, from, route, () -> { });
    }
  }

  // ---- the connecting side of reverse TCP ----

  /**
   * Connector side: completes with the connection the listener dials back for {@code listenerId}
   * (its preamble consumed). Cancelling the future stops waiting.
   */
  public CompletableFuture<Channel> awaitReverse(String listenerId) {
    CompletableFuture<Channel> f = new CompletableFuture<>();
    if (!listening()) {
      f.completeExceptionally(new IOException("this client accepts no TCP connections"));
      return f;
    }
    Channel early = parked.remove(listenerId);
    if (early != null && early.isActive()) {
      f.complete(early); // the listener was quicker than we were
      return f;
    }
    awaiting.put(listenerId, f);
    f.whenComplete((c, e) -> awaiting.remove(listenerId, f));
    return f;
  }

  @Override
  public void close() {
    closed = true;
    Channel s;
    synchronized (this) {
      s = server;
    }
    if (s != null) {
      s.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
    awaiting.values().forEach(f -> f.cancel(false));
    parked.values().forEach(Channel::close);
  }
}
