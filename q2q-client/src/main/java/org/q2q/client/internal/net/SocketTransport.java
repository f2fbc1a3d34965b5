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
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.util.concurrent.ThreadFactory;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one rule for which Netty transport carries the client's TCP sockets, and the sockets that
 * match a group it is given (a socket runs only on loops of its own transport: code that creates
 * sockets on such a group asks {@link #of} instead of assuming).
 *
 * <p>The client's own groups are NIO unless the system property {@value #PROPERTY} asks for
 * {@code io_uring} (Linux 5.1+ where the kernel allows it; NIO otherwise, with a warning). Measured
 * through a forwarded port here (bench/forward-bench.sh, bench/results.md 2026-12-04 19:33), io_uring
 * cost a fifth less CPU per request (30-31 against 37-38 us) at the same request rate, but its p99
 * was higher (7.3-7.7 against 5.0-5.2 ms): NIO stays the default, io_uring is for CPU-bound hosts.
 *
 * <p>Linux's native epoll is not offered, although it also saves CPU: Netty 4.2.18's epoll loses a
 * socket whose input the peer has shut (half-close, as an HTTP/1.0 client does) once it later has
 * to wait to write. Its registration deletes the descriptor from epoll when no event is wanted but
 * keeps it marked as added, so the next wait for writability fails with ENOENT and closes the
 * socket, truncating the response (ForwardTunnelTest fails that way on epoll). Port forwarding
 * splices such sockets to virtual channels on the channels' loops, so their transport decides the
 * group's. A caller's own epoll group still works ({@link #of}): forwarded sockets then get loops
 * of the preferred transport. Revisit with a Netty whose {@code EpollIoHandler} re-adds a deleted
 * descriptor.
 */
public enum SocketTransport {
  NIO(NioIoHandler.class, NioIoHandler::newFactory, NioSocketChannel.class, NioServerSocketChannel.class),
  EPOLL(EpollIoHandler.class, EpollIoHandler::newFactory, EpollSocketChannel.class, EpollServerSocketChannel.class),
  IO_URING(IoUringIoHandler.class, IoUringIoHandler::newFactory, IoUringSocketChannel.class, IoUringServerSocketChannel.class);

  /** The system property that may choose the client's transport: {@code nio} (default) or {@code io_uring}. */
  public static final String PROPERTY = "q2q.socketTransport";

  private static final Logger log = LoggerFactory.getLogger(SocketTransport.class); // before PREFERRED: choose() logs

  private static final SocketTransport PREFERRED = choose(System.getProperty(PROPERTY));

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

  /**
   * The transport {@code property} (the value of {@value #PROPERTY}, or null) asks for, if this
   * machine can run it; NIO otherwise, saying why.
   */
  static SocketTransport choose(String property) {
    if (property == null || property.isBlank() || property.trim().equalsIgnoreCase("nio")) {
      return NIO;
    }
    if (!property.trim().equalsIgnoreCase("io_uring")) {
      log.warn("{}={} is not a transport this client offers (nio or io_uring); using nio", PROPERTY, property);
      return NIO;
    }
    if (!IoUring.isAvailable()) {
      Throwable why = IoUring.unavailabilityCause();
      log.warn("{}=io_uring: io_uring is not available here ({}); using nio", PROPERTY,
          why == null || why.getMessage() == null ? "no reason given" : why.getMessage());
      return NIO;
    }
    return IO_URING;
  }

  /** What the client's own groups and the sockets it splices use (NIO unless {@value #PROPERTY} says otherwise). */
  public static SocketTransport preferred() {
    return PREFERRED;
  }

  /** The transport whose sockets run on {@code group}'s loops (NIO for loops of none of these). */
  public static SocketTransport of(EventLoopGroup group) {
    EventLoop loop = group.next();
    for (SocketTransport t : values()) {
      if (t.runs(loop)) {
        return t;
      }
    }
    return NIO;
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
