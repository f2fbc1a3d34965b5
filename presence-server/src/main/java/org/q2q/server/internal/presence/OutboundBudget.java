package org.q2q.server.internal.presence;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes the server holds for Listen clients that do not read fast enough: at most {@code
 * perSession} for one stream and {@code global} for all of them together. A stream that would pass
 * either bound is ended instead of queuing more. Safe for concurrent use.
 */
public final class OutboundBudget {
  private final long perSession;
  private final long global;
  private final AtomicLong used = new AtomicLong();

  public OutboundBudget(long perSession, long global) {
    if (perSession < 1 || global < 1) {
      throw new IllegalArgumentException("budgets must be positive: " + perSession + ", " + global);
    }
    this.perSession = perSession;
    this.global = global;
  }

  /**
   * Takes {@code n} more bytes for a stream that holds {@code held} already.
   *
   * @return false (nothing taken) if the stream's or the server's bound would be passed
   */
  public boolean tryTake(long held, long n) {
    if (held + n > perSession) {
      return false;
    }
    if (used.addAndGet(n) > global) {
      used.addAndGet(-n);
      return false;
    }
    return true;
  }

  /** Gives back {@code n} bytes taken earlier. */
  public void give(long n) {
    used.addAndGet(-n);
  }

  /** Bytes held now over all streams. */
  public long used() {
    return used.get();
  }

  /** The per-stream bound. */
  public long perSession() {
    return perSession;
  }
}
