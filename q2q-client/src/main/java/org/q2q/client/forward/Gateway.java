package org.q2q.client.forward;

import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.certstore.Address;
import org.q2q.client.AcceptPolicy;
import org.q2q.client.ListenerRegistration;
import org.q2q.client.Q2qClient;
import org.q2q.client.VirtualChannel;
import org.q2q.proto.GatewayEvent;
import org.q2q.proto.GatewayRequest;
import org.q2q.proto.PortRefused;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The far side of reverse forwarding (a self-hosted ngrok between two addresses): allowed callers
 * ask it, over the service {@value #SERVICE}, to listen on a port in its range; each connection to
 * that port is announced to the caller, who attaches a new channel that carries it back.
 *
 * <ul>
 *   <li>A port outside the range, one that cannot be bound, a bind address other than the
 *       gateway's own (unless that is a wildcard), or a caller outside the {@link AllowList} is
 *       refused with a message the caller shows.
 *   <li>The port closes when its control channel ends: the caller quit or its session was lost.
 *   <li>Announced connections not attached within {@value #ATTACH_TIMEOUT_MILLIS} ms are closed.
 * </ul>
 *
 * Protocol: {@code q2q/v1/forward.proto}. Safe for concurrent use.
 */
public final class Gateway implements AutoCloseable {
  /** The service a gateway listens on. */
  public static final String SERVICE = "gateway";
  static final long ATTACH_TIMEOUT_MILLIS = 10_000;

  private static final Logger log = LoggerFactory.getLogger(Gateway.class);

  private final Q2qClient client;
  private final AllowList allow;
  private final PortRange ports;
  private final String bindHost;
  private final int maxConnectionsPerPort;
  private final TunnelEvents events;
  private final AtomicLong ids = new AtomicLong();
  /** Connections accepted on some port, waiting for their caller's Attach, by connection id. */
  private final Map<Long, GatewayPort.Pending> pending = new ConcurrentHashMap<>();
  private final Map<GatewayPort, Boolean> openPorts = new ConcurrentHashMap<>();
  private ListenerRegistration registration;

  private Gateway(Q2qClient client, AllowList allow, PortRange ports, String bindHost, int maxConnectionsPerPort,
      TunnelEvents events) {
    this.client = client;
    this.allow = allow;
    this.ports = ports;
    this.bindHost = bindHost;
    this.maxConnectionsPerPort = maxConnectionsPerPort;
    this.events = events;
  }

  /**
   * Starts the gateway.
   *
   * @param bindHost where ports are opened (e.g. {@code 0.0.0.0}); callers may name another host only if this is a wildcard
   * @param maxConnectionsPerPort the most connections one opened port carries at once
   */
  public static Gateway start(Q2qClient client, AllowList allow, PortRange ports, String bindHost,
      int maxConnectionsPerPort, TunnelEvents events) {
    Gateway g = new Gateway(Objects.requireNonNull(client, "client"), Objects.requireNonNull(allow, "allow"),
        Objects.requireNonNull(ports, "ports"), Objects.requireNonNull(bindHost, "bindHost"), maxConnectionsPerPort,
        Objects.requireNonNull(events, "events"));
    AcceptPolicy policy = (from, svc) -> {
      AcceptPolicy.Decision d = allow.decide(from, svc);
      if (!d.accepted()) {
        log.info("gateway {}: refused {}: {}", client.address(), from, d.reason());
        events.refused(from.toString(), d.reason());
      }
      return d;
    };
    g.registration = client.listen(SERVICE, "q2q gateway: ports " + ports, policy, g::accepted);
    return g;
  }

  /** Completes once the presence server confirmed the registration. */
  public CompletableFuture<Void> ready() {
    return registration.ready();
  }

  /** Ports open now. */
  public int openPorts() {
    return openPorts.size();
  }

  /** Withdraws the service and closes every opened port. Idempotent. */
  @Override
  public void close() {
    registration.close();
    for (GatewayPort p : openPorts.keySet()) {
      p.close("the gateway is closing");
    }
  }

  Q2qClient client() {
    return client;
  }

  TunnelEvents events() {
    return events;
  }

  int maxConnectionsPerPort() {
    return maxConnectionsPerPort;
  }

  long nextId() {
    return ids.incrementAndGet();
  }

  void addPending(long id, GatewayPort.Pending p) {
    pending.put(id, p);
  }

  boolean removePending(long id, GatewayPort.Pending p) {
    return pending.remove(id, p);
  }

  void portClosed(GatewayPort p) {
    openPorts.remove(p);
  }

  private void accepted(VirtualChannel vc) {
    vc.channel().pipeline().addLast("gateway-request", new FirstRequest(vc));
    vc.channel().read();
  }

  private void request(VirtualChannel vc, GatewayRequest r, ByteBuf rest) {
    switch (r.getKindCase()) {
      case OPEN -> {
        rest.release();
        open(vc, r.getOpen().getBindHost(), r.getOpen().getPort());
      }
      case ATTACH -> attach(vc, r.getAttach().getConnectionId(), rest);
      default -> {
        rest.release();
        vc.reset("unknown gateway request");
      }
    }
  }

  private void open(VirtualChannel control, String host, int port) {
    Address caller = control.remoteAddress();
    if (!ports.contains(port)) {
      refuse(control, "port " + port + " is outside the ports this gateway opens (" + ports + ")");
      return;
    }
    if (!host.isEmpty() && !host.equals(bindHost) && !isWildcard(bindHost)) {
      // the operator chose where ports open (e.g. loopback only); a caller may not widen that
      refuse(control, "this gateway opens ports on " + bindHost + " only, not on " + host);
      return;
    }
    String h = host.isEmpty() ? bindHost : host;
    HostPort bind;
    try {
      bind = new HostPort(h, port);
    } catch (IllegalArgumentException e) {
      refuse(control, e.getMessage());
      return;
    }
    GatewayPort p = new GatewayPort(this, control, caller, bind);
    openPorts.put(p, Boolean.TRUE);
    control.closeFuture().addListener(f -> p.close(whyEnded(caller, f.cause())));
    p.open();
  }

  private static boolean isWildcard(String host) {
    return host.equals("0.0.0.0") || host.equals("::") || host.equals("*");
  }

  /** Why a control channel ended, for the gateway's line. */
  private static String whyEnded(Address caller, Throwable cause) {
    if (cause == null || (cause instanceof org.q2q.client.ChannelResetException r && r.byPeer()
        && r.code() == org.q2q.client.Q2qErrorCode.CANCEL)) {
      return caller + " closed the tunnel";
    }
    return caller + " went away (" + cause.getMessage() + ")";
  }

  void refuse(VirtualChannel control, String reason) {
    log.info("gateway {}: refused {}: {}", client.address(), control.remoteAddress(), reason);
    events.refused(control.remoteAddress().toString(), reason);
    GatewayEvent e = GatewayEvent.newBuilder().setRefused(PortRefused.newBuilder().setReason(reason)).build();
    Channel ch = control.channel();
    ch.writeAndFlush(GatewayWire.encode(ch.alloc(), e)).addListener(f -> control.shutdownOutput());
  }

  private void attach(VirtualChannel vc, long id, ByteBuf rest) {
    GatewayPort.Pending p = pending.remove(id);
    if (p == null || !p.port().caller().equals(vc.remoteAddress())) {
      rest.release();
      if (p != null) {
        pending.put(id, p);
      }
      vc.reset("no connection " + id + " waits for " + vc.remoteAddress());
      return;
    }
    p.attach(vc, rest);
  }

  /** Reads the first request of a gateway channel; the bytes after an Attach belong to the connection. */
  private final class FirstRequest extends ChannelInboundHandlerAdapter {
    private final VirtualChannel vc;
    private ByteBuf buffer;

    FirstRequest(VirtualChannel vc) {
      this.vc = vc;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      if (buffer == null) {
        buffer = ctx.alloc().buffer(Math.max(64, in.readableBytes()));
      }
      buffer.writeBytes(in);
      in.release();
      GatewayRequest r;
      try {
        r = GatewayWire.tryDecode(buffer, GatewayRequest.parser());
      } catch (InvalidProtocolBufferException e) {
        fail("malformed gateway request: " + e.getMessage());
        return;
      }
      if (r == null) {
        if (buffer.readableBytes() > GatewayWire.MAX_MESSAGE + 5) {
          fail("gateway request too long");
        }
        return;
      }
      ByteBuf rest = buffer;
      buffer = null;
      ctx.pipeline().remove(this);
      request(vc, r, rest);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (buffer != null && ctx.channel().isActive()) {
        ctx.read(); // still waiting for the rest of the request
      }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      if (buffer != null) {
        buffer.release();
        buffer = null;
      }
    }

    private void fail(String reason) {
      log.warn("gateway {}: {} from {}", client.address(), reason, vc.remoteAddress());
      vc.reset(reason);
    }
  }

  /** Socket options of the connections accepted on opened ports. */
  static void configure(Channel socket) {
    socket.config().setAutoRead(false);
    socket.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    socket.config().setOption(ChannelOption.TCP_NODELAY, true);
  }

  static EventLoop loopFor(VirtualChannel vc, Q2qClient client) {
    return SocketLoops.forChannel(vc.channel().eventLoop(), client.eventLoopGroup());
  }
}
