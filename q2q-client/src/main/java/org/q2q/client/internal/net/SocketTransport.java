package org.q2q.client.internal.net;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.concurrent.ThreadFactory;
import java.util.function.Supplier;

/**
 * The one rule for which Netty transport carries the client's TCP sockets, and the sockets that
 * match a group it is given (a socket runs only on loops of its own transport: code that creates
 * sockets on such a group asks {@link #of} instead of assuming).
 *
 * <p>The client's own groups are NIO, not Linux's native epoll, although epoll cost a tenth to a
 * fifth less CPU per request through a forwarded port here (bench/forward-bench.sh, 37-43 against
 * 40-53 us of q2q CPU per request; bench/results.md, 2026-12-04): Netty 4.2.18's epoll loses a
 * socket whose input the peer has shut (half-close, as an HTTP/1.0 client does) once it later has
 * to wait to write. Its registration deletes the descriptor from epoll when no event is wanted but
 * keeps it marked as added, so the next wait for writability fails with ENOENT and closes the
 * socket, truncating the response (ForwardTunnelTest fails that way on epoll). Port forwarding
 * splices such sockets to virtual channels on the channels' loops, so their transport decides the
 * group's. Revisit with a Netty whose {@code EpollIoHandler} re-adds a deleted descriptor.
 */
public enum SocketTransport {
  NIO(NioIoHandler.class, NioIoHandler::newFactory, NioSocketChannel.class, NioServerSocketChannel.class),
  EPOLL(EpollIoHandler.class, EpollIoHandler::newFactory, EpollSocketChannel.class, EpollServerSocketChannel.class);

  private static final SocketTransport PREFERRED = NIO;

  private final Class<? extends IoHandler> ioType;
  private final Supplier<IoHandlerFactory> ioHandlers;
  private final Class<? extends SocketChannel> socketChannel;
  private final Class<? extends ServerSocketChannel> serverSocketChannelClass;

  SocketTransport(Class<? extends IoHandler> ioType, Supplier<IoHandlerFactory> ioHandlers,
      Class<? extends SocketChannel> socketChannel, Class<? extends ServerSocketChannel> serverSocketChannelClass) {
    this.ioType = ioType;
    this.ioHandlers = ioHandlers;
    this.socketChannel = socketChannel;
    this.serverSocketChannelClass = serverSocketChannelClass;
  }

  /** What the client's own groups and the sockets it splices use (NIO, see above). */
  public static SocketTransport preferred() {
    return PREFERRED;
  }

  /** The transport whose sockets run on {@code group}'s loops (NIO unless they are epoll loops). */
  public static SocketTransport of(EventLoopGroup group) {
    return EPOLL.runs(group.next()) ? EPOLL : NIO;
  }

  /** Whether sockets of this transport can be registered on {@code loop}. */
  public boolean runs(EventLoop loop) {
    return loop instanceof IoEventLoop l && l.isIoType(ioType);
  }

  /** A new group of {@code threads} loops of this transport. */
  public EventLoopGroup newGroup(int threads, ThreadFactory threadFactory) {
    return new MultiThreadIoEventLoopGroup(threads, threadFactory, ioHandlers.get());
  }

  /** The client socket class, for a {@code Bootstrap} or gRPC's {@code channelType}. */
  public Class<? extends SocketChannel> socketChannel() {
    return socketChannel;
  }

  /** The server socket class, for a {@code ServerBootstrap}. */
  public Class<? extends ServerSocketChannel> serverSocketChannelClass() {
    return serverSocketChannelClass;
  }

  /** A new, unregistered listening socket. */
  public ServerSocketChannel newServerSocketChannel() {
    return new ReflectiveChannelFactory<>(serverSocketChannelClass).newChannel();
  }
}
