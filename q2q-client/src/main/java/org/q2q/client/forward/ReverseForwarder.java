package org.q2q.client.forward;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufVarint32FrameDecoder;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.q2q.certstore.Address;
import org.q2q.client.Q2qException;
import org.q2q.client.Q2qClient;
import org.q2q.client.VirtualChannel;
import org.q2q.proto.Attach;
import org.q2q.proto.GatewayEvent;
import org.q2q.proto.GatewayRequest;
import org.q2q.proto.Incoming;
import org.q2q.proto.OpenPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The caller's side of reverse forwarding ({@code ssh -R}): asks a {@link Gateway} to listen on a
 * port and connects each connection it announces to a local target ({@code host:port}), over a new
 * channel of the same peer session.
 *
 * <ul>
 *   <li>{@link #open} completes once the gateway opened the port, or fails with its refusal
 *       ({@link Q2qException.Reason#PERMISSION}) or the connect failure.
 *   <li>If the target cannot be reached, that one connection is reset (the remote client sees it
 *       closed) and the next may succeed.
 *   <li>{@link #closed()} completes when the gateway closed the port or the session was lost.
 * </ul>
 *
 * Safe for concurrent use.
 */
public final class ReverseForwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReverseForwarder.class);

  private final Q2qClient client;
  private final Address gateway;
  private final HostPort target;
  private final TunnelEvents events;
  private final ConnectionLimit limit;
  private final CompletableFuture<ReverseForwarder> opened = new CompletableFuture<>();
  private final CompletableFuture<String> closed = new CompletableFuture<>();
  private final Set<Splice> running = ConcurrentHashMap.newKeySet();
  private final String name;
  private volatile VirtualChannel control;
  private volatile String bound;

  private ReverseForwarder(Q2qClient client, Address gateway, String remote, HostPort target, int maxConnections,
      TunnelEvents events) {
    this.client = client;
    this.gateway = gateway;
    this.target = target;
    this.events = events;
    this.name = "reverse " + gateway + ":" + remote + " -> " + target;
    this.limit = new ConnectionLimit(name, maxConnections, false, events);
  }

  /**
   * Asks {@code gateway} to listen on {@code bindHost:port} (empty host: the gateway's default) and
   * carry each connection to {@code target}.
   *
   * @return completes when the port is open; fails with a {@link Q2qException} saying why not
   */
  public static CompletableFuture<ReverseForwarder> open(Q2qClient client, Address gateway, String bindHost, int port,
      HostPort target, int maxConnections, TunnelEvents events) {
    Objects.requireNonNull(bindHost, "bindHost");
    ReverseForwarder r = new ReverseForwarder(Objects.requireNonNull(client, "client"),
        Objects.requireNonNull(gateway, "gateway"), (bindHost.isEmpty() ? "" : bindHost + ":") + port,
        Objects.requireNonNull(target, "target"), maxConnections, Objects.requireNonNull(events, "events"));
    client.connect(gateway, Gateway.SERVICE).whenComplete((vc, e) -> {
      if (e != null) {
        Throwable c = Causes.unwrap(e);
        r.opened.completeExceptionally(c);
        r.closed.complete(c.getMessage());
        return;
      }
      r.start(vc, bindHost, port);
    });
    return r.opened;
  }

  private void start(VirtualChannel vc, String bindHost, int port) {
    control = vc;
    Channel ch = vc.channel();
    ch.pipeline().addLast(new ProtobufVarint32FrameDecoder(), new ProtobufDecoder(GatewayEvent.getDefaultInstance()),
        new Events());
    vc.closeFuture().addListener(f -> ended(f.cause() == null ? "the gateway closed the tunnel"
        : "the tunnel to " + gateway + " was lost: " + f.cause().getMessage()));
    ch.writeAndFlush(GatewayWire.encode(ch.alloc(), GatewayRequest.newBuilder()
        .setOpen(OpenPort.newBuilder().setBindHost(bindHost).setPort(port)).build()));
    ch.config().setAutoRead(true);
  }

  private void ended(String why) {
    if (opened.completeExceptionally(new Q2qException(Q2qException.Reason.UNREACHABLE,
        gateway + " did not open the port: " + why))) {
      closed.complete(why);
      return;
    }
    if (closed.complete(why)) {
      log.info("{}: {}", name, why);
    }
  }

  /** The address the gateway bound ({@code host:port}), once open. */
  public String bound() {
    return bound;
  }

  /** Completes, with the reason, when the port is closed (gateway gone, session lost, or {@link #close()}). */
  public CompletableFuture<String> closed() {
    return closed;
  }

  /** Closes the port at the gateway and the running connections. Idempotent. */
  @Override
  public void close() {
    VirtualChannel c = control;
    if (c != null) {
      c.close();
    }
    for (Splice s : running) {
      s.abort("the tunnel is closing");
    }
    closed.complete("closed");
  }

  private void incoming(Incoming in) {
    String id = "rev-" + in.getConnectionId();
    String from = in.getFrom();
    client.connect(gateway, Gateway.SERVICE).whenComplete((vc, e) -> {
      if (e != null) {
        String reason = Causes.unwrap(e).getMessage();
        log.info("{} {}: cannot open a channel to {}: {}", id, from, gateway, reason);
        events.failed(id, gateway.toString(), from, reason);
        return; // the gateway closes the connection when the attach does not come
      }
      Channel ch = vc.channel();
      ch.writeAndFlush(GatewayWire.encode(ch.alloc(),
          GatewayRequest.newBuilder().setAttach(Attach.newBuilder().setConnectionId(in.getConnectionId())).build()));
      if (!limit.tryAcquire()) {
        vc.reset("busy: the caller carries its limit of " + limit.max() + " connections");
        events.failed(id, gateway.toString(), from, "connection limit reached");
        return;
      }
      connectTarget(id, vc, from);
    });
  }

  private void connectTarget(String id, VirtualChannel vc, String from) {
    InetSocketAddress addr = target.toSocketAddress();
    ChannelFuture connect = SocketLoops.dial(vc, client.eventLoopGroup(), addr);
    connect.addListener(f -> {
      if (!f.isSuccess()) {
        String reason = "cannot reach " + target + ": " + Causes.connectFailure(f.cause());
        log.info("{} {}: {}", id, from, reason);
        vc.reset(reason);
        limit.release();
        events.failed(id, gateway.toString(), from, reason);
        return;
      }
      Splice s = Splice.start(id, connect.channel(), vc, from, null);
      running.add(s);
      events.opened(id, gateway.toString(), from);
      s.done().thenAccept(rec -> {
        running.remove(s);
        limit.release();
        log.info("{} {} -> {} {}: {} bytes sent, {} received in {} ms", id, from, target, rec.outcome(), rec.sent(),
            rec.received(), rec.duration().toMillis());
        events.closed(rec);
      });
    });
  }

  /** The gateway's events on the control channel. */
  private final class Events extends SimpleChannelInboundHandler<GatewayEvent> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, GatewayEvent e) {
      switch (e.getKindCase()) {
        case OPENED -> {
          bound = e.getOpened().getBound();
          log.info("{}: open at {}", name, bound);
          opened.complete(ReverseForwarder.this);
        }
        case REFUSED -> {
          String why = gateway + " refused: " + e.getRefused().getReason();
          opened.completeExceptionally(new Q2qException(Q2qException.Reason.PERMISSION, why));
          closed.complete(why);
          control.close();
        }
        case INCOMING -> incoming(e.getIncoming());
        default -> log.debug("{}: ignoring an unknown gateway event", name);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // a reset or a malformed event: the channel closes and closeFuture reports it
      log.debug("{}: control channel failed: {}", name, cause.toString());
      ctx.close();
    }
  }
}
