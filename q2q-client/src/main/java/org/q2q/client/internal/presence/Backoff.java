package org.q2q.client.internal.presence;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Jittered exponential backoff between reconnection attempts ("full jitter": a uniformly random
 * delay between 0 and min(max, initial * 2^attempt)), so many clients that lost the same server
 * do not all come back in the same instant. {@link #reset()} after a success. Not thread-safe.
 */
public final class Backoff {
  private final long initialMillis;
  private final long maxMillis;
  private final RandomGenerator random;
  /** Consecutive failures since the last reset. */
  private int attempt;

  /**
   * @param initial the ceiling of the first delay
   * @param max the largest ceiling
   * @param random the source of jitter (seeded in tests)
   */
  public Backoff(Duration initial, Duration max, RandomGenerator random) {
    this.initialMillis = Math.max(1, initial.toMillis());
    this.maxMillis = Math.max(initialMillis, max.toMillis());
    this.random = Objects.requireNonNull(random, "random");
  }

  /** The delay before the next attempt, in milliseconds; each call counts one more failure. */
  public long nextDelayMillis() {
    long ceiling = initialMillis << Math.min(attempt, 30);
    if (ceiling <= 0 || ceiling > maxMillis) {
      ceiling = maxMillis;
    }
    attempt++;
    // Never 0, so a tight failure loop still yields; at least a tenth of the ceiling.
    long floor = Math.max(1, ceiling / 10);
    return floor + (long) (random.nextDouble() * (ceiling - floor));
  }

  /** Consecutive failures counted so far. */
  public int attempts() {
    return attempt;
  }

  /** Starts over after a successful connection. */
  public void reset() {
    attempt = 0;
  }
}
