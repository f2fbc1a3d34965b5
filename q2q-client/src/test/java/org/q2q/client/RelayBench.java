package org.q2q.client;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.EventExecutor;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.q2q.certstore.Address;
import org.q2q.certstore.Identity;
import org.q2q.server.LoopbackServer;
import org.q2q.server.presence.RelayStats;

/**
 * Relay benchmark (not a test; run with bench/relay-bench.sh). In one JVM, on loopback:
 *
 * <ol>
 *   <li>one transfer of {@code --size-mib} through the relay (alice -> presence server -> bob,
 *       end-to-end TLS 1.3 inside), and {@code --concurrent} channels of {@code
 *       --concurrent-size-mib} each at once over the same peer session;
 *   <li>the same byte counts over plain JDK TLS 1.3 sockets (mutual, the same EC P-256
 *       identities), one and {@code --concurrent} at once: the ratio is relay / plain TLS. The
 *       process CPU time per MiB is printed too: on a shared machine it is steadier than
 *       wall-clock rates;
 *   <li>a stalled receiver: bob's event loops frozen while alice pushes on 8 channels for
 *       {@code --stall-seconds}; reports the server's relay queue high-water mark, the JVM heap
 *       high-water mark over the pre-stall baseline (whole JVM: server and both clients) and what
 *       alice got to write.
 * </ol>
 *
 * {@code --window-mib N} raises the peer session's send window (and the channel buffers up to 4
 * MiB) from the default 4 MiB, to show how much of the relay's speed is round-trip bound.
 */
public final class RelayBench {
  private static final int CHUNK = 1 << 20;

  private RelayBench() {}

