package org.q2q.ptcp.internal;

/**
 * One optional deadline (ns) per {@link Timer}; the next timeout is the earliest armed one.
 *
 * <p>Not thread-safe; event-loop only.
 */
public final class TimerTable {
  private final long[] deadline = new long[Timer.VALUES.length];
  private final boolean[] armed = new boolean[Timer.VALUES.length];

  /** Arms {@code t} to fire at {@code when}, ns. */
  public void set(Timer t, long when) {
    deadline[t.ordinal()] = when;
    armed[t.ordinal()] = true;
  }

  /** Disarms {@code t}. */
  public void stop(Timer t) {
    armed[t.ordinal()] = false;
  }

  /** Whether {@code t} is armed. */
  public boolean isSet(Timer t) {
    return armed[t.ordinal()];
  }

  /** Deadline of {@code t}, ns (meaningful only when armed). */
  public long get(Timer t) {
    return deadline[t.ordinal()];
  }

  /** Whether {@code t} is armed and due at {@code now}. */
  public boolean expired(Timer t, long now) {
    return armed[t.ordinal()] && deadline[t.ordinal()] <= now;
  }

  /** Earliest armed deadline, or Long.MAX_VALUE. */
  public long next() {
    long min = Long.MAX_VALUE;
    for (int i = 0; i < deadline.length; i++) {
      if (armed[i] && deadline[i] < min) {
        min = deadline[i];
      }
    }
    return min;
  }

  /** Disarms every timer. */
  public void stopAll() {
    java.util.Arrays.fill(armed, false);
  }
}
