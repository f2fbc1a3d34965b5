package org.q2q.client.internal.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Timeout(30)
class SocketTransportTest {

  /** A group given to the client decides its sockets' class: no socket lands on a loop it cannot run on. */
  @ParameterizedTest
  @EnumSource(SocketTransport.class)
  void aGroupsOwnTransportIsRecognisedAndItsSocketsCarryBytes(SocketTransport t) throws Exception {
    assumeTrue(available(t), t + " does not run on this machine");
    EventLoopGroup group = t.newGroup(1, new DefaultThreadFactory("transport-test", true));
    try {
      assertThat(SocketTransport.of(group)).isEqualTo(t);
      assertThat(t.runs(group.next())).isTrue();
      for (SocketTransport other : SocketTransport.values()) {
        assertThat(other.runs(group.next())).as(other.name()).isEqualTo(other == t);
      }

      Channel server = new ServerBootstrap().group(group).channel(SocketTransport.of(group).serverSocketChannelClass())
          .childHandler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
              ctx.writeAndFlush(msg); // echo
            }
          })
          .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
      CompletableFuture<String> echoed = new CompletableFuture<>();
      Channel client = new Bootstrap().group(group).channel(SocketTransport.of(group).socketChannel())
          .handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
              ByteBuf b = (ByteBuf) msg;
              echoed.complete(b.toString(StandardCharsets.US_ASCII));
              b.release();
            }
          })
          .connect(server.localAddress()).sync().channel();
      client.writeAndFlush(Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII));
      assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("hello");
      client.close().sync();
      server.close().sync();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /** {@code -Dq2q.socketTransport=...}: io_uring when asked and it runs here, NIO for anything else (never epoll). */
  @Test
  void thePropertyChoosesIoUringOnlyWhereItRunsAndOtherwiseNio() {
    assertThat(SocketTransport.choose(null)).isEqualTo(SocketTransport.NIO);
    assertThat(SocketTransport.choose("")).isEqualTo(SocketTransport.NIO);
    assertThat(SocketTransport.choose("NIO")).isEqualTo(SocketTransport.NIO);
    assertThat(SocketTransport.choose("epoll")).isEqualTo(SocketTransport.NIO); // loses half-closed sockets
    assertThat(SocketTransport.choose("kqueue")).isEqualTo(SocketTransport.NIO);
    assertThat(SocketTransport.choose("io_uring"))
        .isEqualTo(IoUring.isAvailable() ? SocketTransport.IO_URING : SocketTransport.NIO);
    assertThat(SocketTransport.choose(" IO_URING "))
        .isEqualTo(IoUring.isAvailable() ? SocketTransport.IO_URING : SocketTransport.NIO);
  }

  private static boolean available(SocketTransport t) {
    return switch (t) {
      case NIO -> true;
      case EPOLL -> Epoll.isAvailable();
      case IO_URING -> IoUring.isAvailable();
    };
  }
}
