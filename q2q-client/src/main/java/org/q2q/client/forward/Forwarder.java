package org.q2q.client.forward;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ServerSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.certstore.ServiceAddress;
import org.q2q.client.Q2qClient;
import org.q2q.client.Route;
import org.q2q.client.VirtualChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local listening port whose every accepted connection becomes its own virtual channel to an
 * exposed service ({@code ssh -L}); all of them share the client's one peer session with that
 * address, which the client rebuilds on the next connection if it was lost.
 *
 * <ul>
 *   <li>An accepted socket stays unregistered (its bytes wait in the kernel) until its channel is
 *       open; it is then registered on the channel's event loop and spliced ({@link Splice}).
 *   <li>If the channel cannot be opened (peer unreachable, refused, not exposed), that one local
 *       connection is closed with a logged reason; the forwarder keeps listening.
 *   <li>At the connection limit it stops accepting (new connections wait in the listen backlog)
 *       until one closes, with one log line.
 * </ul>
 *
 * Safe for concurrent use.
 */
public final class Forwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Forwarder.class);
  private static final AtomicLong IDS = new AtomicLong();

  private final Q2qClient client;
  private final ServiceAddress target;
  private final TunnelEvents events;
  private final int maxConnections;
  private volatile ConnectionLimit limit;
  private final Set<Splice> running = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile String name;
  private volatile Channel server;

  private Forwarder(Q2qClient client, ServiceAddress target, int maxConnections, TunnelEvents events, String name) {
    this.client = client;
    this.target = target;
    this.events = events;
    this.name = name;
    this.maxConnections = maxConnections;
  }

  /**
   * Listens on {@code bind} and forwards to {@code target}.
   *
   * @param maxConnections the most connections carried at once; more wait to be accepted
   * @throws IOException if the port cannot be bound (the message says why)
   */
  public static Forwarder open(Q2qClient client, HostPort bind, ServiceAddress target, int maxConnections,
      TunnelEvents events) throws IOException {
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(target, "target");
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections < 1: " + maxConnections);
    }
    Forwarder f = new Forwarder(client, target, maxConnections, Objects.requireNonNull(events, "events"),
        "forwarder " + bind + " -> " + target);
    f.bind(bind);
    return f;
  }

  private void bind(HostPort bind) throws IOException {
    ServerSocketChannel ch = SocketLoops.newServerSocket();
    ch.config().setOption(ChannelOption.SO_REUSEADDR, true);
    ch.config().setAutoRead(false); // no accepting before the fields below are set
    ch.pipeline().addLast(new Acceptor());
    EventLoop loop = SocketLoops.any(client.eventLoopGroup());
    loop.register(ch).syncUninterruptibly();
    InetSocketAddress addr = bind.toSocketAddress();
    if (addr.isUnresolved()) {
      ch.close();
      throw new IOException("cannot listen on " + bind + ": unknown host " + bind.host());
    }
    io.netty.channel.ChannelFuture f = ch.bind(addr).awaitUninterruptibly();
    if (!f.isSuccess()) {
      ch.close();
      throw new IOException("cannot listen on " + bind + ": " + f.cause().getMessage(), f.cause());
    }
    name = "forwarder " + new HostPort(bind.host(), ((InetSocketAddress) ch.localAddress()).getPort()) + " -> " + target;
    limit = new ConnectionLimit(name, maxConnections, true, events);
    server = ch;
    ch.config().setAutoRead(true);
    log.info("{} listening", name);
  }

  /** The address actually bound (the port is the real one when 0 was asked for). */
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) server.localAddress();
  }

  /**
   * Builds the peer session the connections will share, ahead of the first one (which otherwise
   * waits for it, about a second on loopback), or finds it open; call once listening. A failure
   * changes nothing: each connection tries again.
   *
   * @return completes with the session's route, or fails with the reason the peer cannot be reached
   *     (a {@link org.q2q.client.ConnectFailedException})
   */
  public CompletableFuture<Route> prepare() {
    CompletableFuture<Route> result = new CompletableFuture<>();
    client.prepare(target.address(), target.service()).whenComplete((route, e) -> {
      if (e == null) {
        log.debug("{}: session to {} open via {}", name, target.address(), route);
        result.complete(route);
      } else {
        Throwable cause = Causes.unwrap(e);
        log.debug("{}: {} cannot be reached now: {}", name, target.address(), cause.getMessage());
        result.completeExceptionally(cause);
      }
    });
    return result;
  }

  /** Connections carried now. */
  public int activeConnections() {
    return limit.active();
  }

  /** Stops listening and aborts the running connections. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (server != null) {
      server.close().awaitUninterruptibly();
    }
    for (Splice s : running) {
      s.abort("the forwarder is closing");
    }
  }

  private void accepted(Channel socket) {
    String id = "fwd-" + IDS.incrementAndGet();
    String from = String.valueOf(socket.remoteAddress()).replaceFirst("^/", "");
    if (closed.get() || !limit.tryAcquire()) {
      socket.unsafe().closeForcibly();
      return;
    }
    if (limit.full()) {
      server.config().setAutoRead(false); // resumed in release(): the backlog holds the rest
      if (!limit.full()) {
        server.config().setAutoRead(true); // one was released meanwhile
      }
    }
    socket.config().setAutoRead(false);
    socket.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    socket.config().setOption(ChannelOption.TCP_NODELAY, true);
    log.debug("{} accepted {} for {}", id, from, target);
    client.connect(target.address(), target.service()).whenComplete((vc, e) -> {
      if (e != null) {
        String reason = Causes.unwrap(e).getMessage();
        // info, not warn: the events (the command's line on stderr) report it to the user
        log.info("{} {}: {}; closed the local connection", id, from, reason);
        events.failed(id, target.address().toString(), from, reason); // first, so the line precedes the close
        socket.unsafe().closeForcibly();
        release();
        return;
      }
      splice(id, socket, vc, from);
    });
  }

  private void splice(String id, Channel socket, VirtualChannel vc, String from) {
    EventLoop loop = SocketLoops.forChannel(vc.channel().eventLoop(), client.eventLoopGroup());
    SocketLoops.register(socket, loop).addListener(r -> {
      if (!r.isSuccess()) {
        log.warn("{} {}: cannot register the local connection: {}", id, from, r.cause().toString());
        socket.unsafe().closeForcibly();
        vc.reset("the forwarder failed");
        release();
        return;
      }
      Splice s = Splice.start(id, socket, vc, from, null);
      running.add(s);
      events.opened(id, vc.remoteAddress().toString(), from);
      if (closed.get()) {
        s.abort("the forwarder is closing");
      }
      s.done().thenAccept(rec -> {
        running.remove(s);
        release();
        log.info("{} {} -> {} {}: {} bytes sent, {} received in {} ms", id, from, target, rec.outcome(), rec.sent(),
            rec.received(), rec.duration().toMillis());
        events.closed(rec);
      });
    });
  }

  private void release() {
    limit.release();
    Channel s = server;
    if (s != null && !closed.get() && !limit.full() && !s.config().isAutoRead()) {
      s.config().setAutoRead(true);
    }
  }

  /** Takes each accepted, still unregistered socket from the server channel. */
  private final class Acceptor extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      accepted((Channel) msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // e.g. EMFILE: keep listening; Netty's accept loop retries on the next readiness event
      log.warn("{}: accepting failed: {}", name, cause.toString());
    }
  }
}
