package org.q2q.ptcp.netty;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
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

/** Real UDP on 127.0.0.1: datagrams of every size up to 65,507 bytes arrive whole, epoll and NIO. */
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

  /** The routed datagram maximum (1452) on loopback. */
  static PtcpConfig.Builder routedSizes() {
    return PtcpConfig.builder().minRto(Duration.ofMillis(50)).initialRto(Duration.ofMillis(300))
        .connectTimeout(Duration.ofSeconds(3)).idleTimeout(Duration.ofSeconds(20)).linkMtuProbing(false);
  }

  static PtcpSocket bind(EventLoopGroup g, PtcpConfig config) throws InterruptedException {
    return PtcpSocket.bind(g, ANY_LOCAL, config).sync().getNow();
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