  /** A phase's result: aggregate MB/s and process CPU milliseconds per MiB moved. */
  record Result(double mbPerSecond, double cpuMsPerMib) {}

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  public static void main(String[] args) throws Exception {
    long sizeMib = 1024;
    int concurrent = 8;
    long concurrentMib = 128;
    int stallSeconds = 10;
    int windowMib = 0;
    boolean relayOnly = false;
    long warmupMib = 512; // C2 keeps compiling the relay path's code for ~10 s of a cold JVM
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--size-mib" -> sizeMib = Long.parseLong(args[++i]);
        case "--concurrent" -> concurrent = Integer.parseInt(args[++i]);
        case "--concurrent-size-mib" -> concurrentMib = Long.parseLong(args[++i]);
        case "--stall-seconds" -> stallSeconds = Integer.parseInt(args[++i]);
        case "--window-mib" -> windowMib = Integer.parseInt(args[++i]);
        case "--warmup-mib" -> warmupMib = Long.parseLong(args[++i]);
        case "--relay-only" -> relayOnly = true; // for profiling: one relay transfer, nothing else
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Path dir = Files.createTempDirectory("q2q-bench-");
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost");
      int w = windowMib;
      java.util.function.UnaryOperator<Q2qClient.Builder> flow =
          b -> w > 0 ? b.peerFlowControl(Math.min(w << 20, 4 << 20), w << 20) : b;
      Q2qClient bob = net.track(flow.apply(net.builder(server, "bob@localhost")).build());
      bob.listen("sink", RelayBench::sink).ready().get(30, TimeUnit.SECONDS);
      Q2qClient alice = net.track(flow.apply(net.builder(server, "alice@localhost")).build());
      alice.connect(Address.parse("bob@localhost"), "sink", Transport.RELAY).get(30, TimeUnit.SECONDS).reset("warm-up");

      System.out.printf(Locale.ROOT, "q2q relay benchmark: JVM %s, %d cpus, max heap %d MiB, peer window %s%n",
          System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(),
          Runtime.getRuntime().maxMemory() >> 20, windowMib > 0 ? windowMib + " MiB" : "default (4 MiB)");
      warmUp(alice, net, server, warmupMib);

      Result relay1 = relay(alice, 1, sizeMib);
      if (relayOnly) {
        System.out.printf(Locale.ROOT, "relay 1 x %d MiB: %.0f MB/s, %.1f ms CPU/MiB%n", sizeMib, relay1.mbPerSecond(),
            relay1.cpuMsPerMib());
        return;
      }
      Result relayN = relay(alice, concurrent, concurrentMib);
      Identity bobId = server.issueIdentity("bob@localhost");
      Identity aliceId = server.issueIdentity("alice@localhost");
      X509Certificate ca = server.server().ca().certificate();
      Result tls1 = tls(aliceId, bobId, ca, 1, sizeMib);
      Result tlsN = tls(aliceId, bobId, ca, concurrent, concurrentMib);
      Result ossl1 = null;
      Result osslN = null;
      if (OpenSsl.isAvailable()) {
        ossl1 = nettyTls(aliceId, bobId, ca, 1, sizeMib);
        osslN = nettyTls(aliceId, bobId, ca, concurrent, concurrentMib);
      }
      System.out.printf(Locale.ROOT, "TLS in the product path: %s (gRPC hops: %s)%n",
          OpenSsl.isAvailable() && !Boolean.getBoolean("q2q.tls.jdk") ? "OpenSSL (BoringSSL)" : "JDK", io.netty.handler.ssl.SslContext.defaultClientProvider());
      System.out.printf(Locale.ROOT, "%-40s %10s %10s %6s | %14s %14s%n", "transfer", "relay", "JDK TLS", "ratio",
          "relay CPU/MiB", "TLS CPU/MiB");
      print("1 x " + sizeMib + " MiB", relay1, tls1);
      print(concurrent + " x " + concurrentMib + " MiB at once (aggregate)", relayN, tlsN);
      if (ossl1 != null) {
        System.out.printf(Locale.ROOT, "%-40s %10s %10s %6s | %14s %14s%n", "transfer", "relay", "Netty+OpenSSL", "ratio",
            "relay CPU/MiB", "TLS CPU/MiB");
        print("1 x " + sizeMib + " MiB", relay1, ossl1);
        print(concurrent + " x " + concurrentMib + " MiB at once (aggregate)", relayN, osslN);
      }

      stall(net, server, alice, stallSeconds);
    }
  }

  private static void print(String what, Result relay, Result tls) {
    System.out.printf(Locale.ROOT, "%-40s %5.0f MB/s %5.0f MB/s %6.2f | %11.1f ms %11.1f ms%n", what,
        relay.mbPerSecond(), tls.mbPerSecond(), relay.mbPerSecond() / tls.mbPerSecond(),
        relay.cpuMsPerMib(), tls.cpuMsPerMib());
  }

  private static void warmUp(Q2qClient alice, TestNet net, LoopbackServer server, long mib) throws Exception {
    relay(alice, 1, mib);
    relay(alice, 4, Math.max(1, mib / 8));
    Identity a = server.issueIdentity("alice@localhost");
    Identity b = server.issueIdentity("bob@localhost");
    tls(a, b, server.server().ca().certificate(), 1, mib);
    if (OpenSsl.isAvailable()) {
      nettyTls(a, b, server.server().ca().certificate(), 1, mib);
    }
  }

  /** Reads everything, then answers with the count. */
  static void sink(VirtualChannel ch) throws Exception {
    byte[] buf = new byte[CHUNK];
    long n = 0;
    InputStream in = ch.inputStream();
    for (int r; (r = in.read(buf)) >= 0; ) {
      n += r;
    }
    DataOutputStream out = new DataOutputStream(ch.outputStream());
    out.writeLong(n);
    out.close();
  }

  private static byte[] payload() {
    byte[] b = new byte[CHUNK];
    new SecureRandom().nextBytes(b);
    return b;
  }

  /** Aggregate MB/s (10^6 bytes/s) of {@code n} transfers of {@code mib} each through the relay. */
  private static Result relay(Q2qClient alice, int n, long mib) throws Exception {
    byte[] data = payload();
    List<VirtualChannel> chans = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      chans.add(alice.connect(Address.parse("bob@localhost"), "sink", Transport.RELAY).get(30, TimeUnit.SECONDS));
    }
    ExecutorService pool = Executors.newFixedThreadPool(n);
    long cpu0 = cpuNanos();
    long start = System.nanoTime();
    List<Future<Long>> done = new ArrayList<>();
    for (VirtualChannel ch : chans) {
      done.add(pool.submit(() -> {
        try (OutputStream out = ch.outputStream()) {
          for (long i = 0; i < mib; i++) {
            out.write(data);
          }
        }
        return new DataInputStream(ch.inputStream()).readLong();
      }));
    }
    for (Future<Long> f : done) {
      if (f.get() != mib << 20) {
        throw new IllegalStateException("short transfer: " + f.get());
      }
    }
    long nanos = System.nanoTime() - start;
    long cpu = cpuNanos() - cpu0;
    pool.shutdown();
    chans.forEach(VirtualChannel::close);
    return new Result((double) (n * (mib << 20)) / nanos * 1e3, cpu / 1e6 / (n * mib));
  }

  /** The same over plain mutual TLS 1.3 sockets (JDK), for comparison. */
  private static Result tls(Identity client, Identity server, X509Certificate ca, int n, long mib) throws Exception {
    SSLContext sctx = context(server, ca);
    SSLContext cctx = context(client, ca);
    byte[] data = payload();
    try (SSLServerSocket ss = (SSLServerSocket) sctx.getServerSocketFactory().createServerSocket(0, 50,
        java.net.InetAddress.getLoopbackAddress())) {
      ss.setNeedClientAuth(true);
      ss.setEnabledProtocols(new String[] {"TLSv1.3"});
      ExecutorService pool = Executors.newFixedThreadPool(2 * n);
      for (int i = 0; i < n; i++) {
        pool.submit(() -> {
          try (SSLSocket s = (SSLSocket) ss.accept()) {
            byte[] buf = new byte[CHUNK];
            long got = 0;
            InputStream in = s.getInputStream();
            for (int r; (r = in.read(buf)) >= 0; ) {
              got += r;
              if (got == mib << 20) {
                break;
              }
            }
            new DataOutputStream(s.getOutputStream()).writeLong(got);
          }
          return null;
        });
      }
      List<SSLSocket> socks = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        SSLSocket s = (SSLSocket) cctx.getSocketFactory().createSocket(java.net.InetAddress.getLoopbackAddress(), ss.getLocalPort());
        s.setEnabledProtocols(new String[] {"TLSv1.3"});
        s.startHandshake();
        socks.add(s);
      }
      long cpu0 = cpuNanos();
      long start = System.nanoTime();
      List<Future<Long>> done = new ArrayList<>();
      for (SSLSocket s : socks) {
        done.add(pool.submit(() -> {
          OutputStream out = s.getOutputStream();
          for (long i = 0; i < mib; i++) {
            out.write(data);
          }
          out.flush();
          return new DataInputStream(s.getInputStream()).readLong();
        }));
      }
      for (Future<Long> f : done) {
        f.get();
      }
      long nanos = System.nanoTime() - start;
      long cpu = cpuNanos() - cpu0;
      for (SSLSocket s : socks) {
        s.close();
      }
      pool.shutdownNow();
      return new Result((double) (n * (mib << 20)) / nanos * 1e3, cpu / 1e6 / (n * mib));
    }
  }

  /**
   * The same over Netty NIO sockets with BoringSSL (mutual TLS 1.3), the provider family the
   * product path uses when netty-tcnative loads: the honest baseline for it.
   */
  private static Result nettyTls(Identity client, Identity server, X509Certificate ca, int n, long mib) throws Exception {
    SslContext sctx = SslContextBuilder.forServer(server.privateKey(), server.chainArray())
        .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3").clientAuth(ClientAuth.REQUIRE).trustManager(ca).build();
    SslContext cctx = SslContextBuilder.forClient().keyManager(client.privateKey(), client.chainArray())
        .sslProvider(SslProvider.OPENSSL).protocols("TLSv1.3").trustManager(ca).endpointIdentificationAlgorithm(null).build();
    long total = mib << 20;
    ByteBuf data = Unpooled.unreleasableBuffer(Unpooled.directBuffer(CHUNK).writeBytes(payload()));
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    try {
      Channel listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(sctx.newHandler(ch.alloc()), new ChannelInboundHandlerAdapter() {
                long got;

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  ByteBuf b = (ByteBuf) msg;
                  got += b.readableBytes();
                  b.release();
                  if (got == total) {
                    ctx.writeAndFlush(ctx.alloc().buffer(8).writeLong(got));
                  }
                }
              });
            }
          }).bind(java.net.InetAddress.getLoopbackAddress(), 0).sync().channel();
      List<CompletableFuture<Long>> done = new ArrayList<>();
      List<Channel> chans = new ArrayList<>();
      List<io.netty.util.concurrent.Future<Channel>> handshakes = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        CompletableFuture<Long> answer = new CompletableFuture<>();
        done.add(answer);
        Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
            .handler(new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(cctx.newHandler(ch.alloc()), new ChannelInboundHandlerAdapter() {
                  @Override
                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf b = (ByteBuf) msg;
                    if (b.readableBytes() >= 8) {
                      answer.complete(b.readLong());
                    }
                    b.release();
                  }
                });
              }
            }).connect(listener.localAddress()).sync().channel();
        chans.add(ch);
        handshakes.add(ch.pipeline().get(SslHandler.class).handshakeFuture());
      }
      for (io.netty.util.concurrent.Future<Channel> h : handshakes) {
        h.sync();
      }
      long cpu0 = cpuNanos();
      long start = System.nanoTime();
      for (Channel ch : chans) {
        ch.eventLoop().execute(new Runnable() {
          long sent;

          @Override
          public void run() {
            while (sent < total && ch.isWritable()) {
              ch.write(data.duplicate());
              sent += CHUNK;
            }
            ch.flush();
            if (sent < total) {
              ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                  if (ctx.channel().isWritable()) {
                    ctx.pipeline().remove(this);
                    run();
                  }
                }
              });
            }
          }
        });
      }
      for (CompletableFuture<Long> f : done) {
        if (f.get(10, TimeUnit.MINUTES) != total) {
          throw new IllegalStateException("short transfer");
        }
      }
      long nanos = System.nanoTime() - start;
      long cpu = cpuNanos() - cpu0;
      for (Channel ch : chans) {
        ch.close().sync();
      }
      listener.close().sync();
      return new Result((double) (n * total) / nanos * 1e3, cpu / 1e6 / (n * mib));
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  private static SSLContext context(Identity id, X509Certificate ca) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("id", id.privateKey(), new char[0], id.chainArray());
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, new char[0]);
    KeyStore ts = KeyStore.getInstance("PKCS12");
    ts.load(null, null);
    ts.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ts);
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  /** Freezes the receiver and lets the sender push: memory must stay bounded. */
  private static void stall(TestNet net, LoopbackServer server, Q2qClient alice, int seconds) throws Exception {
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    CountDownLatch thaw = new CountDownLatch(1);
    MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
    try {
      Q2qClient carol = net.track(net.builder(server, "carol@localhost").eventLoopGroup(loops)
          .peerHeartbeat(Duration.ofSeconds(60), Duration.ofSeconds(600)).build());
      carol.listen("sink", RelayBench::sink).ready().get(30, TimeUnit.SECONDS);
      List<VirtualChannel> chans = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        chans.add(alice.connect(Address.parse("carol@localhost"), "sink", Transport.RELAY).get(30, TimeUnit.SECONDS));
      }
      for (EventExecutor e : loops) {
        e.execute(() -> {
          try {
            thaw.await();
          } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
          }
        });
      }
      System.gc();
      Thread.sleep(500);
      long base = mem.getHeapMemoryUsage().getUsed();
      AtomicLong heapMax = new AtomicLong(base);
      AtomicBoolean sampling = new AtomicBoolean(true);
      Thread sampler = new Thread(() -> {
        while (sampling.get()) {
          heapMax.accumulateAndGet(mem.getHeapMemoryUsage().getUsed(), Math::max);
          try {
            Thread.sleep(10);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
      sampler.start();
      byte[] data = payload();
      AtomicLong written = new AtomicLong();
      for (VirtualChannel ch : chans) {
        CompletableFuture.runAsync(() -> {
          try {
            OutputStream out = ch.outputStream();
            for (int i = 0; i < 1024; i++) { // offers 1 GiB per channel
              out.write(data, 0, 64 * 1024);
              written.addAndGet(64 * 1024);
            }
          } catch (Exception ignored) {
            // reset when the benchmark ends
          }
        });
      }
      RelayStats before = server.server().presence().relayStats();
      Thread.sleep(seconds * 1000L);
      sampling.set(false);
      sampler.join();
      RelayStats after = server.server().presence().relayStats();
      System.out.printf(Locale.ROOT, "stalled receiver (8 channels, receiver frozen for %d s):%n", seconds);
      System.out.printf(Locale.ROOT, "  sender got to write          %8.1f MiB of 8192 MiB offered%n", written.get() / 1048576.0);
      System.out.printf(Locale.ROOT, "  server relay queue now       %8.1f KiB (high-water since start %.1f KiB)%n",
          after.bytesInFlight() / 1024.0, after.bytesInFlightHighWater() / 1024.0);
      System.out.printf(Locale.ROOT, "  JVM heap high-water          %8.1f MiB above the %.1f MiB baseline (whole JVM: server + both clients)%n",
          (heapMax.get() - base) / 1048576.0, base / 1048576.0);
      System.out.printf(Locale.ROOT, "  relay streams open %d, bytes relayed during the stall %.1f MiB%n",
          after.activeStreams(), (after.bytesRelayed() - before.bytesRelayed()) / 1048576.0);
      chans.forEach(c -> c.reset("benchmark over"));
    } finally {
      thaw.countDown();
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
