package org.q2q.client.internal.punch;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.client.internal.punch.HolePunch.Role;
import org.q2q.ptcp.PtcpConfig;
import org.q2q.ptcp.netty.PtcpSocket;
import org.q2q.server.LoopbackServer;

/**
 * The one UDP socket over real loopback UDP: STUN against a real presence server, hole punching
 * between two sockets, then PTCP on the path found, with strays thrown in.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PunchSocketTest {
  private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  private static EventLoopGroup group;
  private PtcpSocket a;
  private PtcpSocket b;
  private PunchSocket pa;
  private PunchSocket pb;

  @BeforeAll
  static void startGroup() {
    group = PtcpSocket.newEventLoopGroup(2);
  }

  @AfterAll
  static void stopGroup() throws InterruptedException {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  @BeforeEach
  void bind() throws Exception {
    a = PtcpSocket.bind(group, LOOPBACK, PtcpConfig.defaults()).sync().getNow();
    b = PtcpSocket.bind(group, LOOPBACK, PtcpConfig.defaults()).sync().getNow();
    pa = PunchSocket.on(a);
    pb = PunchSocket.on(b);
  }

  @AfterEach
  void close() throws Exception {
    a.close().sync();
    b.close().sync();
  }

  @Test
  void theServerTellsEachSocketItsReflexiveAddress() throws Exception {
    try (LoopbackServer server = LoopbackServer.start()) {
      InetSocketAddress stun = new InetSocketAddress("127.0.0.1", server.server().udpPort());
      assertThat(pa.reflexiveAddress(stun, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).isEqualTo(a.localAddress());
      assertThat(pb.reflexiveAddress(stun, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).isEqualTo(b.localAddress());
    }
  }

  @Test
  void aServerWithoutUdpIsAClearTimeout() throws Exception {
    try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      long t0 = System.nanoTime();
      CompletableFuture<InetSocketAddress> f =
          pa.reflexiveAddress((InetSocketAddress) silent.getLocalSocketAddress(), Duration.ofMillis(800));
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> f.get(10, TimeUnit.SECONDS));
      assertThat(e.getCause()).isInstanceOf(IOException.class).hasMessageContaining("no STUN answer");
      assertThat((System.nanoTime() - t0) / 1e6).isBetween(700.0, 3000.0);
      // it re-sent: 0, 250, 750 ms
      int got = 0;
      silent.setSoTimeout(200);
      try {
        while (true) {
          silent.receive(new DatagramPacket(new byte[100], 100));
          got++;
        }
      } catch (java.net.SocketTimeoutException done) {
        // drained
      }
      assertThat(got).isBetween(2, 4);
    }
  }

  @Test
  void twoSocketsPunchAndCarryPtcpOnThePathWhileStraysFly() throws Exception {
    b.listen(new ChannelInboundHandlerAdapter() { // echo
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ctx.writeAndFlush(msg);
      }
    });
    // strays on both sockets: garbage, Vertex's NAT!, a STUN answer nobody asked for, a probe of another punch
    try (DatagramSocket noise = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      HolePunch other = new HolePunch(Role.CONNECTOR, new PunchKey("someone else"), List.of(a.localAddress()), List.of(),
          HolePunch.Schedule.DEFAULT, new Random(1));
      other.start(0);
      byte[] foreignProbe = other.pollTransmit().datagram();
      byte[] garbage = new byte[300];
      new Random(2).nextBytes(garbage);
      for (byte[] d : List.of(garbage, "NAT!".getBytes(StandardCharsets.US_ASCII), foreignProbe,
          org.q2q.stun.StunCodec.bindingRequest(new byte[12]))) {
        noise.send(new DatagramPacket(d, d.length, a.localAddress()));
        noise.send(new DatagramPacket(d, d.length, b.localAddress()));
      }
      String id = "AAAAAAAAAAAAAAAAAAAAAA";
      List<HolePunch.Event> events = new CopyOnWriteArrayList<>();
      long t0 = System.nanoTime();
      CompletableFuture<InetSocketAddress> listener =
          pb.punch(Role.LISTENER, id, List.of(a.localAddress()), List.of(b.localAddress()), HolePunch.Schedule.DEFAULT, null);
      CompletableFuture<InetSocketAddress> connector =
          pa.punch(Role.CONNECTOR, id, List.of(b.localAddress()), List.of(a.localAddress()), HolePunch.Schedule.DEFAULT,
              events::add);
      assertThat(connector.get(5, TimeUnit.SECONDS)).isEqualTo(b.localAddress());
      assertThat(listener.get(5, TimeUnit.SECONDS)).isEqualTo(a.localAddress());
      double punchMs = (System.nanoTime() - t0) / 1e6;
      assertThat(events).anyMatch(e -> e.type() == HolePunch.Event.Type.PUNCHED);

      LinkedBlockingQueue<String> echoed = new LinkedBlockingQueue<>();
      Channel ch = a.connect(connector.get(), new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          ByteBuf buf = (ByteBuf) msg;
          echoed.add(buf.toString(StandardCharsets.UTF_8));
          buf.release();
        }
      }).sync().getNow();
      double connectedMs = (System.nanoTime() - t0) / 1e6;
      ch.writeAndFlush(Unpooled.copiedBuffer("hello through the hole", StandardCharsets.UTF_8));
      assertThat(echoed.poll(5, TimeUnit.SECONDS)).isEqualTo("hello through the hole");
      System.out.printf("loopback: punched in %.1f ms, PTCP connected after %.1f ms%n", punchMs, connectedMs);
      assertThat(pa.strays()).isGreaterThanOrEqualTo(3);
      assertThat(pb.strays()).isGreaterThanOrEqualTo(3);
      ch.close().sync();
    }
  }

  @Test
  void punchingTowardSilenceFailsWithinItsBoundNamingTheCandidates() throws Exception {
    try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      InetSocketAddress nobody = (InetSocketAddress) silent.getLocalSocketAddress();
      long t0 = System.nanoTime();
      CompletableFuture<InetSocketAddress> f = pa.punch(Role.CONNECTOR, "BBBBBBBBBBBBBBBBBBBBBB", List.of(nobody),
          List.of(), new HolePunch.Schedule(3, Duration.ofMillis(100), Duration.ofMillis(100)), null);
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> f.get(10, TimeUnit.SECONDS));
      double ms = (System.nanoTime() - t0) / 1e6;
      assertThat(e.getCause()).isInstanceOf(IOException.class).hasMessageContaining(nobody.toString())
          .hasMessageContaining("3 rounds");
      assertThat(ms).isBetween(250.0, 2000.0);
      assertThat(pa.punches()).isZero();
    }
  }

  @Test
  void aSecondPunchForTheSameIdOrWithoutCandidatesIsRefused() throws Exception {
    CompletableFuture<InetSocketAddress> first = pa.punch(Role.CONNECTOR, "CCCCCCCCCCCCCCCCCCCCCC",
        List.of(b.localAddress()), List.of(), HolePunch.Schedule.DEFAULT, null);
    CompletableFuture<InetSocketAddress> second = pa.punch(Role.CONNECTOR, "CCCCCCCCCCCCCCCCCCCCCC",
        List.of(b.localAddress()), List.of(), HolePunch.Schedule.DEFAULT, null);
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> second.get(5, TimeUnit.SECONDS));
    assertThat(e.getCause()).hasMessageContaining("already running");
    CompletableFuture<InetSocketAddress> none = pa.punch(Role.CONNECTOR, "DDDDDDDDDDDDDDDDDDDDDD",
        List.of(), List.of(), HolePunch.Schedule.DEFAULT, null);
    e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> none.get(5, TimeUnit.SECONDS));
    assertThat(e.getCause()).hasMessageContaining("no UDP candidates");
    first.cancel(false);
  }
}
