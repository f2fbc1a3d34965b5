package org.q2q.client.internal.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Recovery after an outage, in virtual time: a listener loses its server at t = 0, the server is
 * back after an outage of up to six hours, and the listener retries as {@link PresenceSession} does
 * (a {@link Backoff} delay with the session's defaults, then an attempt that fails fast while the
 * server is down, or hangs until the attempt timeout when its packets vanish). However long the
 * outage, the listener must be back within a few seconds of the server's return; and the first
 * retry after a loss comes almost at once. A thousand seeds each.
 */
class ReconnectTimingTest {
  private static final long INITIAL = PresenceSession.DEFAULT_BACKOFF_INITIAL.toMillis();
  private static final long MAX = PresenceSession.DEFAULT_BACKOFF_MAX.toMillis();
  private static final long ATTEMPT_TIMEOUT = PresenceSession.DEFAULT_ATTEMPT_TIMEOUT.toMillis();
  /** An attempt on a reachable server: TCP + TLS + the first answer. */
  private static final long CONNECT = 300;

  /** Virtual ms from the server's return until the listener is online again. */
  private static long recoveryAfter(long outageMillis, boolean blackholed, SplittableRandom random) {
    Backoff backoff = new Backoff(PresenceSession.DEFAULT_BACKOFF_INITIAL, PresenceSession.DEFAULT_BACKOFF_MAX, random);
    long now = 0;
    while (true) {
      now += backoff.nextDelayMillis();
      if (now >= outageMillis) {
        return now + CONNECT - outageMillis;
      }
      // a failed attempt: refused at once, or (vanishing packets) given up at the attempt timeout;
      // an attempt in flight when the server returns is the worst case, and still fails here
      now += blackholed ? ATTEMPT_TIMEOUT : random.nextLong(1, 50);
    }
  }

  @Test
  void aListenerIsBackWithinAFewSecondsOfItsServerHoweverLongTheOutage() {
    SplittableRandom seeds = new SplittableRandom(20261203);
    long worstRefused = 0;
    long worstBlackholed = 0;
    for (int i = 0; i < 1000; i++) {
      long seed = seeds.nextLong();
      long outage = new SplittableRandom(seed).nextLong(0, 6 * 3600_000L);
      worstRefused = Math.max(worstRefused, recoveryAfter(outage, false, new SplittableRandom(seed)));
      worstBlackholed = Math.max(worstBlackholed, recoveryAfter(outage, true, new SplittableRandom(seed)));
    }
    assertThat(worstRefused).as("server restarted, connections refused meanwhile").isLessThanOrEqualTo(MAX + CONNECT);
    assertThat(MAX + CONNECT).isLessThanOrEqualTo(6_000);
    assertThat(worstBlackholed).as("server host unreachable meanwhile")
        .isLessThanOrEqualTo(ATTEMPT_TIMEOUT + MAX + CONNECT);
  }

  @Test
  void theFirstRetryComesAlmostAtOnceAndRetriesAreSpreadOut() {
    java.util.Set<Long> firstDelays = new java.util.HashSet<>();
    java.util.Set<Long> cappedDelays = new java.util.HashSet<>();
    for (long seed = 0; seed < 1000; seed++) {
      Backoff b = new Backoff(PresenceSession.DEFAULT_BACKOFF_INITIAL, PresenceSession.DEFAULT_BACKOFF_MAX,
          new SplittableRandom(seed));
      long first = b.nextDelayMillis();
      assertThat(first).isBetween(1L, INITIAL).isLessThanOrEqualTo(500);
      firstDelays.add(first);
      for (int i = 0; i < 20; i++) {
        b.nextDelayMillis();
      }
      long capped = b.nextDelayMillis();
      assertThat(capped).isBetween(MAX / 10, MAX);
      cappedDelays.add(capped);
    }
    // jitter: a thousand listeners of one restarted server do not come back in the same instant
    assertThat(firstDelays.size()).isGreaterThan(150);
    assertThat(cappedDelays.size()).isGreaterThan(800);
  }
}
