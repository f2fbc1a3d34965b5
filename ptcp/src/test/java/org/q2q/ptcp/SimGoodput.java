package org.q2q.ptcp;

/**
 * Goodput of one bulk transfer over a simulated bottleneck in virtual time (deterministic, seconds
 * to run): a quick way to see what a change to pacing, ACKs or loss recovery does before running the
 * real benchmark. Not a test.
 *
 * <pre>  SimGoodput [MIB=64] [RATE_MBPS=100] [RTT_MS=10] [LOSSES=0,1,5,10] [CC=BBR] [SEED=1]
 *  SimGoodput goals</pre>
 *
 * <p>{@code goals} checks the speed goals that used to live in unit tests (they are performance
 * targets, not correctness): on a 20 MB/s, 20 ms link, 8 MiB reach 60 % of the link with the
 * default controller; at 1 % random loss BBR reaches 50 % of the link. It prints each with PASS or
 * FAIL and exits 1 if one fails. CUBIC's goodput is printed for comparison only.
 */
public final class SimGoodput {
  private SimGoodput() {}

  private static final long SEC = 1_000_000_000L;
  private static final double LINK = 20_000_000;

  /** Goodput, bytes per virtual second, of 8 MiB over SimNetwork's default 20 MB/s, 20 ms link. */
  private static double goodput(PtcpConfig cfg, long seed, double loss) {
    SimNetwork net = new SimNetwork(seed, cfg);
    net.both(l -> l.loss = loss);
    Transfer t = new Transfer(net, 8 << 20, 0);
    net.driveUntil(t::bothEnded, 600 * SEC);
    if (!t.completed()) {
      throw new IllegalStateException("transfer did not complete: " + t);
    }
    return (8 << 20) / (t.serverClosedAt / 1e9);
  }

  private static boolean goal(String what, double rate, double floor) {
    boolean ok = rate > floor;
    System.out.printf("%s %s: %.1f MB/s (goal > %.1f MB/s)%n", ok ? "PASS" : "FAIL", what, rate / 1e6, floor / 1e6);
    return ok;
  }

  private static boolean goals() {
    boolean ok = goal("default controller fills a bottleneck", goodput(PtcpConfig.defaults(), 6, 0), 0.6 * LINK);
    double bbr = goodput(PtcpConfig.builder().congestion(PtcpConfig.Congestion.BBR).build(), 7, 0.01);
    double cubic = goodput(PtcpConfig.builder().congestion(PtcpConfig.Congestion.CUBIC).build(), 7, 0.01);
    ok &= goal("BBR at 1 % loss", bbr, 0.5 * LINK);
    System.out.printf("info CUBIC at 1 %% loss: %.1f MB/s%n", cubic / 1e6);
    return ok;
  }

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("goals")) {
      System.exit(goals() ? 0 : 1);
    }
    long bytes = (args.length > 0 ? Long.parseLong(args[0]) : 64) << 20;
    long rate = (args.length > 1 ? Long.parseLong(args[1]) : 100) * 1_000_000L;
    long rtt = (args.length > 2 ? Long.parseLong(args[2]) : 10) * 1_000_000L;
    String losses = args.length > 3 ? args[3] : "0,1,5,10";
    PtcpConfig.Congestion cc = PtcpConfig.Congestion.valueOf(args.length > 4 ? args[4] : "BBR");
    long seed = args.length > 5 ? Long.parseLong(args[5]) : 1;
    for (String l : losses.split(",")) {
      double loss = Double.parseDouble(l) / 100;
      PtcpConfig cfg = PtcpConfig.builder().congestion(cc).sendBufferSize(16 << 20)
          .receiveBufferSize(16 << 20).build();
      SimNetwork net = new SimNetwork(seed, cfg);
      net.both(k -> {
        k.latency = rtt / 2;
        k.rate = rate;
        k.loss = Boolean.getBoolean("ackloss") ? 0 : loss;
        k.maxQueue = Math.max(rtt, 5_000_000L);
      });
      if (Boolean.getBoolean("ackloss")) {
        net.links[1].loss = loss;
      } else if (Boolean.getBoolean("dataloss")) {
        net.links[1].loss = 0;
      }
      Transfer t = new Transfer(net, bytes, 0);
      long wall = System.nanoTime();
      net.driveUntil(t::bothEnded, 3600L * 1_000_000_000L);
      double secs = t.serverClosedAt / 1e9;
      System.out.printf("loss %s%%: %s goodput %.1f MB/s (%.0f%% of link) retx=%d rtos=%d cwnd=%d steps=%d wall=%d ms%n",
          l, cc, bytes / secs / 1e6, 100.0 * bytes / secs / rate, t.client.segmentsRetransmitted(),
          t.client.retransmissionTimeouts(), t.client.congestionWindow(), net.steps,
          (System.nanoTime() - wall) / 1_000_000);
      System.out.println("  data link sent=" + net.links[0].sent + " dropped=" + net.links[0].dropped + " ack link sent=" + net.links[1].sent + " dropped=" + net.links[1].dropped);
      System.out.println("  " + t.client.congestionState());
    }
  }
}
