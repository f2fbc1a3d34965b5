package org.q2q.client.internal.connect;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.q2q.client.internal.net.SocketTransport;
import org.q2q.client.Route;
import org.q2q.client.internal.net.Ips;
import org.q2q.proto.HostPort;

/**
 * Direct TCP to one of a listener's advertised addresses (reach), then the peer session's TLS,
 * whose Hello names the listener id (secure). An address now used by someone else fails TLS
 * verification and loses the race without side effects. Thread-safe.
 *
 * @param <S> the session type
 */
final class TcpPlan<S> extends ReachThenSecure<S> {
  /** A SYN that gets no answer gives up after this (the racer's deadline may end it sooner). */
  static final long MAX_CONNECT_MILLIS = 10_000;

  private final HostPort target;
  private final EventLoopGroup group;
  private final Deadline deadline;

  TcpPlan(HostPort target, EventLoopGroup group, Deadline deadline, BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    super(new Route(Route.Kind.TCP, Ips.toString(target)), secure);
    this.target = target;
    this.group = group;
    this.deadline = deadline;
  }

  @Override
  protected CompletableFuture<Channel> reach() {
    return connect();
  }

  private CompletableFuture<Channel> connect() {
    CompletableFuture<Channel> f = new CompletableFuture<>();
    ChannelFuture cf = new Bootstrap().group(group).channel(SocketTransport.of(group).socketChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
            (int) Math.max(1, Math.min(MAX_CONNECT_MILLIS, deadline.remainingMillis())))
        .handler(new ChannelInboundHandlerAdapter())
        .connect(Ips.socketAddress(target));
    cf.addListener(x -> {
      if (x.isSuccess()) {
        if (!f.complete(cf.channel())) {
          cf.channel().close(); // cancelled meanwhile
        }
      } else {
        Throwable c = x.cause();
        f.completeExceptionally(new IOException("cannot connect to " + Ips.toString(target) + ": "
            + (c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage()), c));
      }
    });
    f.whenComplete((c, e) -> {
      if (f.isCancelled()) {
        cf.cancel(false);
        cf.channel().close();
      }
    });
    return f;
  }
}
