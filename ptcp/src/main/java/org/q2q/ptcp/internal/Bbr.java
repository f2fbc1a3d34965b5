package org.q2q.ptcp.internal;

/**
 * A simplified BBR (v1) model-based congestion controller: it estimates the bottleneck bandwidth
 * (windowed maximum of delivery-rate samples over 10 rounds) and the minimum RTT, paces at
 * gain x bandwidth and caps the data in flight at 2 x the bandwidth-delay product. Random loss does
 * not shrink the window (only an RTO does), which is what keeps goodput up on lossy paths.
 *
 * <ul>
 *   <li>STARTUP: gain 2.885 until the bandwidth stops growing by 25 % for 3 rounds;
 *   <li>DRAIN: pacing gain 1/2.885 until in-flight falls to one BDP;
 *   <li>PROBE_BW: pacing gains cycle 1.25, 0.75, then 1 for six phases of one min-RTT each.
 * </ul>
 * PROBE_RTT is omitted: the minimum RTT never expires. Not thread-safe; event-loop only.
 * See <a href="https://datatracker.ietf.org/doc/draft-cardwell-iccrg-bbr-congestion-control/">BBR</a>.
 */
public final class Bbr implements CongestionController {
  private static final double HIGH_GAIN = 2.885;
  private static final double[] CYCLE = {1.25, 0.75, 1, 1, 1, 1, 1, 1};
  private static final int FILTER_ROUNDS = 10;
  /** Growth of the bandwidth estimate over one gain cycle that sends PROBE_BW back to STARTUP. */
  private static final double REGROW = 1.15;
  /** Floor of the RTT used for the bandwidth-delay product, ns. */
  private static final long MIN_BDP_RTT = 1_000_000L;

  private enum Mode { STARTUP, DRAIN, PROBE_BW }

  private Mode mode = Mode.STARTUP;
  /** Per-round maxima of delivery rate, bytes/s; index round % FILTER_ROUNDS. */
  private final double[] roundMax = new double[FILTER_ROUNDS];
  private long round;
  /** Bytes delivered at which the current round ends. */
  private long roundEndDelivered;
  private long delivered;
  /** Bandwidth at the last "still growing" check, bytes/s, and rounds without 25 % growth. */
  private double fullBw;
  private int fullBwRounds;
  private int cycleIndex;
  private long cycleStart;
  private double pacingGain = HIGH_GAIN;
  private double cwndGain = HIGH_GAIN;
  /** Congestion window, bytes. */
  private long window;
  private long minRtt = Long.MAX_VALUE;
  private int mss;
  private boolean afterRto;
  /** Bandwidth estimate at the start of the current gain cycle, bytes/s. */
  private double cycleBw;
  private int restarts;

  /** Creates a controller with an initial window of {@code initialSegments} segments. */
  public Bbr(int mss, int initialSegments) {
    this.mss = mss;
    this.window = (long) mss * initialSegments;
  }

  /** Maximum of {@link #roundMax}, kept current as it changes (read for every datagram paced). */
  private double btlBw;

  private double btlBw() {
    return btlBw;
  }

  private void recomputeBtlBw() {
    double m = 0;
    for (double v : roundMax) {
      m = Math.max(m, v);
    }
    btlBw = m;
  }

  @Override
  public void onSent(long now, long bytes) {}

  @Override
  public void onAck(long now, long sentTime, long bytes, RttEstimator rtt, boolean appLimited) {
    afterRto = false;
  }

  @Override
  public String toString() {
    return "BBR[" + mode + " bw=" + (long) btlBw() + "B/s minRtt=" + minRtt / 1000 + "us gain=" + pacingGain
        + " rounds=" + round + " restarts=" + restarts + "]";
  }

  @Override
  public void onDeliveryRate(long now, double bytesPerSecond, long deliveredAtSend, long deliveredTotal,
      boolean appLimited, RttEstimator rtt, long bytesInFlight) {
    delivered = deliveredTotal;
    if (rtt.hasSample()) {
      minRtt = Math.min(minRtt, rtt.minRtt());
    }
    boolean newRound = deliveredAtSend >= roundEndDelivered;
    if (newRound) {
      round++;
      roundEndDelivered = delivered;
      roundMax[(int) (round % FILTER_ROUNDS)] = 0;
      recomputeBtlBw();
    }
    int slot = (int) (round % FILTER_ROUNDS);
    if (!appLimited || bytesPerSecond > btlBw()) {
      roundMax[slot] = Math.max(roundMax[slot], bytesPerSecond);
      btlBw = Math.max(btlBw, roundMax[slot]);
    }
    double bw = btlBw();
    if (mode == Mode.STARTUP && newRound && !appLimited) {
      if (bw >= fullBw * 1.25) {
        fullBw = bw;
        fullBwRounds = 0;
      } else if (++fullBwRounds >= 3) {
        mode = Mode.DRAIN;
        pacingGain = 1 / HIGH_GAIN;
        cwndGain = HIGH_GAIN;
      }
    }
    long bdp = bdp(bw);
    if (mode == Mode.DRAIN && bytesInFlight <= bdp) {
      mode = Mode.PROBE_BW;
      cwndGain = 2;
      cycleIndex = 2;
      cycleStart = now;
      pacingGain = CYCLE[cycleIndex];
      cycleBw = bw;
    }
    if (mode == Mode.PROBE_BW && minRtt != Long.MAX_VALUE && now - cycleStart > minRtt) {
      cycleIndex = (cycleIndex + 1) % CYCLE.length;
      cycleStart = now;
      pacingGain = CYCLE[cycleIndex];
      if (cycleIndex == 0) {
        if (cycleBw > 0 && bw >= REGROW * cycleBw) {
          // The last probe found much more bandwidth: the pipe was not full (startup ended early,
          // e.g. while a cold JVM or a busy CPU limited the rate, or capacity grew). Grow
          // exponentially again instead of by 25 % every eight round trips.
          mode = Mode.STARTUP;
          pacingGain = HIGH_GAIN;
          cwndGain = HIGH_GAIN;
          fullBw = bw;
          fullBwRounds = 0;
          restarts++;
        }
        cycleBw = bw;
      }
    }
    if (bw > 0 && minRtt != Long.MAX_VALUE) {
      window = Math.max((long) (cwndGain * bdp), 4L * mss);
    }
  }

  private long bdp(double bw) {
    if (minRtt == Long.MAX_VALUE || bw <= 0) {
      return window;
    }
    // A 1 ms floor: on LANs and loopback the event-loop scheduling jitter dwarfs the true minimum RTT,
    // and a window sized from a lucky 30 us sample would starve the pipe.
    return (long) (bw * Math.max(minRtt, MIN_BDP_RTT) / 1e9);
  }

  @Override
  public double pacingRate() {
    double bw = btlBw();
    return bw > 0 ? pacingGain * bw : 0;
  }

  @Override
  public void onCongestionEvent(long now, long sentTime, long bytesInFlight) {
    // Random loss is not a congestion signal for the model.
  }

  @Override
  public void onRetransmissionTimeout(long now) {
    afterRto = true;
    window = 4L * mss;
  }

  @Override
  public void onMssUpdate(int newMss) {
    if (newMss > 0) {
      mss = newMss;
      window = Math.max(window, 4L * mss);
    }
  }

  @Override
  public long window() {
    return afterRto ? 4L * mss : window;
  }

  @Override
  public long ssthresh() {
    return mode == Mode.STARTUP ? Long.MAX_VALUE : window;
  }
}
