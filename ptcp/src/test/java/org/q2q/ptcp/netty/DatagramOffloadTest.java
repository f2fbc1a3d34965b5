package org.q2q.ptcp.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.SegmentedDatagramPacket;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DuplexChannel;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.ptcp.PtcpConfig;
import org.q2q.ptcp.PtcpEndpoint;

/**
 * Real UDP on 127.0.0.1: UDP GSO send batches, GRO reads split back into datagrams, the fallbacks
 * (kernel refusal, NIO), and datagrams of every size up to 65,507 bytes arriving whole.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DatagramOffloadTest {
  static final InetSocketAddress ANY_LOCAL = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  static EventLoopGroup group;
  static EventLoopGroup nio;

  @BeforeAll
  static void startGroups() {
    group = PtcpSocket.newEventLoopGroup(2);
    nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  }

  @AfterAll
  static void stopGroups() throws InterruptedException {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    nio.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  /** The routed datagram maximum (1452) on loopback: runs of same-size datagrams to batch. */
  static PtcpConfig.Builder routedSizes() {
    return PtcpConfig.builder().minRto(Duration.ofMillis(50)).initialRto(Duration.ofMillis(300))
        .connectTimeout(Duration.ofSeconds(3)).idleTimeout(Duration.ofSeconds(20)).linkMtuProbing(false);
  }

  static PtcpSocket bind(EventLoopGroup g, PtcpConfig config) throws InterruptedException {
    return PtcpSocket.bind(g, ANY_LOCAL, config).sync().getNow();
  }

  /** Sends {@code n} random bytes from client to server over PTCP and checks the server's digest. */
  static void transfer(PtcpSocket client, PtcpSocket server, int n) throws Exception {
    server.listen(LoopbackTest.halfClosable(() -> {
      try {
        return new LoopbackTest.HashingServer();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    })).sync();
    byte[] data = LoopbackTest.random(n, n);
    LoopbackTest.Collector answer = new LoopbackTest.Collector();
    Channel ch = client.connect(server.localAddress(), answer).sync().getNow();
    for (int off = 0; off < data.length; off += 1 << 20) {
      ch.writeAndFlush(Unpooled.wrappedBuffer(data, off, Math.min(1 << 20, data.length - off)));
    }
    ((DuplexChannel) ch).shutdownOutput();
    byte[] digest = answer.done.get(50, TimeUnit.SECONDS);
    System.out.println("client " + client.stats());
    System.out.println("server " + server.stats());
    assertThat(digest).isEqualTo(LoopbackTest.sha256(data));
  }

  static <T> T onLoop(PtcpSocket s, java.util.concurrent.Callable<T> c) throws Exception {
    return s.eventLoop().submit(c).get(5, TimeUnit.SECONDS);
  }

  @Test
  void bulkTransferLeavesInGsoBatchesAndArrivesInGroReads() throws Exception {
    PtcpSocket server = bind(group, routedSizes().build());
    PtcpSocket client = bind(group, routedSizes().build());
    try {
      transfer(client, server, 8 << 20);
      assumeTrue(client.isGso(), "no UDP GSO here");
      assertThat(onLoop(client, () -> client.writer().gsoBatches())).isPositive();
      assertThat(onLoop(client, () -> client.writer().gsoFailures())).isZero();
      assumeTrue(server.isGro(), "no UDP GRO here");
      // Loopback hands a GSO batch to a GRO socket in one piece: fewer kernel messages than datagrams.
      long messages = onLoop(server, () -> server.reads().messages());
      long datagrams = onLoop(server, server::datagramsIn);
      assertThat(messages).isLessThan(datagrams / 2);
    } finally {
      client.close().sync();
      server.close().sync();
    }
  }

  @Test
  void segmentationTheKernelRefusesFallsBackToSingleDatagrams() throws Exception {
    // 400-byte datagrams, a 400-segment first flight and no segment cap: the first batch holds 163
    // segments, more than the kernel's UDP_MAX_SEGMENTS (64, or 128 on newer kernels), so sendmmsg
    // fails with EINVAL.
    PtcpConfig small = routedSizes().datagramSizes(400, 400, 128).mtuProbing(false).pacing(false)
        .initialWindowSegments(400).build();
    PtcpSocket server = bind(group, small);
    PtcpSocket client = bind(group, small);
    try {
      assumeTrue(client.isGso(), "no UDP GSO here");
      onLoop(client, () -> {
        client.writer().maxSegments(Integer.MAX_VALUE);
        return null;
      });
      transfer(client, server, 4 << 20);
      assertThat(onLoop(client, () -> client.writer().gsoFailures())).isPositive();
      assertThat(client.isGso()).isFalse();
    } finally {
      client.close().sync();
      server.close().sync();
    }
  }

  @Test
  void nioSocketsTalkToEpollSocketsWithoutOffloads() throws Exception {
    PtcpSocket plain = bind(nio, routedSizes().build());
    PtcpSocket fast = bind(group, routedSizes().build());
    try {
      assertThat(plain.isEpoll()).isFalse();
      assertThat(plain.isGso()).isFalse();
      assertThat(plain.isGro()).isFalse();
      transfer(fast, plain, 4 << 20); // GSO batches into a socket without GRO: the kernel cuts them
      transfer(plain, fast, 4 << 20);
    } finally {
      plain.close().sync();
      fast.close().sync();
    }
  }

  @Test
  void aGsoBatchFromAnotherSenderReachesTheRawHandlerAsSingleDatagrams() throws Exception {
    assumeTrue(SegmentedDatagramPacket.isSupported(), "no UDP GSO here");
    PtcpSocket server = bind(group, routedSizes().build());
    LinkedBlockingQueue<byte[]> got = new LinkedBlockingQueue<>();
    server.rawDatagramHandler((sender, content) -> got.add(copy(content)));
    Channel raw = new Bootstrap().group(group).channel(EpollDatagramChannel.class)
        .handler(new ChannelInboundHandlerAdapter()).bind(ANY_LOCAL).sync().channel();
    try {
      byte[] data = LoopbackTest.random(20 * 1000 + 500, 3);
      for (int i = 0; i < data.length; i += 1000) {
        data[i] = 'x'; // not PTCP's magic byte
      }
      raw.writeAndFlush(new SegmentedDatagramPacket(Unpooled.wrappedBuffer(data), 1000, server.localAddress())).sync();
      for (int off = 0; off < data.length; off += 1000) {
        byte[] d = got.poll(5, TimeUnit.SECONDS);
        assertThat(d).isEqualTo(Arrays.copyOfRange(data, off, Math.min(data.length, off + 1000)));
      }
      assertThat(got.poll(200, TimeUnit.MILLISECONDS)).isNull();
    } finally {
      raw.close().sync();
      server.close().sync();
    }
  }

  @Test
  void datagramsUpToTheLargestUdpPayloadArriveWholeOnEpoll() throws Exception {
    largestDatagramsArriveWhole(group);
  }

  @Test
  void datagramsUpToTheLargestUdpPayloadArriveWholeOnNio() throws Exception {
    largestDatagramsArriveWhole(nio);
  }

  /** 65,000 and 65,507 bytes (the IPv4 maximum) from socket to socket and to and from a plain one. */
  static void largestDatagramsArriveWhole(EventLoopGroup g) throws Exception {
    PtcpSocket a = bind(g, routedSizes().build());
    PtcpSocket b = bind(g, routedSizes().build());
    LinkedBlockingQueue<byte[]> got = new LinkedBlockingQueue<>();
    b.rawDatagramHandler((sender, content) -> got.add(copy(content)));
    try (DatagramSocket plain = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      plain.setSoTimeout(5000);
      plain.setReceiveBufferSize(1 << 20);
      for (int size : new int[] {65_000, PtcpEndpoint.MAX_UDP_PAYLOAD}) {
        byte[] data = LoopbackTest.random(size, size);
        data[0] = 'x';
        a.sendDatagram(b.localAddress(), Unpooled.wrappedBuffer(data)).sync();
        assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(data);

        plain.send(new DatagramPacket(data, data.length, b.localAddress()));
        assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(data);

        a.sendDatagram((InetSocketAddress) plain.getLocalSocketAddress(), Unpooled.wrappedBuffer(data)).sync();
        DatagramPacket p = new DatagramPacket(new byte[1 << 16], 1 << 16);
        plain.receive(p);
        assertThat(Arrays.copyOf(p.getData(), p.getLength())).isEqualTo(data);
      }
    } finally {
      a.close().sync();
      b.close().sync();
    }
  }

  static byte[] copy(io.netty.buffer.ByteBuf content) {
    byte[] a = new byte[content.readableBytes()];
    content.getBytes(content.readerIndex(), a);
    return a;
  }
}
