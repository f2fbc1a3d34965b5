package org.q2q.ptcp.internal;

/**
 * CUBIC congestion control (RFC 9438): after a loss the window shrinks by beta = 0.7 and then grows
 * along a cubic curve of the time since the loss, never slower than Reno would (TCP-friendly region).
 *
 * <p>Not thread-safe; event-loop only.
 */
public final class Cubic extends LossBasedController {
  private static final double C = 0.4;
  private static final double BETA = 0.7;
  /** Window before the last reduction, in segments. */
  private double wMax;
  /** Time to reach wMax again, seconds. */
  private double k;
  /** Start of the current congestion-avoidance epoch, ns; MIN_VALUE when unset. */
  private long epochStart = Long.MIN_VALUE;
  /** Reno-equivalent window estimate, segments (TCP-friendly region). */
  private double wEst;
  /** Bytes acknowledged since the window last grew by the slow (>= 100 windows) rule. */
  private long bytesAckedCa;

  /** Creates a controller with an initial window of {@code initialSegments} segments. */
  public Cubic(int mss, int initialSegments) {
    super(mss, initialSegments);
  }

  @Override
  protected void congestionAvoidance(long now, long bytes, RttEstimator rtt) {
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
  protected long reducedWindow() {
    double cwndSeg = (double) window / mss;
    wMax = cwndSeg < wMax ? cwndSeg * (1 + BETA) / 2 : cwndSeg; // fast convergence
    epochStart = Long.MIN_VALUE;
    return Math.max((long) (window * BETA), 2L * mss);
  }

  @Override
  protected long thresholdAfterTimeout() {
    wMax = (double) window / mss;
    epochStart = Long.MIN_VALUE;
    return Math.max((long) (window * BETA), 2L * mss);
  }
}
