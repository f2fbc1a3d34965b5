package org.q2q.ptcp.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollDatagramChannelConfig;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.q2q.ptcp.PtcpConfig;
import org.q2q.ptcp.PtcpConnection;
import org.q2q.ptcp.PtcpEndpoint;
import org.q2q.ptcp.PtcpEvent;
import org.q2q.ptcp.PtcpException;
import org.q2q.ptcp.PtcpErrorCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A UDP socket speaking PTCP: a Netty {@link DatagramChannel} (epoll where available, NIO otherwise)
 * whose event loop drives a sans-IO {@link PtcpEndpoint}. Each PTCP connection is a child
 * {@link Channel} ({@link PtcpChannel}); the same socket also sends and receives raw datagrams.
 *
 * <ul>
 *   <li>{@link #bind} opens the socket; {@link #listen} accepts inbound connections, initialising each
 *       child channel with a handler (like {@code ServerBootstrap.childHandler});
 *   <li>{@link #connect} opens an outbound connection and completes with its active channel;
 *       {@link #connectStream} gives a blocking {@link PtcpStream} instead;
 *   <li>{@link #sendDatagram} and {@link #rawDatagramHandler} share the socket with other protocols.
 * </ul>
 *
 * <p>The pump (quinn's {@code ConnectionDriver}): after each read burst, write or timer it fires due
 * timers, dispatches core events to the child channels, drains {@code pollTransmit} into the datagram
 * channel through a {@link DatagramWriter} (UDP GSO batches on epoll), flushes once, loops until there
 * is no work, and re-arms one timer from {@code pollTimeout}. Public methods are safe for concurrent
 * use: they submit to the event loop; the core is only touched there.
 *
 * <p>Receiving: every read slot holds {@link #RECEIVE_SLOT} bytes, so any UDP datagram (up to 65,507
 * bytes, e.g. on loopback with link-MTU probing) arrives whole, and on epoll the socket asks for UDP
 * GRO: the kernel hands a run of same-size datagrams from one sender as one coalesced read (one
 * recvmmsg slot), which Netty splits back into one {@link DatagramPacket} per datagram before the
 * pipeline sees them; the core and the raw handler only ever see single datagrams.
 * {@code -Dptcp.gso=false} and {@code -Dptcp.gro=false} turn either offload off.
 */
public final class PtcpSocket {
  private static final Logger log = LoggerFactory.getLogger(PtcpSocket.class);
  /** Socket send/receive buffer size requested from the kernel, bytes. */
  public static final int DEFAULT_SOCKET_BUFFER = 8 << 20;
  /**
   * Bytes per receive slot: the largest UDP payload (65,507) or GRO-coalesced read (64 KiB) fits, so
   * nothing is truncated.
   */
  static final int RECEIVE_SLOT = 64 << 10;
  /**
   * Slots per epoll read (one recvmmsg): 16 x 64 KiB = 1 MiB, the largest buffer Netty's adaptive
   * allocator pools; with GRO each slot carries up to 64 KiB of datagrams.
   */
  static final int RECEIVE_SLOTS = 16;
  /** {@code -Dptcp.gso=false} sends one datagram per packet even where UDP GSO works (A/B runs, debugging). */
  static final boolean GSO_ALLOWED = !"false".equals(System.getProperty("ptcp.gso"));
  /** {@code -Dptcp.gro=false} leaves UDP GRO off (A/B runs, debugging). */
  static final boolean GRO_ALLOWED = !"false".equals(System.getProperty("ptcp.gro"));

  private final DatagramChannel udp;
  private final EventLoop loop;
  private final PtcpEndpoint endpoint;
  private final PtcpConfig config;
  private final long epoch = System.nanoTime();
  private final DatagramWriter writer;
  /** Whether the kernel coalesces received datagrams (UDP_GRO is on). */
  private final boolean gro;
  /** The epoll channel's receive buffers (their counters), or null on NIO. */
  private final DatagramReadAllocator reads;
  /** Initialiser for accepted child channels; null when not listening. Event-loop only. */
  private ChannelHandler childHandler;
  private volatile RawDatagramHandler rawHandler;
  /** Event-loop only. */
  private boolean pumping;
  private boolean pumpAgain;
  private boolean pumpScheduled;
  private ScheduledFuture<?> timer;
  private long timerDeadline = Long.MAX_VALUE;
  /** Counters for {@link #stats()}; event-loop only. */
  private long pumps;
  private long timerFires;
  private long datagramsIn;
  private long readBursts;
  private long flushes;

  private final Runnable pumpTask = () -> {
    pumpScheduled = false;
    pump();
  };

  private PtcpSocket(DatagramChannel udp, PtcpConfig config) {
    this.udp = udp;
    this.loop = udp.eventLoop();
    this.config = config;
    this.endpoint = new PtcpEndpoint(config, new SecureRandom());
    endpoint.linkMtu(new LinkMtu());
    this.writer = new DatagramWriter(udp, "PTCP socket " + udp.localAddress());
    this.gro = enableGro(udp);
    this.reads = udp.config().getRecvByteBufAllocator() instanceof DatagramReadAllocator r ? r : null;
  }

  /**
   * Turns UDP_GRO on where the kernel has it (Linux 5.0+); returns whether it is on.
   *
   * <p>Netty 4.2.18 splits a coalesced read into one packet per datagram only when it sees the
   * kernel's UDP_GRO control message, and its recvmmsg (our batched read) asks for control messages
   * only while IP_RECVORIGDSTADDR is on; without that a coalesced read would reach the pipeline as
   * one oversized datagram. So both go on together, or neither.
   */
  private static boolean enableGro(DatagramChannel udp) {
    if (!GRO_ALLOWED || !(udp.config() instanceof EpollDatagramChannelConfig c)) {
      return false;
    }
    try {
      c.setIpRecvOrigDestAddr(true);
      c.setUdpGro(true);
      return true;
    } catch (ChannelException e) {
      log.debug("PTCP socket {}: no UDP GRO ({})", udp.localAddress(), e.toString());
      try {
        c.setUdpGro(false);
        c.setIpRecvOrigDestAddr(false);
      } catch (ChannelException ignored) {
        // never on
      }
      return false;
    }
  }

  /**
   * Creates an event-loop group suited to PTCP sockets: epoll when available, NIO otherwise.
   */
  public static EventLoopGroup newEventLoopGroup(int threads) {
    return new MultiThreadIoEventLoopGroup(threads,
        Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  /** Binds a PTCP socket with {@link #DEFAULT_SOCKET_BUFFER}; see {@link #bind(EventLoopGroup, InetSocketAddress, PtcpConfig, int)}. */
  public static Future<PtcpSocket> bind(EventLoopGroup group, InetSocketAddress local, PtcpConfig config) {
    return bind(group, local, config, DEFAULT_SOCKET_BUFFER);
  }

  /**
   * Binds a UDP socket on {@code local} (port 0 picks one) in {@code group} and starts the PTCP pump.
   * The returned future completes once bound. The group may be epoll or NIO based.
   */
  public static Future<PtcpSocket> bind(EventLoopGroup group, InetSocketAddress local, PtcpConfig config,
      int socketBufferSize) {
    Promise<PtcpSocket> result = group.next().newPromise();
    boolean epoll = Epoll.isAvailable();
    ChannelFuture f = bootstrap(group, socketBufferSize, epoll).bind(local);
    f.addListener(x -> {
      if (x.isSuccess()) {
        finishBind(f.channel(), config, result);
      } else if (epoll) {
        ChannelFuture g = bootstrap(group, socketBufferSize, false).bind(local);
        g.addListener(y -> {
          if (y.isSuccess()) {
            finishBind(g.channel(), config, result);
          } else {
            result.tryFailure(y.cause());
          }
        });
      } else {
        result.tryFailure(x.cause());
      }
    });
    return result;
  }

  private static Bootstrap bootstrap(EventLoopGroup group, int bufferSize, boolean epoll) {
    Bootstrap b = new Bootstrap().group(group)
        .option(ChannelOption.SO_RCVBUF, bufferSize)
        .option(ChannelOption.SO_SNDBUF, bufferSize)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
        .handler(new ChannelInboundHandlerAdapter());
    if (epoll) {
      b.channel(EpollDatagramChannel.class)
          .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, RECEIVE_SLOT)
          .option(ChannelOption.RCVBUF_ALLOCATOR, new DatagramReadAllocator(RECEIVE_SLOT, RECEIVE_SLOTS));
    } else {
      b.channel(NioDatagramChannel.class)
          .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_SLOT));
    }
    return b;
  }

  private static void finishBind(Channel ch, PtcpConfig config, Promise<PtcpSocket> result) {
    ch.eventLoop().execute(() -> {
      PtcpSocket s = new PtcpSocket((DatagramChannel) ch, config);
      ch.pipeline().addLast("ptcp", s.new Pump());
      ch.closeFuture().addListener(x -> s.onUdpClosed());
      result.trySuccess(s);
    });
  }

  // ---- getters ----

  /** The bound UDP address. */
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) udp.localAddress();
  }

  /** The event loop driving this socket and all its connections. */
  public EventLoop eventLoop() {
    return loop;
  }

  /** The underlying datagram channel (parent of every connection channel). */
  public DatagramChannel datagramChannel() {
    return udp;
  }

  /** The PTCP configuration. */
  public PtcpConfig config() {
    return config;
  }

  /**
   * A one-line summary of the pump's counters (for benchmarks and logs). {@code in} and {@code out}
   * count datagrams; on epoll {@code inMessages} counts what the kernel handed over (a GRO batch is
   * one) and {@code groLeaksFixed} the read buffers saved from netty#17493 (see {@link
   * DatagramReadAllocator}); {@code gsoBatches} counts the segmented sends that carried {@code
   * gsoSegments} datagrams (the rest left one per packet), {@code gsoFailures} the segmented sends
   * the kernel refused (resent unsegmented); {@code gso} and {@code gro} tell whether the offloads
   * are on now.
   */
  public String stats() {
    return "pumps=" + pumps + " timerFires=" + timerFires + " in=" + datagramsIn
        + (reads == null ? "" : " inMessages=" + reads.messages()) + " out=" + writer.datagrams()
        + " readBursts=" + readBursts + " flushes=" + flushes + " gsoBatches=" + writer.gsoBatches()
        + " gsoSegments=" + writer.gsoSegments() + " gsoFailures=" + writer.gsoFailures()
        + (reads == null ? "" : " groLeaksFixed=" + reads.leaksFixed())
        + " epoll=" + isEpoll() + " gso=" + writer.gso() + " gro=" + gro;
  }

  /** Whether datagrams leave in UDP GSO batches (epoll with UDP_SEGMENT, no refusal seen). */
  public boolean isGso() {
    return writer.gso();
  }

  /** Whether the kernel coalesces received datagrams (UDP_GRO). */
  public boolean isGro() {
    return gro;
  }

  /** The datagram writer (tests read its counters and set its limits). Event-loop only. */
  DatagramWriter writer() {
    return writer;
  }

  /** The epoll receive buffers (tests read their counters), or null on NIO. Event-loop only. */
  DatagramReadAllocator reads() {
    return reads;
  }

  /** Datagrams received (split GRO batches count each datagram). Event-loop only. */
  long datagramsIn() {
    return datagramsIn;
  }

  /** Whether the datagram channel is epoll-based. */
  public boolean isEpoll() {
    return udp instanceof EpollDatagramChannel;
  }

  /** Monotonic time for the core, ns since this socket was created. */
  long now() {
    return System.nanoTime() - epoch;
  }

  PtcpEndpoint endpoint() {
    return endpoint;
  }

  // ---- commands ----

  /**
   * Accepts inbound connections: each accepted {@link PtcpChannel} gets {@code childHandler} (usually
   * a {@link ChannelInitializer}) before it becomes active. Pass null to stop accepting.
   *
   * @return completes once accepting (a connection that arrives before is refused: wait for this
   *     before telling peers to connect)
   */
  public Future<Void> listen(ChannelHandler childHandler) {
    Promise<Void> done = loop.newPromise();
    Runnable set = () -> {
      this.childHandler = childHandler;
      endpoint.listen(childHandler != null);
      done.setSuccess(null);
    };
    if (loop.inEventLoop()) {
      set.run();
    } else {
      loop.execute(set);
    }
    return done;
  }

  /** Sets the handler for datagrams that are not PTCP (null drops them). */
  public void rawDatagramHandler(RawDatagramHandler handler) {
    this.rawHandler = handler;
  }

  /** Sends a raw datagram from this socket; {@code content} is released by this method. */
  public ChannelFuture sendDatagram(InetSocketAddress to, ByteBuf content) {
    return udp.writeAndFlush(new DatagramPacket(content, to));
  }

  /** Opens a connection with an empty pipeline; see {@link #connect(InetSocketAddress, ChannelHandler)}. */
  public Future<Channel> connect(InetSocketAddress remote) {
    return connect(remote, null);
  }

  /**
   * Opens a PTCP connection to {@code remote}. {@code handler} (may be null) is added to the new
   * channel's pipeline before it is registered. The future completes with the active channel, or
   * fails with a {@link PtcpException} (e.g. {@link PtcpErrorCode#CONNECT_TIMEOUT}).
   */
  public Future<Channel> connect(InetSocketAddress remote, ChannelHandler handler) {
    Promise<Channel> p = loop.newPromise();
    loop.execute(() -> {
      if (!udp.isOpen()) {
        p.tryFailure(new PtcpException(PtcpErrorCode.ENDPOINT_CLOSED, 0, "socket closed"));
        return;
      }
      PtcpConnection c = endpoint.connect(now(), remote);
      PtcpChannel ch = new PtcpChannel(this, c, p);
      c.attach(ch);
      if (handler != null) {
        ch.pipeline().addLast(handler);
      }
      loop.register(ch);
      pump();
    });
    return p;
  }

  /**
   * Opens a connection and returns it as a blocking stream; waits at most {@code timeout} (the
   * connect timeout of the config applies too). Must not be called on an event loop.
   */
  public PtcpStream connectStream(InetSocketAddress remote, Duration timeout) throws IOException {
    PtcpStream s = new PtcpStream();
    Future<Channel> f = connect(remote, s);
    try {
      if (!f.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        f.cancel(false);
        throw new IOException("connect to " + remote + " timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (!f.isSuccess()) {
      Throwable t = f.cause();
      throw t instanceof IOException io ? io : new IOException(t);
    }
    return s;
  }

  /** Aborts every connection (peers get an RST) and closes the UDP socket. */
  public Future<Void> close() {
    Promise<Void> p = loop.newPromise();
    loop.execute(() -> {
      endpoint.close();
      pump();
      udp.close().addListener(x -> p.trySuccess(null));
    });
    return p;
  }

  private void onUdpClosed() {
    endpoint.close();
    dispatchEvents();
    writer.close();
    if (timer != null) {
      timer.cancel(false);
    }
  }

  // ---- the pump ----

  /** Schedules a pump on the event loop (coalesced). Event-loop only. */
  void pumpSoon() {
    if (!pumpScheduled && !pumping) {
      pumpScheduled = true;
      loop.execute(pumpTask);
    } else if (pumping) {
      pumpAgain = true;
    }
  }

  /** Runs the core until it has nothing to do now. Event-loop only. */
  void pump() {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    pumps++;
    try {
      int rounds = 0;
      do {
        pumpAgain = false;
        long now = now();
        OptionalLong t = endpoint.pollTimeout();
        if (t.isPresent() && t.getAsLong() <= now) {
          endpoint.handleTimeout(now);
        }
        dispatchEvents();
        boolean sent = transmit(now);
        dispatchEvents();
        if (sent) {
          pumpAgain |= udp.isWritable();
        }
      } while (pumpAgain && ++rounds < 64);
      if (pumpAgain) {
        pumpSoon();
      }
      armTimer();
    } finally {
      pumping = false;
    }
  }

  /** Drains up to 1024 datagrams from the core into the writer; returns whether more may be due. */
  private boolean transmit(long now) {
    int n = 0;
    while (udp.isWritable() && n < 1024) {
      InetSocketAddress dest = endpoint.pollTransmit(now, writer.reserve(endpoint.maxDatagramSize()));
      if (dest == null) {
        break;
      }
      writer.commit(dest);
      n++;
    }
    if (n > 0) {
      writer.flush();
      flushes++;
    }
    return n >= 1024;
  }

  private void dispatchEvents() {
    PtcpEvent e;
    while ((e = endpoint.pollEvent()) != null) {
      PtcpConnection c = e.connection();
      if (e.type() == PtcpEvent.Type.ACCEPTED) {
        accept(c);
        continue;
      }
      if (e.type() == PtcpEvent.Type.CLOSED) {
        log.debug("{} closed{}", c, e.error() == null ? "" : ": " + e.error().getMessage());
      }
      if (c.attachment() instanceof PtcpChannel ch) {
        try {
          ch.onEvent(e);
        } catch (RuntimeException ex) {
          log.warn("PTCP channel {} failed handling {}", ch, e.type(), ex);
        }
      }
    }
  }

  private void accept(PtcpConnection c) {
    ChannelHandler h = childHandler;
    if (h == null) {
      c.abort();
      return;
    }
    PtcpChannel ch = new PtcpChannel(this, c, null);
    c.attach(ch);
    ch.pipeline().addLast(h);
    loop.register(ch).addListener(f -> {
      if (!f.isSuccess()) {
        log.warn("could not register accepted {}", ch, f.cause());
        c.abort();
      }
    });
    log.debug("accepted {}", ch);
  }

  private void armTimer() {
    OptionalLong t = endpoint.pollTimeout();
    if (t.isEmpty()) {
      return;
    }
    long deadline = t.getAsLong();
    if (timer != null && !timer.isDone() && timerDeadline <= deadline) {
      return; // an earlier wake-up is already scheduled; it re-arms when it fires
    }
    if (timer != null) {
      timer.cancel(false);
    }
    timerDeadline = deadline;
    long delay = Math.max(0, deadline - now());
    timer = loop.schedule(() -> {
      timerFires++;
      timer = null;
      timerDeadline = Long.MAX_VALUE;
      pump();
    }, delay, TimeUnit.NANOSECONDS);
  }

  /** Reads datagrams from the UDP channel into the core. */
  private final class Pump extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof DatagramPacket p)) {
        io.netty.util.ReferenceCountUtil.release(msg);
        return;
      }
      datagramsIn++;
      try {
        ByteBuf content = p.content();
        ByteBuffer nio = content.nioBuffer(content.readerIndex(), content.readableBytes());
        if (!endpoint.handleDatagram(now(), p.sender(), nio)) {
          RawDatagramHandler h = rawHandler;
          if (h != null) {
            try {
              h.onDatagram(p.sender(), content);
            } catch (RuntimeException e) {
              log.warn("raw datagram handler failed", e);
            }
          }
        }
      } finally {
        p.release();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      readBursts++;
      pump();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        pump();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.warn("UDP socket error (ignored)", cause);
    }
  }
}
