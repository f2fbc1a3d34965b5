package org.q2q.client.internal.connect;

import java.util.function.LongSupplier;

/**
 * The one time budget of a connect (DESIGN.md: Identify, Inbound, the race and opening the
 * channel all run under one deadline); each step asks for what is left. Immutable.
 */
public final class Deadline {
  private final LongSupplier nanoTime;
  private final long endNanos;
  private final long totalMillis;

  private Deadline(LongSupplier nanoTime, long totalMillis) {
    this.nanoTime = nanoTime;
    this.totalMillis = totalMillis;
    this.endNanos = nanoTime.getAsLong() + totalMillis * 1_000_000L;
  }

  /** A deadline {@code millis} from now on {@code nanoTime}'s clock. */
  public static Deadline after(long millis, LongSupplier nanoTime) {
    if (millis <= 0) {
      throw new IllegalArgumentException("a deadline needs a positive budget: " + millis);
    }
    return new Deadline(nanoTime, millis);
  }

  /** Milliseconds left, at least 1 while not expired, 0 after. */
  public long remainingMillis() {
    long left = endNanos - nanoTime.getAsLong();
    return left <= 0 ? 0 : Math.max(1, left / 1_000_000L);
  }

  /** The whole budget. */
  public long totalMillis() {
    return totalMillis;
  }

  @Override
  public String toString() {
    return remainingMillis() + " of " + totalMillis + " ms left";
  }
}
