package org.q2q.client.internal.peer;

/**
 * Send-side accounting of a session: data bytes written versus bytes the peer proved it processed.
 * Choke/unchoke alone cannot bound what is in flight when a choke is sent (socket buffers hold
 * megabytes), so a sender keeps {@code sent - acked} within {@link #window()}, the smallest
 * receive budget (overrun allowance) the peer announced.
 *
 * <p>Acknowledgements ride on Ping/Pong: a Ping's nonce is {@link #sent()} when it was written, and
 * because the peer handles frames in order, its Pong proves every byte before it was processed. A
 * ping is due every quarter window, and whenever the window is full and not yet asked about.
 *
 * <p>Not thread-safe; event-loop only.
 */
final class SendWindow {
  /** Data payload bytes written so far. */
  private long sent;
  /** The highest pong nonce: bytes the peer processed. */
  private long acked;
  /** {@link #sent} when the last ping was written. */
  private long lastPingAt;
  /** Most unacknowledged bytes allowed; unlimited until the peer announces a budget. */
  private long window = Long.MAX_VALUE;

  /** Bytes that may be written now (0 when the window is full). */
  long room() {
    return Math.max(0, window - (sent - acked));
  }

  /** @return true if a ping should follow these bytes */
  boolean onSent(int bytes) {
    sent += bytes;
    return sent - lastPingAt >= Math.max(1, window / 4);
  }

  /** True if the window is full and no ping has asked about its last byte yet. */
  boolean needsPingWhenFull() {
    return room() == 0 && lastPingAt < sent;
  }

  /** A ping carrying {@link #sent()} as its nonce is being written. */
  long pingWritten() {
    lastPingAt = sent;
    return sent;
  }

  /**
   * The peer answered a ping with {@code nonce}. Nonces beyond what was sent are ignored.
   *
   * @return true if the window moved
   */
  boolean onPong(long nonce) {
    if (nonce > acked && nonce <= sent) {
      acked = nonce;
      return true;
    }
    return false;
  }

  /** The peer announced a receive budget; 0 means "not stated" (the proto3 default). */
  void notePeerBudget(long budget) {
    if (budget > 0 && budget < window) {
      window = budget;
    }
  }

  long sent() {
    return sent;
  }

  long acked() {
    return acked;
  }

  long window() {
    return window;
  }
}
