package org.q2q.server.internal.limits;

import java.time.Clock;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One token bucket per key (a client network): {@code burst} tokens at most, refilled at {@code
 * perSecond}; an action that finds no token is refused. At most {@code maxKeys} buckets are kept;
 * past that the least recently used is forgotten (it would have been full soonest). Safe for
 * concurrent use.
 */
public final class TokenBuckets {
  private final double burst;
  private final double perMilli;
  private final Clock clock;
  private final int maxKeys;
  /** Tokens per key and when they were counted; guarded by this, in least-recently-used order. */
  private final Map<String, double[]> buckets = new LinkedHashMap<>(16, 0.75f, true);

  public TokenBuckets(int burst, double perSecond, Clock clock, int maxKeys) {
    if (burst < 1 || perSecond <= 0 || maxKeys < 1) {
      throw new IllegalArgumentException("bad bucket settings: burst " + burst + ", " + perSecond + "/s, "
          + maxKeys + " keys");
    }
    this.burst = burst;
    this.perMilli = perSecond / 1000;
    this.clock = clock;
    this.maxKeys = maxKeys;
  }

  /** Takes a token of {@code key}; false if it has none now. */
  public synchronized boolean tryTake(String key) {
    long now = clock.millis();
    double[] b = buckets.get(key);
    if (b == null) {
      if (buckets.size() >= maxKeys) {
        Iterator<String> it = buckets.keySet().iterator();
        it.next();
        it.remove();
      }
      b = new double[] {burst, now};
      buckets.put(key, b);
    } else {
      b[0] = Math.min(burst, b[0] + Math.max(0, now - b[1]) * perMilli);
      b[1] = now;
    }
    if (b[0] < 1) {
      return false;
    }
    b[0] -= 1;
    return true;
  }

  /** Seconds until {@code key} has a token again (0 if it has one), for "try again in" messages. */
  public synchronized long secondsUntilToken(String key) {
    double[] b = buckets.get(key);
    if (b == null || b[0] >= 1) {
      return 0;
    }
    return (long) Math.ceil((1 - b[0]) / perMilli / 1000);
  }

  /** Buckets kept now (tests of the memory bound). */
  public synchronized int size() {
    return buckets.size();
  }
}
