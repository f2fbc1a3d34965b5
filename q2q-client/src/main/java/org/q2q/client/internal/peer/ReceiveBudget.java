package org.q2q.client.internal.peer;

/**
 * Receive-side flow-control accounting of one channel: how many received bytes the application has
 * not consumed yet, and whether this side has choked the sender.
 *
 * <ul>
 *   <li>{@link #received} at or above the high mark, not yet choked → {@link Verdict#CHOKE}.
 *   <li>{@link #received} above high mark + allowance + one maximal frame → {@link
 *       Verdict#OVERRUN}: the sender ignored the choke for longer than its unacknowledged-bytes
 *       window explains ({@code FLOW_CONTROL_ERROR}). A compliant sender never has more than the
 *       allowance unacknowledged (see {@link SendWindow}), so after the choke at most that much
 *       arrives, plus the tail of the frame that crossed the high mark.
 *   <li>{@link #consumed} to the low mark or below while choked → unchoke.
 * </ul>
 *
 * <p>Not thread-safe; event-loop only.
 */
final class ReceiveBudget {
  /** What the receiver must do after data arrived. */
  enum Verdict {
    OK,
    CHOKE,
    OVERRUN
  }

  private final int high;
  private final int low;
  private final long limit;
  /** Received and not yet consumed, bytes. */
  private long unconsumed;
  /** True between sending choke and sending unchoke. */
  private boolean choked;

  ReceiveBudget(int low, int high, int allowance) {
    if (low < 0 || low >= high || allowance < 0) {
      throw new IllegalArgumentException("bad budget low=" + low + " high=" + high + " allowance=" + allowance);
    }
    this.high = high;
    this.low = low;
    this.limit = (long) high + allowance + PeerSessionConfig.MAX_CHUNK_SIZE;
  }

  Verdict received(int bytes) {
    unconsumed += bytes;
    if (unconsumed > limit) {
      return Verdict.OVERRUN;
    }
    if (!choked && unconsumed >= high) {
      choked = true;
      return Verdict.CHOKE;
    }
    return Verdict.OK;
  }

  /** @return true if the sender must now be unchoked */
  boolean consumed(int bytes) {
    if (bytes < 0 || bytes > unconsumed) {
      throw new IllegalStateException("consumed " + bytes + " of " + unconsumed + " unconsumed bytes");
    }
    unconsumed -= bytes;
    if (choked && unconsumed <= low) {
      choked = false;
      return true;
    }
    return false;
  }

  long unconsumed() {
    return unconsumed;
  }

  boolean choked() {
    return choked;
  }

  /** The most this channel may buffer before the sender is in violation. */
  long limit() {
    return limit;
  }
}
