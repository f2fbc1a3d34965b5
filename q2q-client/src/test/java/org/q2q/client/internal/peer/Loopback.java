package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Real TCP over 127.0.0.1: a server socket whose accepted connection gets an acceptor-side peer
 * session and a client socket that starts the initiator side. Close it to release everything.
 */
final class Loopback implements AutoCloseable {
  final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
  private Channel server;
  /** The acceptor-side transport's start result. */
  final CompletableFuture<Future<PeerSession>> acceptorStart = new CompletableFuture<>();
  /** The raw accepted socket channel (for tests that tamper with the transport). */
  final CompletableFuture<SocketChannel> acceptedSocket = new CompletableFuture<>();

  /**
   * Listens; each accepted socket gets {@code prepare} run on it (may be null), then a session
   * with {@code acceptorCfg} (or nothing if null, for scripted peers).
   */
  Loopback listen(PeerSessionConfig acceptorCfg, Consumer<SocketChannel> prepare) throws InterruptedException {
    server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (prepare != null) {
              prepare.accept(ch);
            }
            acceptedSocket.complete(ch);
            if (acceptorCfg != null) {
              acceptorStart.complete(PeerSession.start(ch, acceptorCfg));
            }
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0))
        .sync()
        .channel();
    return this;
  }

  int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Connects a plain socket with {@code handler} (may be null). */
  Channel connect(ChannelHandler handler) throws InterruptedException {
    return new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .handler(handler != null ? handler : new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {}
        })
        .connect(new InetSocketAddress("127.0.0.1", port()))
        .sync()
        .channel();
  }

  /** Connects and starts the initiator session; does not wait. */
  Future<PeerSession> startInitiator(PeerSessionConfig cfg) throws InterruptedException {
    return PeerSession.start(connect(null), cfg);
  }

  /** Both sessions of one connection, established. */
  record Pair(PeerSession initiator, PeerSession acceptor) {}

  Pair pair(PeerSessionConfig initiatorCfg) throws Exception {
    Future<PeerSession> i = startInitiator(initiatorCfg);
    PeerSession init = i.get(10, TimeUnit.SECONDS);
    PeerSession acc = acceptorStart.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS);
    assertThat(init.isOpen()).isTrue();
    return new Pair(init, acc);
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
