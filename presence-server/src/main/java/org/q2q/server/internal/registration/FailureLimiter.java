package org.q2q.server.internal.registration;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Counts failed password attempts per key (an address, or a client IP) in a sliding window: once
 * a key has {@code maxFailures} failures younger than {@code window}, it is blocked until the
 * oldest of them ages out. Memory is bounded: at most {@code maxKeys} keys are tracked; when full,
 * expired ones are pruned first, then the least recently used key is forgotten (never an arbitrary
 * live one, L12).
 *
 * <p>Callers that spend work on an attempt (a password hash) {@link #tryReserve} it first: the
 * check and the count are one atomic step, so concurrent attempts cannot all pass a check made
 * before any of them failed (M3); a success {@link #refund}s its reservation. Safe for concurrent
 * use.
 */
public final class FailureLimiter {
  private final int maxFailures;
  private final Duration window;
  private final Clock clock;
  private final int maxKeys;
  /** Failure times per key, oldest first, keys in least-recently-used order; guarded by this. */
  private final Map<String, Deque<Instant>> failures = new LinkedHashMap<>(16, 0.75f, true);

  public FailureLimiter(int maxFailures, Duration window, Clock clock, int maxKeys) {
    if (maxFailures < 1 || window.isNegative() || window.isZero() || maxKeys < 1) {
      throw new IllegalArgumentException(
          "bad limiter settings: " + maxFailures + " failures per " + window + ", " + maxKeys + " keys");
    }
    this.maxFailures = maxFailures;
    this.window = window;
    this.clock = clock;
    this.maxKeys = maxKeys;
  }

  /** How long {@code key} stays blocked, or empty if it may try now. */
  public synchronized Optional<Duration> blockedFor(String key) {
    Deque<Instant> d = failures.get(key);
    if (d == null) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    expire(d, now);
    if (d.isEmpty()) {
      failures.remove(key);
      return Optional.empty();
    }
    if (d.size() < maxFailures) {
      return Optional.empty();
    }
    // blocked until enough failures have aged out to get back under the limit
    Instant freeAt = d.stream().skip(d.size() - maxFailures).findFirst().orElseThrow().plus(window);
    return Optional.of(Duration.between(now, freeAt));
  }

  /**
   * Counts an attempt of {@code key} now as a failure unless it is blocked; {@link #refund} it if
   * the attempt succeeds.
   *
   * @return how long {@code key} stays blocked (nothing counted), or empty if the attempt may go on
   */
  public synchronized Optional<Duration> tryReserve(String key) {
    Optional<Duration> blocked = blockedFor(key);
    if (blocked.isEmpty()) {
      recordFailure(key);
    }
    return blocked;
  }

  /** Takes back the latest failure of {@code key} (a reserved attempt that succeeded). */
  public synchronized void refund(String key) {
    Deque<Instant> d = failures.get(key);
    if (d != null) {
      d.pollLast();
      if (d.isEmpty()) {
        failures.remove(key);
      }
    }
  }

  /** Records a failure of {@code key} now. */
  public synchronized void recordFailure(String key) {
    Instant now = clock.instant();
    if (!failures.containsKey(key) && failures.size() >= maxKeys) {
      prune(now);
      if (failures.size() >= maxKeys) {
        // Still full of live keys: forget the least recently used rather than grow without bound.
        Iterator<String> it = failures.keySet().iterator();
        it.next();
        it.remove();
      }
    }
    Deque<Instant> d = failures.computeIfAbsent(key, k -> new ArrayDeque<>());
    expire(d, now);
    d.addLast(now);
    while (d.size() > maxFailures) {
      d.removeFirst();
    }
  }

  /** Forgets the failures of {@code key} (after a success). */
  public synchronized void reset(String key) {
    failures.remove(key);
  }

  /** How many keys are tracked now (for tests of the memory bound). */
  synchronized int trackedKeys() {
    return failures.size();
  }

  private void expire(Deque<Instant> d, Instant now) {
    Instant cutoff = now.minus(window);
    while (!d.isEmpty() && !d.peekFirst().isAfter(cutoff)) {
      d.removeFirst();
    }
  }

  private void prune(Instant now) {
    failures.values().forEach(d -> expire(d, now));
    failures.values().removeIf(Deque::isEmpty);
  }
}
