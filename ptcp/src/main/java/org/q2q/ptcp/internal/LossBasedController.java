package org.q2q.ptcp.internal;

/**
 * What loss-based congestion controllers (NewReno, CUBIC) share: slow start with HyStart exit, one
 * window reduction per recovery period (segments sent before the period began do not start a new
 * one), the collapse to one MSS on a retransmission timeout, and rescaling on an MSS change.
 * Subclasses decide only how the window grows in congestion avoidance and how far a loss cuts it.
 *
 * <p>Not thread-safe; event-loop only.
 */
abstract class LossBasedController implements CongestionController {
  /** Congestion window, bytes. */
  protected long window;
  /** Slow-start threshold, bytes. */
  protected long ssthresh = Long.MAX_VALUE;
  /** Current maximum segment size, bytes. */
  protected int mss;
  /** Start of the current recovery period, ns. */
  private long recoveryStart = Long.MIN_VALUE;
  private boolean inRecovery;
  private final HyStart hyStart = new HyStart();

  LossBasedController(int mss, int initialSegments) {
    this.mss = mss;
    this.window = (long) mss * initialSegments;
  }

  /** Grows {@link #window} for {@code bytes} newly acknowledged in congestion avoidance. */
  protected abstract void congestionAvoidance(long now, long bytes, RttEstimator rtt);

  /** The window after a loss, at least two MSS; resets the subclass's growth state. */
  protected abstract long reducedWindow();

  /** The slow-start threshold after a retransmission timeout; resets the growth state. */
  protected abstract long thresholdAfterTimeout();

  @Override
  public final void onSent(long now, long bytes) {}

  @Override
  public final void onAck(long now, long sentTime, long bytes, RttEstimator rtt, boolean appLimited) {
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
    congestionAvoidance(now, bytes, rtt);
  }

  @Override
  public final void onCongestionEvent(long now, long sentTime, long bytesInFlight) {
    if (inRecovery && sentTime <= recoveryStart) {
      return;
    }
    inRecovery = true;
    recoveryStart = now;
    window = reducedWindow();
    ssthresh = window;
  }

  @Override
  public final void onRetransmissionTimeout(long now) {
    ssthresh = thresholdAfterTimeout();
    window = mss;
    inRecovery = true;
    recoveryStart = now;
  }

  @Override
  public final void onMssUpdate(int newMss) {
    if (newMss <= 0) {
      return;
    }
    window = Math.max(window * newMss / Math.max(1, mss), 2L * newMss);
    mss = newMss;
  }

  @Override
  public final long window() {
    return window;
  }

  @Override
  public final long ssthresh() {
    return ssthresh;
  }
}
