package org.q2q.client.forward;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.q2q.certstore.Address;
import org.q2q.client.VirtualChannel;
import org.q2q.proto.GatewayEvent;
import org.q2q.proto.Incoming;
import org.q2q.proto.PortOpened;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One port a {@link Gateway} opened for one caller, living as long as the caller's control channel.
 * Each accepted connection stays unregistered (its bytes wait in the kernel) until the caller
 * attaches a channel for it, then is registered on that channel's loop and spliced. Safe for
 * concurrent use.
 */
final class GatewayPort {
  private static final Logger log = LoggerFactory.getLogger(GatewayPort.class);

  private final Gateway gateway;
  private final VirtualChannel control;
  private final Address caller;
  private final HostPort bind;
  private final ConnectionLimit limit;
  private final Set<Pending> waiting = ConcurrentHashMap.newKeySet();
  private final Set<Splice> running = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final String name;
  private volatile Channel server;

  GatewayPort(Gateway gateway, VirtualChannel control, Address caller, HostPort bind) {
    this.gateway = gateway;
    this.control = control;
    this.caller = caller;
    this.bind = bind;
    this.name = "gateway port " + bind + " for " + caller;
    this.limit = new ConnectionLimit(name, gateway.maxConnectionsPerPort(), true, gateway.events());
  }

  Address caller() {
    return caller;
  }

  /** Binds the port and tells the caller whether that worked. */
  void open() {
    ServerSocketChannel ch = SocketLoops.newServerSocket();
    ch.config().setOption(ChannelOption.SO_REUSEADDR, true);
    ch.pipeline().addLast(new Acceptor());
    EventLoop loop = Gateway.loopFor(control, gateway.client());
    loop.register(ch).addListener(r -> {
      if (!r.isSuccess()) {
        failOpen("cannot open port " + bind.port() + ": " + r.cause().getMessage());
        return;
      }
      InetSocketAddress addr = bind.toSocketAddress();
      if (addr.isUnresolved()) {
        ch.close();
        failOpen("cannot open port " + bind.port() + ": unknown host " + bind.host() + " on the gateway");
        return;
      }
      ChannelFuture b = ch.bind(addr);
      b.addListener(f -> {
        if (!f.isSuccess()) {
          ch.close();
          String why = String.valueOf(f.cause().getMessage());
          failOpen("cannot open port " + bind + " on the gateway: "
              + (why.toLowerCase(java.util.Locale.ROOT).contains("in use") ? "it is in use" : why));
          return;
        }
        server = ch;
        if (closed.get()) {
          ch.close(); // the caller left while we were binding
          return;
        }
        String bound = hostPort((InetSocketAddress) ch.localAddress());
        log.info("{}: opened {}", name, bound);
        gateway.events().portOpened(caller.toString(), bound);
        Channel c = control.channel();
        c.writeAndFlush(GatewayWire.encode(c.alloc(),
            GatewayEvent.newBuilder().setOpened(PortOpened.newBuilder().setBound(bound)).build()));
      });
    });
  }

  private void failOpen(String reason) {
    gateway.portClosed(this);
    closed.set(true);
    gateway.refuse(control, reason);
  }

  /** Closes the port and the connections still waiting; spliced ones end with their session. Idempotent. */
  void close(String why) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    Channel s = server;
    if (s != null) {
      // counted closed once the socket is: "no open ports" then means nothing listens any more
      s.close().addListener(f -> {
        gateway.portClosed(this);
        log.info("{}: closed ({})", name, why);
        gateway.events().portClosed(caller.toString(), bind.toString(), why);
      });
    } else {
      gateway.portClosed(this);
    }
    for (Pending p : waiting) {
      p.drop("the port closed");
    }
    control.close();
  }

  private void accepted(Channel socket) {
    if (closed.get() || !limit.tryAcquire()) {
      socket.unsafe().closeForcibly();
      return;
    }
    Channel s = server;
    if (limit.full()) {
      s.config().setAutoRead(false);
      if (!limit.full()) {
        s.config().setAutoRead(true);
      }
    }
    Gateway.configure(socket);
    long id = gateway.nextId();
    String from = hostPort((InetSocketAddress) socket.remoteAddress());
    Pending p = new Pending(id, socket, from);
    waiting.add(p);
    gateway.addPending(id, p);
    p.timeout = s.eventLoop().schedule(() -> p.drop("not attached by " + caller + " within "
        + Gateway.ATTACH_TIMEOUT_MILLIS + " ms"), Gateway.ATTACH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    Channel c = control.channel();
    c.writeAndFlush(GatewayWire.encode(c.alloc(), GatewayEvent.newBuilder()
        .setIncoming(Incoming.newBuilder().setConnectionId(id).setFrom(from)).build()));
    log.debug("{}: gw-{} from {} announced", name, id, from);
  }

  private void release() {
    limit.release();
    Channel s = server;
    if (s != null && !closed.get() && !limit.full() && !s.config().isAutoRead()) {
      s.config().setAutoRead(true);
    }
  }

  private static String hostPort(InetSocketAddress a) {
    return new HostPort(a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString(), a.getPort())
        .toString();
  }

  /** An accepted connection waiting for the caller's Attach. */
  final class Pending {
    private final long id;
    private final Channel socket;
    private final String from;
    private final AtomicBoolean taken = new AtomicBoolean();
    ScheduledFuture<?> timeout;

    Pending(long id, Channel socket, String from) {
      this.id = id;
      this.socket = socket;
      this.from = from;
    }

    GatewayPort port() {
      return GatewayPort.this;
    }

    /** Closes the waiting connection. */
    void drop(String why) {
      if (!taken.compareAndSet(false, true)) {
        return;
      }
      waiting.remove(this);
      gateway.removePending(id, this);
      log.info("{}: gw-{} from {} closed: {}", name, id, from, why);
      socket.unsafe().closeForcibly();
      release();
      gateway.events().failed("gw-" + id, caller.toString(), from, why);
    }

    /** The caller attached {@code vc}: splice; {@code rest} (released here) goes to the socket first. */
    void attach(VirtualChannel vc, ByteBuf rest) {
      if (!taken.compareAndSet(false, true)) {
        rest.release();
        vc.reset("connection " + id + " is gone");
        return;
      }
      waiting.remove(this);
      if (timeout != null) {
        timeout.cancel(false);
      }
      String cid = "gw-" + id;
      EventLoop loop = Gateway.loopFor(vc, gateway.client());
      SocketLoops.register(socket, loop).addListener(r -> {
        if (!r.isSuccess()) {
          rest.release();
          socket.unsafe().closeForcibly();
          vc.reset("the gateway failed");
          release();
          return;
        }
        Splice s = Splice.start(cid, socket, vc, from, rest);
        running.add(s);
        gateway.events().opened(cid, caller.toString(), from);
        s.done().thenAccept(rec -> {
          running.remove(s);
          release();
          log.info("{}: {} from {} {}: {} bytes in, {} out in {} ms", name, cid, from, rec.outcome(), rec.sent(),
              rec.received(), rec.duration().toMillis());
          gateway.events().closed(rec);
        });
      });
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
      log.warn("{}: accepting failed: {}", name, cause.toString());
    }
  }
}
