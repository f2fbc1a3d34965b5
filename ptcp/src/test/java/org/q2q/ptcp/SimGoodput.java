package org.q2q.ptcp;

/**
 * Goodput of one bulk transfer over a simulated bottleneck in virtual time (deterministic, seconds
 * to run): a quick way to see what a change to pacing, ACKs or loss recovery does before running the
 * real benchmark. Not a test.
 *
 * <pre>  SimGoodput [MIB=64] [RATE_MBPS=100] [RTT_MS=10] [LOSSES=0,1,5,10] [CC=BBR] [SEED=1]</pre>
 */
public final class SimGoodput {
  private SimGoodput() {}

  public static void main(String[] args) {
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
