package org.q2q.ptcp.internal;

/**
 * NewReno congestion control (RFC 5681, RFC 6582) with byte counting: slow start doubles the window
 * per RTT, congestion avoidance adds one MSS per window acknowledged, a loss halves the window once
 * per recovery period, and an RTO collapses it to one MSS.
 *
 * <p>Not thread-safe; event-loop only.
 */
public final class NewReno implements CongestionController {
  /** Congestion window, bytes. */
  private long window;
  /** Slow-start threshold, bytes. */
  private long ssthresh = Long.MAX_VALUE;
  /** Bytes acknowledged in congestion avoidance since the last window increase. */
  private long bytesAcked;
  /** Start of the current recovery period, ns; segments sent before it do not trigger a new one. */
  private long recoveryStart = Long.MIN_VALUE;
  private boolean inRecovery;
  private int mss;
  private final HyStart hyStart = new HyStart();
  private final int initialSegments;

  /** Creates a controller with an initial window of {@code initialSegments} segments. */
  public NewReno(int mss, int initialSegments) {
    this.mss = mss;
    this.initialSegments = initialSegments;
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
    } else {
      bytesAcked += bytes;
      if (bytesAcked >= window) {
        bytesAcked -= window;
        window += mss;
      }
    }
  }

  @Override
  public void onCongestionEvent(long now, long sentTime, long bytesInFlight) {
    if (inRecovery && sentTime <= recoveryStart) {
      return;
    }
    inRecovery = true;
    recoveryStart = now;
    window = Math.max(window / 2, 2L * mss);
    ssthresh = window;
    bytesAcked = 0;
  }

  @Override
  public void onRetransmissionTimeout(long now) {
    ssthresh = Math.max(window / 2, 2L * mss);
    window = mss;
    bytesAcked = 0;
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

  /** Initial window in segments. */
  public int initialSegments() {
    return initialSegments;
  }
}
