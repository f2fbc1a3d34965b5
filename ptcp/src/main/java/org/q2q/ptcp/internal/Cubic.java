package org.q2q.ptcp.internal;

/**
 * CUBIC congestion control (RFC 9438): after a loss the window shrinks by beta = 0.7 and then grows
 * along a cubic curve of the time since the loss, never slower than Reno would (TCP-friendly region).
 *
 * <p>Not thread-safe; event-loop only.
 */
public final class Cubic implements CongestionController {
  private static final double C = 0.4;
  private static final double BETA = 0.7;
  /** Congestion window, bytes. */
  private long window;
  /** Slow-start threshold, bytes. */
  private long ssthresh = Long.MAX_VALUE;
  /** Window before the last reduction, in segments. */
  private double wMax;
  /** Time to reach wMax again, seconds. */
  private double k;
  /** Start of the current congestion-avoidance epoch, ns; MIN_VALUE when unset. */
  private long epochStart = Long.MIN_VALUE;
  /** Reno-equivalent window estimate, segments (TCP-friendly region). */
  private double wEst;
  /** Start of the current recovery period, ns. */
  private long recoveryStart = Long.MIN_VALUE;
  private boolean inRecovery;
  private long bytesAckedCa;
  private int mss;
  private final HyStart hyStart = new HyStart();

  /** Creates a controller with an initial window of {@code initialSegments} segments. */
  public Cubic(int mss, int initialSegments) {
    this.mss = mss;
    this.window = (long) mss * initialSegments;
  }

  @Override
  public void onSent(long now, long bytes) {}

  @Override
  public void onAck(long now, long sentTime, long bytes, RttEstimator rtt, boolean appLimited) {
    if (inRecovery && sentTime <= recoveryStart) {
      return;
    }
    inRecovery = false;
    if (appLimited) {
      return;
    }
    if (window < ssthresh) {
      window += bytes;
      if (hyStart.onAck(now, rtt)) {
        ssthresh = window;
      }
      return;
    }
    if (epochStart == Long.MIN_VALUE) {
      epochStart = now;
      double cwndSeg = (double) window / mss;
      if (wMax <= cwndSeg) {
        k = 0;
        wMax = cwndSeg;
      } else {
        k = Math.cbrt((wMax - cwndSeg) / C);
      }
      wEst = cwndSeg;
      bytesAckedCa = 0;
    }
    double t = (now - epochStart + rtt.minRtt()) / 1e9;
    double target = C * Math.pow(t - k, 3) + wMax;
    bytesAckedCa += bytes;
    double cwndSeg = (double) window / mss;
    wEst += 3 * (1 - BETA) / (1 + BETA) * ((double) bytes / mss) / cwndSeg;
    if (wEst > target) {
      target = wEst;
    }
    if (target > cwndSeg) {
      double inc = (target - cwndSeg) / cwndSeg * ((double) bytes / mss);
      window += (long) Math.max(1, Math.min(inc * mss, bytes));
    } else if (bytesAckedCa >= 100L * window) {
      window += mss;
      bytesAckedCa = 0;
    }
  }

  @Override
  public void onCongestionEvent(long now, long sentTime, long bytesInFlight) {
    if (inRecovery && sentTime <= recoveryStart) {
      return;
    }
    inRecovery = true;
    recoveryStart = now;
    double cwndSeg = (double) window / mss;
    wMax = cwndSeg < wMax ? cwndSeg * (1 + BETA) / 2 : cwndSeg; // fast convergence
    window = Math.max((long) (window * BETA), 2L * mss);
    ssthresh = window;
    epochStart = Long.MIN_VALUE;
  }

  @Override
  public void onRetransmissionTimeout(long now) {
    wMax = (double) window / mss;
    ssthresh = Math.max((long) (window * BETA), 2L * mss);
    window = mss;
    epochStart = Long.MIN_VALUE;
    inRecovery = true;
    recoveryStart = now;
  }

  @Override
  public void onMssUpdate(int newMss) {
    if (newMss <= 0) {
      return;
    }
    window = Math.max(window * newMss / Math.max(1, mss), 2L * newMss);
    mss = newMss;
  }

  @Override
  public long window() {
    return window;
  }

  @Override
  public long ssthresh() {
    return ssthresh;
  }
}
