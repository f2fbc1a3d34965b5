package org.q2q.ptcp.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.ptcp.PtcpConfig;
import org.q2q.ptcp.netty.PtcpChannel;
import org.q2q.ptcp.netty.PtcpSocket;

/**
 * Throughput benchmark: kernel TCP versus PTCP, same sizes, same path, in one run. Not a test.
 *
 * <pre>
 *   server BIND_ADDR PORT                    TCP and PTCP (UDP) sinks on PORT, QUIC sinks on PORT+1
 *                                            (CUBIC) and PORT+2 (BBR)
 *   client tcp|ptcp|quic|quic-bbr HOST PORT BYTES SECONDS
 *                                            send up to BYTES for at most SECONDS; prints RESULT
 *   loopback BYTES RUNS                      both sinks and clients in this JVM on 127.0.0.1
 * </pre>
 *
 * A sink counts bytes until end of stream, answers with the count (8 bytes) and closes; the client's
 * goodput is that count over the time from connect to the answer.
 */
public final class PtcpBench {
  static final int CHUNK = 256 * 1024;

  private PtcpBench() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "server" -> {
        EventLoopGroup g = PtcpSocket.newEventLoopGroup(1);
        startServers(g, new InetSocketAddress(args[1], Integer.parseInt(args[2])));
        System.out.println("READY");
        Thread.sleep(Long.MAX_VALUE);
      }
      case "client" -> {
        EventLoopGroup g = PtcpSocket.newEventLoopGroup(1);
        InetSocketAddress to = new InetSocketAddress(args[2], Integer.parseInt(args[3]));
        // A fresh JVM runs the protocol's code interpreted for its first seconds; an optional warm-up
        // transfer (not counted) lets the JIT compile it, so the figure is the transport's, not javac's.
        double warm = args.length > 6 ? Double.parseDouble(args[6]) : 0;
        if (warm > 0) {
          System.out.printf("warm-up %s %.1f MB/s%n", args[1], attempt(g, args[1], to, Long.parseLong(args[4]), warm));
        }
        double r = attempt(g, args[1], to, Long.parseLong(args[4]), Double.parseDouble(args[5]));
        System.out.printf("RESULT %s %.1f MB/s%n", args[1], r);
        g.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        System.exit(0);
      }
      case "loopback" -> {
        long bytes = Long.parseLong(args[1]);
        int runs = Integer.parseInt(args[2]);
        EventLoopGroup sg = PtcpSocket.newEventLoopGroup(1);
        EventLoopGroup cg = PtcpSocket.newEventLoopGroup(1);
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", 47000 + new Random().nextInt(1000));
        startServers(sg, at);
        List<Double> tcp = new ArrayList<>();
        List<Double> ptcp = new ArrayList<>();
        List<Double> quic = new ArrayList<>();
        List<Double> quicBbr = new ArrayList<>();
        // -Dptcp.bench.protos=ptcp limits a quick run to some protocols (the others count as 0).
        List<String> protos = List.of(System.getProperty("ptcp.bench.protos", "tcp,ptcp,quic,quic-bbr").split(","));
        // One uncounted transfer per protocol first: JIT warm-up (kernel TCP needs none, the Java
        // transports do; a cold run is printed for the record).
        long warmBytes = Math.min(bytes, 256L << 20);
        for (String proto : protos) {
          System.out.printf("warm-up %s %.1f MB/s%n", proto, attempt(cg, proto, at, warmBytes, 300));
        }
        for (int i = 0; i < runs; i++) {
          tcp.add(protos.contains("tcp") ? attempt(cg, "tcp", at, bytes, 300) : 0);
          ptcp.add(protos.contains("ptcp") ? attempt(cg, "ptcp", at, bytes, 300) : 0);
          quic.add(protos.contains("quic") ? attempt(cg, "quic", at, bytes, 300) : 0);
          quicBbr.add(protos.contains("quic-bbr") ? attempt(cg, "quic-bbr", at, bytes, 300) : 0);
          System.out.printf("run %d: tcp %.1f MB/s, ptcp %.1f MB/s, quic %.1f MB/s, quic-bbr %.1f MB/s%n", i + 1,
              tcp.get(i), ptcp.get(i), quic.get(i), quicBbr.get(i));
        }
        double t = median(tcp);
        double p = median(ptcp);
        double q = median(quic);
        double qb = median(quicBbr);
        System.out.printf("RESULT loopback %d MiB median of %d: tcp %.1f MB/s, ptcp %.1f MB/s, quic %.1f MB/s,"
            + " quic-bbr %.1f MB/s, ptcp/tcp %.3f, ptcp/quic %.2f, ptcp/quic-bbr %.2f%n",
            bytes >> 20, runs, t, p, q, qb, p / t, p / q, p / qb);
        System.exit(0);
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  /** One transfer; a failure (e.g. a QUIC handshake timeout) is reported and counts as 0 MB/s. */
  static double attempt(EventLoopGroup g, String proto, InetSocketAddress to, long bytes, double seconds) {
    try {
      return run(g, proto, to, bytes, seconds);
    } catch (Exception e) {
      System.out.println("  " + proto + " failed: " + e);
      return 0;
    }
  }

  static double median(List<Double> l) {
    List<Double> s = new ArrayList<>(l);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }

  static PtcpConfig config() {
    // -Dptcp.bench.nolinkmtu=true keeps loopback at the routed 1452-byte maximum (the datagram size
    // of a real network path) instead of probing up to the loopback MTU.
    return PtcpConfig.builder().sendBufferSize(16 << 20).receiveBufferSize(16 << 20)
        .pacing(!Boolean.getBoolean("ptcp.bench.nopacing"))
        .linkMtuProbing(!Boolean.getBoolean("ptcp.bench.nolinkmtu")).build();
  }

  static void startServers(EventLoopGroup g, InetSocketAddress at) throws Exception {
    ServerSocket ss = new ServerSocket();
    ss.setReuseAddress(true);
    ss.bind(at);
    Thread acceptor = new Thread(() -> {
      while (true) {
        try {
          Socket s = ss.accept();
          new Thread(() -> tcpSink(s)).start();
        } catch (Exception e) {
          return;
        }
      }
    }, "tcp-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
    QuicBench.startServer(g, new InetSocketAddress(at.getAddress(), at.getPort() + 1), QuicCongestionControlAlgorithm.CUBIC);
    QuicBench.startServer(g, new InetSocketAddress(at.getAddress(), at.getPort() + 2), QuicCongestionControlAlgorithm.BBR);
    PtcpSocket ps = PtcpSocket.bind(g, at, config()).sync().getNow();
    ps.listen(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
          long count;

          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            count += b.readableBytes();
            b.release();
          }

          @Override
          public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
              if (Boolean.getBoolean("ptcp.bench.verbose")) {
                System.out.println("  sink " + ((PtcpChannel) ctx.channel()).stats() + " | " + ps.stats());
              }
              ctx.writeAndFlush(Unpooled.buffer(8).writeLong(count)).addListener(f -> ctx.close());
            }
          }
        });
      }
    }).sync();
  }

  static void tcpSink(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      byte[] buf = new byte[1 << 20];
      long count = 0;
      int n;
      while ((n = in.read(buf)) > 0) {
        count += n;
      }
      new DataOutputStream(s.getOutputStream()).writeLong(count);
    } catch (Exception e) {
      // benchmark sink: ignore
    }
  }

  static double run(EventLoopGroup g, String proto, InetSocketAddress to, long bytes, double seconds)
      throws Exception {
    return switch (proto) {
      case "tcp" -> runTcp(to, bytes, seconds);
      case "ptcp" -> runPtcp(g, to, bytes, seconds);
      case "quic" -> QuicBench.run(g, new InetSocketAddress(to.getAddress(), to.getPort() + 1), bytes, seconds,
          QuicCongestionControlAlgorithm.CUBIC);
      case "quic-bbr" -> QuicBench.run(g, new InetSocketAddress(to.getAddress(), to.getPort() + 2), bytes, seconds,
          QuicCongestionControlAlgorithm.BBR);
      default -> throw new IllegalArgumentException("unknown protocol " + proto);
    };
  }

  static double runTcp(InetSocketAddress to, long bytes, double seconds) throws Exception {
    byte[] chunk = new byte[CHUNK];
    new Random(1).nextBytes(chunk);
    long t0 = System.nanoTime();
    long deadline = t0 + (long) (seconds * 1e9);
    try (Socket s = new Socket()) {
      s.connect(to, 10_000);
      OutputStream out = s.getOutputStream();
      long sent = 0;
      while (sent < bytes && System.nanoTime() < deadline) {
        int n = (int) Math.min(CHUNK, bytes - sent);
        out.write(chunk, 0, n);
        sent += n;
      }
      s.shutdownOutput();
      long got = new DataInputStream(s.getInputStream()).readLong();
      return got / ((System.nanoTime() - t0) / 1e9) / 1e6;
    }
  }

  static double runPtcp(EventLoopGroup g, InetSocketAddress to, long bytes, double seconds) throws Exception {
    InetSocketAddress local = new InetSocketAddress(to.getAddress().isLoopbackAddress() ? "127.0.0.1" : "0.0.0.0", 0);
    PtcpSocket sock = PtcpSocket.bind(g, local, config()).sync().getNow();
    ByteBuf chunk = BulkSender.randomChunk(CHUNK);
    CompletableFuture<Long> answer = new CompletableFuture<>();
    long t0 = System.nanoTime();
    long deadline = t0 + (long) (seconds * 1e9);
    Channel ch = sock.connect(to, new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel c) {
        c.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        c.pipeline().addLast(new BulkSender(chunk, bytes, deadline, answer,
            x -> ((DuplexChannel) x).shutdownOutput()));
      }
    }).sync().getNow();
    ScheduledFuture<?> trace = null;
    if (Boolean.getBoolean("ptcp.bench.trace")) {
      trace = ch.eventLoop().scheduleAtFixedRate(() -> System.out.println("  t=" + (System.nanoTime() - t0) / 1_000_000
          + "ms " + ((PtcpChannel) ch).stats()), 250, 250, TimeUnit.MILLISECONDS);
    }
    try {
      long got = answer.get((long) seconds + 120, TimeUnit.SECONDS);
      if (trace != null) {
        trace.cancel(false);
      }
      double mbs = got / ((System.nanoTime() - t0) / 1e9) / 1e6;
      if (Boolean.getBoolean("ptcp.bench.verbose")) {
        System.out.println("  ptcp " + ((PtcpChannel) ch).stats() + " | " + sock.stats());
      }
      return mbs;
    } finally {
      ch.close();
      sock.close().sync();
      chunk.release();
    }
  }
}
