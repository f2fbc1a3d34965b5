package org.q2q.ptcp.internal;

/**
 * A congestion controller: decides the congestion window from sends, acknowledgements and losses
 * (quinn's {@code Controller} trait). Windows are in bytes, times in nanoseconds.
 *
 * <p>Not thread-safe; event-loop only.
 */
public interface CongestionController {
  /** Bytes were sent at {@code now}. */
  void onSent(long now, long bytes);

  /**
   * {@code bytes} were newly acknowledged (cumulatively or selectively); the segment carrying them
   * was sent at {@code sentTime}. {@code appLimited} is true when the sender was not using its window.
   */
  void onAck(long now, long sentTime, long bytes, RttEstimator rtt, boolean appLimited);

  /** A loss was detected for a segment sent at {@code sentTime}. */
  void onCongestionEvent(long now, long sentTime, long bytesInFlight);

  /** The retransmission timer expired. */
  void onRetransmissionTimeout(long now);

  /** The maximum segment payload changed. */
  void onMssUpdate(int mss);

  /** Current congestion window, bytes. */
  long window();

  /** Slow-start threshold, bytes. */
  long ssthresh();

  /**
   * A delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation): {@code bytesPerSecond}
   * measured over the flight of the newest segment this ACK delivered, which was sent when
   * {@code deliveredAtSend} bytes had been delivered. Model-based controllers use it.
   */
  default void onDeliveryRate(long now, double bytesPerSecond, long deliveredAtSend, long deliveredTotal,
      boolean appLimited, RttEstimator rtt, long bytesInFlight) {}

  /** Pacing rate in bytes per second, or 0 to derive it from the window and SRTT. */
  default double pacingRate() {
    return 0;
  }

  /** Whether the controller is in slow start. */
  default boolean inSlowStart() {
    return window() < ssthresh();
  }
}
