package org.q2q.client.internal.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.client.ServerAddress;

/** The relay socket's reach phase on loopback: an unreachable port falls back to the Relay RPC, nothing else does. */
@Timeout(30)
class RelaySocketPlanTest {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @AfterEach
  void stop() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort(); // closed again: connections are refused
    }
  }

  private RelaySocketPlan<Object> plan(int port, CompletableFuture<Channel> fallback, AtomicInteger fallbacks)
      throws Exception {
    io.netty.handler.ssl.SslContext tls = SslContextBuilder.forClient().build();
    return new RelaySocketPlan<>(group.next(), new ServerAddress("127.0.0.1", 1), port,
        () -> tls, "some-id", () -> {
          fallbacks.incrementAndGet();
          return fallback;
        }, (ch, route) -> CompletableFuture.completedFuture(ch));
  }

  @Test
  void anUnreachableSocketFallsBackToTheRelayRpc() throws Exception {
    AtomicInteger fallbacks = new AtomicInteger();
    EmbeddedChannel rpc = new EmbeddedChannel();
    Channel reached = plan(closedPort(), CompletableFuture.completedFuture(rpc), fallbacks).reach()
        .get(10, TimeUnit.SECONDS);
    assertThat(reached).isSameAs(rpc);
    assertThat(fallbacks).hasValue(1);
  }

  @Test
  void aServerThatClosesTheConnectionIsAFailureNotAFallback() throws Exception {
    AtomicInteger fallbacks = new AtomicInteger();
    try (ServerSocket s = new ServerSocket(0)) {
      CompletableFuture<Channel> f = plan(s.getLocalPort(), new CompletableFuture<>(), fallbacks).reach();
      s.accept().close(); // reached, then gone before any answer: the listener id may be used up
      assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
          .hasMessageContaining("relay");
    }
    assertThat(fallbacks).hasValue(0);
  }
}
