package org.q2q.server.internal.relay;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.q2q.server.internal.presence.Caller;
import org.q2q.server.presence.RelayCaps;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay socket: a TCP port beside the gRPC one where clients relay without gRPC. A client
 * connects with TLS (ALPN {@value #ALPN}, its certificate), names its listener id and role
 * ({@link RelaySocket}); the two sides of one id are then spliced byte for byte ({@link
 * SocketSplice}) after both have left that TLS session, so the peers' own end-to-end TLS is all
 * that crosses and the relay stays blind.
 *
 * <p>Why a port of its own and not a second ALPN protocol on the gRPC port: grpc-netty picks its
 * protocol handler through an internal API ({@code InternalProtocolNegotiator}) and ties its
 * handshake timeout and connection bookkeeping to the HTTP/2 negotiation; a separate port needs
 * public Netty API only, and the port is announced in the Inbound answer's relay method.
 *
 * <p>All relay sockets run on one event loop thread, so the two sockets of a splice never hand
 * bytes across threads. Safe for concurrent use.
 */
public final class RelaySocketPort implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RelaySocketPort.class);
  /** The ALPN protocol name of the relay socket. */
  public static final String ALPN = "q2q-relay/1";

  private final EventLoopGroup group;
  private final Channel server;
  private final ChannelGroup children;
  private final int port;

  private RelaySocketPort(EventLoopGroup group, Channel server, ChannelGroup children) {
    this.group = group;
    this.server = server;
    this.children = children;
    this.port = ((InetSocketAddress) server.localAddress()).getPort();
  }

  /**
   * Listens on {@code at}.
   *
   * @param callers verifies a client's certificate chain (learning a foreign domain's CA first)
   * @throws IOException if the port cannot be bound
   */
  public static RelaySocketPort bind(InetSocketAddress at, SslContext tls, RelayRendezvous rendezvous,
      Function<List<X509Certificate>, CompletableFuture<Caller>> callers, RelayCaps caps) throws IOException {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("q2q-relay-socket", true),
        NioIoHandler.newFactory());
    ChannelGroup children = new DefaultChannelGroup(group.next());
    AtomicLong ids = new AtomicLong();
    int[] port = new int[1];
    ServerBootstrap b = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(caps.socketHighWaterBytes() / 2, caps.socketHighWaterBytes()))
        .childOption(ChannelOption.RCVBUF_ALLOCATOR,
            new AdaptiveRecvByteBufAllocator(4096, 64 << 10, RelayCaps.SOCKET_READ_BYTES))
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            children.add(ch);
            SslHandler ssl = tls.newHandler(ch.alloc());
            ssl.setHandshakeTimeout(rendezvous.joinTimeout().toMillis(), TimeUnit.MILLISECONDS);
            ch.pipeline().addLast(ssl);
            ch.pipeline().addLast(new RelaySocket("relay-socket-" + ids.incrementAndGet(), ch, rendezvous, callers,
                port[0]));
          }
        });
    try {
      Channel server = b.bind(at).sync().channel();
      port[0] = ((InetSocketAddress) server.localAddress()).getPort();
      log.info("relay socket listening on {}", server.localAddress());
      return new RelaySocketPort(group, server, children);
    } catch (Exception e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IOException("cannot listen for relay sockets on " + at + ": " + e.getMessage(), e);
    }
  }

  /** The TCP port listened on. */
  public int port() {
    return port;
  }

  /** Stops listening and closes every relay socket. */
  @Override
  public void close() {
    server.close().syncUninterruptibly();
    children.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
