package org.q2q.client.internal.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Timeout(30)
class SocketTransportTest {

  /** A group given to the client decides its sockets' class: no socket lands on a loop it cannot run on. */
  @ParameterizedTest
  @EnumSource(SocketTransport.class)
  void aGroupsOwnTransportIsRecognisedAndItsSocketsCarryBytes(SocketTransport t) throws Exception {
    if (t == SocketTransport.EPOLL && !Epoll.isAvailable()) {
      return;
    }
    EventLoopGroup group = t.newGroup(1, new DefaultThreadFactory("transport-test", true));
    try {
      assertThat(SocketTransport.of(group)).isEqualTo(t);
      assertThat(t.runs(group.next())).isTrue();
      SocketTransport other = t == SocketTransport.NIO ? SocketTransport.EPOLL : SocketTransport.NIO;
      assertThat(other.runs(group.next())).isFalse();

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
}
