package org.q2q.ptcp.internal;

/**
 * Delay-based slow-start exit in the spirit of HyStart++ (RFC 9406): when the minimum RTT of the
 * current round exceeds the previous round's by max(4 ms, min(16 ms, RTT/8)), a queue is building
 * and slow start should end before it overflows. Rounds are approximated as one minimum RTT.
 *
 * <p>Not thread-safe; event-loop only.
 */
final class HyStart {
  private static final int MIN_SAMPLES = 8;
  private static final long MIN_ETA = 4_000_000L;
  private static final long MAX_ETA = 16_000_000L;
  /** End of the current round, ns. */
  private long roundEnd = Long.MIN_VALUE;
  /** Minimum RTT in the current round, ns. */
  private long currentMin = Long.MAX_VALUE;
  /** Minimum RTT in the previous round, ns. */
  private long lastMin = Long.MAX_VALUE;
  private int samples;

  /** Feeds an ACK; returns true when slow start should end now. */
  boolean onAck(long now, RttEstimator rtt) {
    if (!rtt.hasSample()) {
      return false;
    }
    if (now >= roundEnd) {
      lastMin = currentMin;
      currentMin = Long.MAX_VALUE;
      samples = 0;
      roundEnd = now + rtt.minRtt();
    }
    currentMin = Math.min(currentMin, rtt.latest());
    samples++;
    if (samples >= MIN_SAMPLES && lastMin != Long.MAX_VALUE) {
      long eta = Math.max(MIN_ETA, Math.min(MAX_ETA, lastMin / 8));
      return currentMin >= lastMin + eta;
    }
    return false;
  }
}
