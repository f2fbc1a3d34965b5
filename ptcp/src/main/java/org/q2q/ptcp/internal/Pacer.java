package org.q2q.ptcp.internal;

/**
 * A token-bucket pacer (quinn {@code pacing.rs}): spreads a congestion window over a round trip
 * instead of sending it in one burst. Rate = 1.25 x window / SRTT (2 x in slow start) or the
 * controller's model rate; burst capacity = the window's worth of 2 ms, clamped to [10, 256]
 * datagrams.
 *
 * <p>Not thread-safe; event-loop only.
 */
public final class Pacer {
  /** Available tokens, bytes. */
  private double tokens;
  /** Time of the last refill, ns. */
  private long last = Long.MIN_VALUE;

  /**
   * Returns 0 if {@code bytes} may be sent at {@code now}, else the delay in ns until they may.
   *
   * @param window congestion window, bytes
   * @param srtt smoothed RTT, ns
   * @param mtu datagram size, bytes
   */
  public long delay(long now, int bytes, long window, long srtt, int mtu, boolean slowStart) {
    return delay(now, bytes, window, srtt, mtu, (slowStart ? 2.0 : 1.25) * window / Math.max(srtt, 1));
  }

  /** As above with an explicit rate in bytes per ns (from a model-based controller). */
  public long delay(long now, int bytes, long window, long srtt, int mtu, double rate) {
    double capacity = Math.min(Math.max(window * 2_000_000.0 / Math.max(srtt, 1), 10.0 * mtu), 256.0 * mtu);
    if (last == Long.MIN_VALUE) {
      tokens = capacity;
    } else if (now > last) {
      tokens = Math.min(capacity, tokens + (now - last) * rate);
    }
    last = now;
    if (tokens >= bytes) {
      return 0;
    }
    return Math.max(1, (long) Math.ceil((bytes - tokens) / rate));
  }

  /** Consumes tokens for a datagram sent. */
  public void onSent(int bytes) {
    tokens -= bytes;
  }
}
