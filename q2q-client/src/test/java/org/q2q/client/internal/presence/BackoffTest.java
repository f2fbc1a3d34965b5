package org.q2q.client.internal.presence;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void delaysGrowExponentiallyWithJitterUpToTheMaximum() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), new SplittableRandom(7));
    long[] ceilings = {100, 200, 400, 800, 1600, 2000, 2000, 2000};
    for (long ceiling : ceilings) {
      long d = b.nextDelayMillis();
      assertThat(d).isBetween(ceiling / 10, ceiling);
    }
    assertThat(b.attempts()).isEqualTo(ceilings.length);
  }

  @Test
  void resetStartsOverAndJitterSpreadsClients() {
    Backoff b = new Backoff(Duration.ofMillis(1000), Duration.ofSeconds(30), new SplittableRandom(1));
    for (int i = 0; i < 5; i++) {
      b.nextDelayMillis();
    }
    b.reset();
    assertThat(b.nextDelayMillis()).isLessThanOrEqualTo(1000);

    // many clients failing at once do not all retry in the same instant
    java.util.Set<Long> firstDelays = new java.util.HashSet<>();
    SplittableRandom seeds = new SplittableRandom(42);
    for (int i = 0; i < 50; i++) {
      firstDelays.add(new Backoff(Duration.ofMillis(1000), Duration.ofSeconds(30), seeds.split()).nextDelayMillis());
    }
    assertThat(firstDelays.size()).isGreaterThan(40);
  }

  @Test
  void hugeAttemptCountsDoNotOverflow() {
    Backoff b = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), new SplittableRandom(3));
    for (int i = 0; i < 200; i++) {
      assertThat(b.nextDelayMillis()).isBetween(1L, 30_000L);
    }
  }
}
