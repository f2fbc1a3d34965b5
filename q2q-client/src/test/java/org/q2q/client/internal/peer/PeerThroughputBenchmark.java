package org.q2q.client.internal.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.OutputStream;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.client.VirtualChannel;

/**
 * Throughput of one virtual channel over a real TLS peer session on loopback, alone and next to a
 * stalled (choked) channel, to check that a choked channel costs the others nothing (goal: less
 * than 10% drop). Wall-clock throughput is noisy on a shared machine, so it also reports the
 * process CPU time per MiB moved (both session ends run in this process), which other processes'
 * load does not distort. Not a test: run by hand, without paranoid leak detection, e.g.
 *
 * <pre>
 *   mvn -q -pl q2q-client test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 *   java -cp q2q-client/target/classes:q2q-client/target/test-classes:$(cat /tmp/cp.txt) \
 *     -Dlogback.configurationFile=none org.q2q.client.internal.peer.PeerThroughputBenchmark [MiB] [rounds]
 * </pre>
 */
public final class PeerThroughputBenchmark {
  private PeerThroughputBenchmark() {}

  public static void main(String[] args) throws Exception {
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    TestServices services = new TestServices();
    ChannelAcceptor acceptor = ch -> {
      if (ch.service().equals("count")) {
        ch.channel().pipeline().addLast(new Counter());
        return true;
      }
      return services.accept(ch);
    };
    try (Loopback net = new Loopback()) {
      net.listen(PeerSessionConfig.builder(TestPki.BOB, TestPki.TRUST_BOTH, PeerRole.ACCEPTOR).acceptor(acceptor).build(), null);
      Loopback.Pair p = net.pair(PeerSessionConfig.builder(TestPki.ALICE, TestPki.TRUST_BOTH, PeerRole.INITIATOR)
          .expectedPeer(TestPki.BOB.address()).build());
      run(p, mib); // warm-up
      double[] alone = new double[rounds];
      double[] stalled = new double[rounds];
      double[] aloneCpu = new double[rounds];
      double[] stalledCpu = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        // Alternate the order so GC and JIT work left over from one run does not always land on
        // the same kind of run.
        for (int k = 0; k < 2; k++) {
          if ((k == 0) == (r % 2 == 0)) {
            long cpu0 = cpuNanos();
            alone[r] = run(p, mib);
            aloneCpu[r] = (cpuNanos() - cpu0) / 1e6 / mib;
          } else {
            VirtualChannel stall = p.initiator().openChannel("sink").get(10, TimeUnit.SECONDS);
            CompletableFuture<Void> filler = CompletableFuture.runAsync(() -> {
              try {
                stall.outputStream().write(new byte[8 << 20]); // blocks once choked
              } catch (Exception ignored) {
                // reset when the run ends
              }
            });
            while (!((VirtualChildChannel) stall.channel()).isChokedByPeer()) {
              Thread.onSpinWait();
            }
            long cpu1 = cpuNanos();
            stalled[r] = run(p, mib);
            stalledCpu[r] = (cpuNanos() - cpu1) / 1e6 / mib;
            stall.reset("run over");
            filler.get(10, TimeUnit.SECONDS);
          }
        }
      }
      double a = median(alone);
      double s = median(stalled);
      double ac = median(aloneCpu);
      double sc = median(stalledCpu);
      System.out.printf(Locale.ROOT, "one channel, %d MiB x %d rounds (median): alone %.1f MB/s, next to a choked channel %.1f MB/s,"
          + " drop %.1f%%; CPU %.2f vs %.2f ms/MiB (%+.1f%%)%n", mib, rounds, a, s, 100 * (a - s) / a, ac, sc, 100 * (sc - ac) / ac);
    } finally {
      services.close();
    }
  }

  private static double median(double[] v) {
    double[] c = v.clone();
    java.util.Arrays.sort(c);
    return c[c.length / 2];
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** Sends {@code mib} MiB through the blocking stream to a Netty counter; returns MB/s. */
  private static double run(Loopback.Pair p, int mib) throws Exception {
    VirtualChannel ch = p.initiator().openChannel("count").get(10, TimeUnit.SECONDS);
    byte[] buf = new byte[256 * 1024];
    long start = System.nanoTime();
    try (OutputStream out = ch.outputStream()) {
      for (long left = (long) mib << 20; left > 0; left -= buf.length) {
        out.write(buf, 0, (int) Math.min(buf.length, left));
      }
    }
    int read = ch.inputStream().read(); // the counter ends its side when it saw our end
    long nanos = System.nanoTime() - start;
    if (read != -1) {
      throw new IllegalStateException("counter answered data");
    }
    return ((double) mib * (1 << 20)) / 1e6 / (nanos / 1e9);
  }

  /** Counts and releases bytes; ends its output when the input ends. */
  private static final class Counter extends ChannelInboundHandlerAdapter {
    long bytes;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      bytes += b.readableBytes();
      b.release();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        ((io.netty.channel.socket.DuplexChannel) ctx.channel()).shutdownOutput();
      }
    }
  }
}
