package org.q2q.server.internal.registration;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.q2q.server.MutableClock;

class FailureLimiterTest {
  private final MutableClock clock = new MutableClock();
  private final FailureLimiter limiter = new FailureLimiter(5, Duration.ofMinutes(1), clock, 3);

  @Test
  void theSixthAttemptInTheWindowIsBlockedUntilTheOldestFailureAgesOut() {
    for (int i = 0; i < 5; i++) {
      assertThat(limiter.blockedFor("k")).isEmpty();
      limiter.recordFailure("k");
      clock.advance(Duration.ofSeconds(10));
    }
    // failures at t=0,10,20,30,40; now t=50: free again at t=60
    assertThat(limiter.blockedFor("k")).contains(Duration.ofSeconds(10));
    clock.advance(Duration.ofSeconds(10));
    assertThat(limiter.blockedFor("k")).isEmpty();
    limiter.recordFailure("k"); // failures at 10..60: blocked until 70
    assertThat(limiter.blockedFor("k")).contains(Duration.ofSeconds(10));
  }

  @Test
  void keysAreIndependentAndResetForgets() {
    for (int i = 0; i < 5; i++) {
      limiter.recordFailure("a");
    }
    assertThat(limiter.blockedFor("a")).isPresent();
    assertThat(limiter.blockedFor("b")).isEmpty();
    limiter.reset("a");
    assertThat(limiter.blockedFor("a")).isEmpty();
  }

  @Test
  void memoryIsBoundedByTheKeyLimit() {
    for (int i = 0; i < 10; i++) {
      limiter.recordFailure("key" + i);
    }
    assertThat(limiter.trackedKeys()).isEqualTo(3);
    clock.advance(Duration.ofMinutes(2));
    limiter.recordFailure("late"); // expired keys are pruned first
    assertThat(limiter.trackedKeys()).isEqualTo(1);
  }

  @Test
  void aReservationCountsAtOnceAndASuccessRefundsIt() {
    for (int i = 0; i < 5; i++) {
      assertThat(limiter.tryReserve("k")).isEmpty(); // five attempts in flight, none finished
    }
    assertThat(limiter.tryReserve("k")).isPresent(); // the sixth is refused before any check ends
    limiter.refund("k"); // one of them had the right password
    assertThat(limiter.tryReserve("k")).isEmpty();
    assertThat(limiter.tryReserve("k")).isPresent();
  }

  @Test
  void whenFullTheLeastRecentlyUsedKeyIsForgottenNotALiveOne() {
    for (int i = 0; i < 5; i++) {
      limiter.recordFailure("victim");
    }
    limiter.recordFailure("a");
    limiter.recordFailure("victim"); // victim is used again: "a" is now the oldest
    limiter.recordFailure("b"); // full: forgets "a"
    assertThat(limiter.trackedKeys()).isEqualTo(3);
    limiter.recordFailure("c");
    assertThat(limiter.blockedFor("victim")).isPresent();
  }
}
