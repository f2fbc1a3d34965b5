package org.q2q.ptcp.internal;

/**
 * NewReno congestion control (RFC 5681, RFC 6582) with byte counting: slow start doubles the window
 * per RTT, congestion avoidance adds one MSS per window acknowledged, a loss halves the window once
 * per recovery period, and an RTO collapses it to one MSS.
 *
 * <p>Not thread-safe; event-loop only.
 */
public final class NewReno extends LossBasedController {
  /** Bytes acknowledged in congestion avoidance since the last window increase. */
  private long bytesAcked;

  /** Creates a controller with an initial window of {@code initialSegments} segments. */
  public NewReno(int mss, int initialSegments) {
    super(mss, initialSegments);
  }

  @Override
  protected void congestionAvoidance(long now, long bytes, RttEstimator rtt) {
    bytesAcked += bytes;
    if (bytesAcked >= window) {
      bytesAcked -= window;
      window += mss;
    }
  }

  @Override
  protected long reducedWindow() {
    bytesAcked = 0;
    return Math.max(window / 2, 2L * mss);
  }

  @Override
  protected long thresholdAfterTimeout() {
    bytesAcked = 0;
    return Math.max(window / 2, 2L * mss);
  }
}
