package org.q2q.server.internal.stun;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.server.StunStats;
import org.q2q.stun.StunCodec;
import org.q2q.stun.StunDrop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The presence server's UDP port: answers STUN Binding requests (RFC 8489) with the sender's
 * reflexive address and drops everything else. The answer rule is {@link StunCodec}'s (never more
 * than {@code max(request, 32/44 bytes)}), and {@link AnswerBudget} bounds answers per source
 * address and for the whole port, so the port is a poor reflector: at most 2.2x in bytes, a few
 * answers per second per victim address.
 *
 * <ul>
 *   <li>NIO datagram channels (one per served address) on their own single-thread event loop
 *       (answers are tiny; the gRPC loops stay untouched);
 *   <li>receive slots of {@link #RECEIVE_SLOT} bytes: a larger datagram arrives truncated and is
 *       dropped as malformed, so memory per read is fixed;
 *   <li>no error responses and no state per sender besides the fixed-size budget table.
 * </ul>
 * Safe for concurrent use (the handler runs on the port's event loop; counters are atomic).
 */
public final class StunPort implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StunPort.class);
  /** Receive buffer per datagram; anything longer is truncated by the kernel and dropped. */
  static final int RECEIVE_SLOT = 2048;

  private final EventLoopGroup group;
  /** One channel per local address served (see {@link #bind}); the first names the port. */
  private final List<Channel> channels;
  private final AnswerBudget budget;
  private final AtomicLong datagrams = new AtomicLong();
  private final AtomicLong answers = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong rateLimited = new AtomicLong();
  private final AtomicLong bytesIn = new AtomicLong();
  private final AtomicLong bytesAnsweredRequests = new AtomicLong();
  private final AtomicLong bytesOut = new AtomicLong();

  private StunPort(EventLoopGroup group, List<Channel> channels, AnswerBudget budget) {
    this.group = group;
    this.channels = channels;
    this.budget = budget;
  }

  /**
   * Binds {@code local} and starts answering.
   *
   * <p>A wildcard {@code local} is bound once per address of the machine's interfaces that are up
   * (as coturn does): a socket bound to the wildcard answers from whatever source address the
   * route picks, and a NAT drops an answer from another address than the one its client asked
   * (a server with two IPv4 addresses, or IPv6 temporary addresses). Addresses added later are not
   * served until a restart; addresses whose port is taken are skipped (all taken: an error).
   *
   * @param perSourcePerSecond answers per second per source address after its burst
   * @param perSourceBurst answers one source address may get at once
   * @param globalPerSecond answers per second for the whole port
   * @throws IOException if the port cannot be bound (message names the address)
   */
  public static StunPort bind(InetSocketAddress local, double perSourcePerSecond, int perSourceBurst,
      double globalPerSecond) throws IOException {
    AnswerBudget budget = new AnswerBudget(perSourcePerSecond, perSourceBurst, globalPerSecond,
        new SecureRandom().nextLong());
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("q2q-stun", true),
        NioIoHandler.newFactory());
    StunPort[] self = new StunPort[1];
    Bootstrap b = new Bootstrap().group(group)
        .channel(NioDatagramChannel.class)
        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_SLOT))
        .handler(new Reader(self));
    boolean wildcard = local.getAddress() == null || local.getAddress().isAnyLocalAddress();
    List<Channel> bound = new ArrayList<>();
    int port = local.getPort();
    Exception last = null;
    try {
      for (InetAddress a : wildcard ? interfaceAddresses() : List.of(local.getAddress())) {
        try {
          Channel ch = b.bind(new InetSocketAddress(a, port)).sync().channel();
          bound.add(ch);
          port = ((InetSocketAddress) ch.localAddress()).getPort();
        } catch (Exception e) {
          if (e instanceof InterruptedException) {
            throw e;
          }
          last = e;
          log.debug("stun {}: cannot bind {} ({}); skipping it", port, a, e.toString());
        }
      }
      if (bound.isEmpty()) {
        throw last != null ? last : new IOException("no interface address to bind");
      }
      self[0] = new StunPort(group, List.copyOf(bound), budget);
      log.info("stun {}: answering STUN Binding requests", bound.stream().map(Channel::localAddress).toList());
      return self[0];
    } catch (Exception e) {
      bound.forEach(Channel::close);
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IOException("cannot bind UDP " + local + ": " + e.getMessage(), e);
    }
  }

  /** Addresses of the interfaces that are up, loopback included, IPv4 first. */
  private static List<InetAddress> interfaceAddresses() throws SocketException {
    List<InetAddress> v4 = new ArrayList<>();
    List<InetAddress> v6 = new ArrayList<>();
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (ni.isUp()) {
        for (InetAddress a : Collections.list(ni.getInetAddresses())) {
          (a instanceof Inet4Address ? v4 : v6).add(a);
        }
      }
    }
    v4.addAll(v6);
    return v4;
  }

  /** The bound UDP address (its port, when bound with port 0). */
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) channels.get(0).localAddress();
  }

  /** Every address served (one per interface address when bound to the wildcard). */
  public List<InetSocketAddress> localAddresses() {
    return channels.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
  }

  /** Counters since bind. */
  public StunStats stats() {
    return new StunStats(datagrams.get(), answers.get(), dropped.get(), rateLimited.get(), bytesIn.get(),
        bytesAnsweredRequests.get(), bytesOut.get());
  }

  /** Runs on the event loop; {@code p} is released by the caller (SimpleChannelInboundHandler). */
  private void onDatagram(ChannelHandlerContext ctx, DatagramPacket p) {
    ByteBuf content = p.content();
    int size = content.readableBytes();
    datagrams.incrementAndGet();
    bytesIn.addAndGet(size);
    InetSocketAddress sender = p.sender();
    ByteBuffer in = content.nioBuffer(content.readerIndex(), size);
    StunDrop drop = StunCodec.checkBindingRequest(in);
    if (drop == null && (sender == null || sender.getAddress() == null || sender.getPort() == 0)) {
      drop = StunDrop.NOT_STUN; // nothing sensible to answer to
    }
    if (drop == null && !budget.tryTake(sender.getAddress(), System.nanoTime())) {
      drop = StunDrop.RATE_LIMITED;
    }
    if (drop != null) {
      (drop == StunDrop.RATE_LIMITED ? rateLimited : dropped).incrementAndGet();
      if (log.isDebugEnabled()) {
        log.debug("stun {} {}: dropped {} B: {}", txId(in, drop), sender, size, drop);
      }
      return;
    }
    ByteBuffer out = ByteBuffer.allocate(StunCodec.MAX_ANSWER_BYTES);
    int n = StunCodec.writeBindingSuccess(in, sender, out);
    answers.incrementAndGet();
    bytesAnsweredRequests.addAndGet(size);
    bytesOut.addAndGet(n);
    if (log.isDebugEnabled()) {
      log.debug("stun {} {}: answered {} B with {} B", txId(in, null), sender, size, n);
    }
    ctx.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(out.array(), 0, n), sender));
  }

  /** Hands datagrams to the port (one instance shared by its channels). */
  @ChannelHandler.Sharable
  private static final class Reader extends SimpleChannelInboundHandler<DatagramPacket> {
    private final StunPort[] port;

    Reader(StunPort[] port) {
      this.port = port;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
      StunPort s = port[0];
      if (s != null) { // null only while the other addresses are still being bound
        s.onDatagram(ctx, p);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("stun {}: socket error (ignored): {}", ctx.channel().localAddress(), cause.toString());
    }
  }

  /** The transaction id as hex for logs, or "-" when the datagram is not STUN-shaped. */
  private static String txId(ByteBuffer in, StunDrop drop) {
    if (drop == StunDrop.NOT_STUN || drop == StunDrop.TOO_SHORT) {
      return "-";
    }
    byte[] tx = new byte[StunCodec.TRANSACTION_ID_BYTES];
    in.get(in.position() + 8, tx);
    return HexFormat.of().formatHex(tx);
  }

  /** Closes the socket and its event loop; waits up to a second. Idempotent. */
  @Override
  public void close() {
    channels.forEach(c -> c.close().awaitUninterruptibly(1, TimeUnit.SECONDS));
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
  }

  @Override
  public String toString() {
    return "stun " + localAddresses();
  }
}
