package org.q2q.ptcp.internal;

/**
 * A token bucket in the caller's time (nanoseconds passed in, no clock read): up to {@code burst}
 * tokens, refilled at {@code perSecond}. Bounds how often a remote input may make us send
 * something (resets, SYN-ACKs, challenge ACKs). Not thread-safe.
 */
public final class TokenBucket {
  private final double perSecond;
  private final double burst;
  private double tokens;
  private long last = Long.MIN_VALUE;

  public TokenBucket(double perSecond, double burst) {
    if (perSecond <= 0 || burst < 1) {
      throw new IllegalArgumentException("need perSecond > 0 and burst >= 1: " + perSecond + ", " + burst);
    }
    this.perSecond = perSecond;
    this.burst = burst;
    this.tokens = burst;
  }

  /** Takes a token if one is left at {@code now} (ns); false means: do not send. */
  public boolean take(long now) {
    if (last != Long.MIN_VALUE && now > last) {
      tokens = Math.min(burst, tokens + (now - last) * perSecond / 1e9);
    }
    if (last == Long.MIN_VALUE || now > last) {
      last = now;
    }
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    return false;
  }
}
