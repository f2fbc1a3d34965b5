package org.q2q.client.internal.connect;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
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
  private final Siblings siblings;

  /** @param siblings the other direct attempts to the same listener */
  TcpPlan(HostPort target, EventLoopGroup group, Deadline deadline, Siblings siblings,
      BiFunction<Channel, Route, CompletableFuture<S>> secure) {
    super(new Route(Route.Kind.TCP, Ips.toString(target)), secure);
    this.target = target;
    this.group = group;
    this.deadline = deadline;
    this.siblings = siblings;
  }

  @Override
  protected CompletableFuture<Channel> reach() {
    // RFC 8305: a later address is dialed only while no earlier one has connected; if that one
    // then fails its TLS (say, someone else's host now), the next goes on at once.
    CompletableFuture<Void> turn = siblings.whenNoneSecuring();
    CompletableFuture<Channel> out = new CompletableFuture<>();
    turn.thenRun(() -> {
      if (out.isDone()) {
        return;
      }
      CompletableFuture<Channel> c = connect();
      out.whenComplete((x, e) -> {
        if (out.isCancelled()) {
          c.cancel(false); // stops a connect still waiting for its SYN's answer
        }
      });
      c.whenComplete((ch, e) -> {
        if (e != null) {
          out.completeExceptionally(e);
        } else if (!out.complete(ch)) {
          siblings.settled(); // abandoned meanwhile: it will never be secured
          ch.close();
        }
      });
    });
    out.whenComplete((c, e) -> {
      if (out.isCancelled()) {
        turn.cancel(false);
      }
    });
    return out;
  }

  @Override
  protected void secured(Channel reached, boolean success) {
    siblings.settled();
  }

  private CompletableFuture<Channel> connect() {
    CompletableFuture<Channel> f = new CompletableFuture<>();
    ChannelFuture cf = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
            (int) Math.max(1, Math.min(MAX_CONNECT_MILLIS, deadline.remainingMillis())))
        .handler(new ChannelInboundHandlerAdapter())
        .connect(Ips.socketAddress(target));
    cf.addListener(x -> {
      if (x.isSuccess()) {
        siblings.connected();
        if (!f.complete(cf.channel())) {
          siblings.settled();
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

  /** The direct TCP attempts to one listener: how many have connected and are securing. Thread-safe. */
  static final class Siblings {
    private int securing;
    private final java.util.List<CompletableFuture<Void>> waiting = new java.util.ArrayList<>();

    synchronized CompletableFuture<Void> whenNoneSecuring() {
      if (securing == 0) {
        return CompletableFuture.completedFuture(null);
      }
      CompletableFuture<Void> f = new CompletableFuture<>();
      waiting.add(f);
      return f;
    }

    synchronized void connected() {
      securing++;
    }

    void settled() {
      java.util.List<CompletableFuture<Void>> go;
      synchronized (this) {
        if (--securing > 0) {
          return;
        }
        go = new java.util.ArrayList<>(waiting);
        waiting.clear();
      }
      go.forEach(w -> w.complete(null));
    }
  }
}
