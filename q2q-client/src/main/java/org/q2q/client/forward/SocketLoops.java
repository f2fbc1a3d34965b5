package org.q2q.client.forward;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.q2q.client.internal.net.SocketTransport;

/**
 * Picks the event loop for a TCP socket spliced to a virtual channel: the channel's own loop when it
 * can run the process's sockets ({@link SocketTransport#preferred()}; normally, since the client's
 * loops are of that transport), so both ends of a splice share one thread and no byte crosses
 * threads; otherwise a loop of {@code fallback} or of a shared private group. Safe for concurrent
 * use.
 */
final class SocketLoops {
  private SocketLoops() {}

  private static final SocketTransport SOCKETS = SocketTransport.preferred();

  /** Lazily created: only programs whose client runs on a group of another transport need it. */
  private static final class Shared {
    static final EventLoopGroup GROUP = SOCKETS.newGroup(
        Math.max(1, Runtime.getRuntime().availableProcessors()), new DefaultThreadFactory("q2q-forward", true));
  }

  /** The loop for a socket to be spliced with a channel running on {@code channelLoop}. */
  static EventLoop forChannel(EventLoop channelLoop, EventLoopGroup fallback) {
    if (SOCKETS.runs(channelLoop)) {
      return channelLoop;
    }
    return any(fallback);
  }

  /** A loop of {@code group} that runs our sockets, or of the shared group if it has none. */
  static EventLoop any(EventLoopGroup group) {
    if (group != null) {
      EventLoop l = group.next();
      if (SOCKETS.runs(l)) {
        return l;
      }
    }
    return Shared.GROUP.next();
  }

  /** A new, unregistered listening socket whose accepted sockets any loop of {@link #any} runs. */
  static ServerSocketChannel newServerSocket() {
    return SOCKETS.newServerSocketChannel();
  }

  /** A connect to a spliced target that gets no answer gives up after this. */
  static final int CONNECT_TIMEOUT_MILLIS = 10_000;

  /**
   * Dials {@code target} for a splice with the virtual channel {@code vc}: on the channel's loop,
   * autoRead off (the splice starts reading), half-close allowed.
   */
  static ChannelFuture dial(org.q2q.client.VirtualChannel vc, EventLoopGroup fallback, java.net.InetSocketAddress target) {
    return new io.netty.bootstrap.Bootstrap()
        .group(forChannel(vc.channel().eventLoop(), fallback))
        .channel(SOCKETS.socketChannel())
        .option(io.netty.channel.ChannelOption.AUTO_READ, false)
        .option(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, true)
        .option(io.netty.channel.ChannelOption.TCP_NODELAY, true)
        .option(io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
        .handler(new io.netty.channel.ChannelInboundHandlerAdapter())
        .connect(target);
  }

  /** Registers an accepted, not yet registered socket on {@code loop}. */
  static ChannelFuture register(Channel socket, EventLoop loop) {
    return loop.register(socket);
  }
}
