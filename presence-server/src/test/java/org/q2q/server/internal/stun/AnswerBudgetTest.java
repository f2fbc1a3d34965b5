package org.q2q.server.internal.stun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The answer budget in virtual time. */
class AnswerBudgetTest {
  private static final long SECOND = 1_000_000_000L;

  private static InetAddress ip(int i) throws Exception {
    return InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
  }

  @Test
  void oneSourceGetsItsBurstThenItsRate() throws Exception {
    AnswerBudget b = new AnswerBudget(5, 20, 1_000_000, 7);
    InetAddress a = ip(1);
    int granted = 0;
    for (int i = 0; i < 1000; i++) {
      granted += b.tryTake(a, 0) ? 1 : 0;
    }
    assertThat(granted).isEqualTo(20);
    // ten seconds of a flood at 1000/s: 5/s more
    granted = 0;
    for (long t = 1; t <= 10 * SECOND; t += SECOND / 1000) {
      granted += b.tryTake(a, t) ? 1 : 0;
    }
    assertThat(granted).isBetween(49, 51);
  }

  @Test
  void sourcesDoNotShareABucketExceptByHashCollision() throws Exception {
    AnswerBudget b = new AnswerBudget(1, 2, 1_000_000, 99);
    int granted = 0;
    for (int i = 0; i < 1000; i++) {
      granted += b.tryTake(ip(i), 0) ? 1 : 0;
      granted += b.tryTake(ip(i), 0) ? 1 : 0;
      granted += b.tryTake(ip(i), 0) ? 1 : 0; // the third is refused
    }
    // 1000 sources into 64 Ki slots: a handful (about 8 pairs) collide and share their two tokens
    assertThat(granted).isBetween(1950, 2000);
  }

  @Test
  void theGlobalBucketCapsSpoofedSources() throws Exception {
    AnswerBudget b = new AnswerBudget(5, 20, 100, 3);
    Random r = new Random(5);
    int granted = 0;
    for (long t = 0; t < 10 * SECOND; t += SECOND / 10_000) { // 100k requests from random sources
      granted += b.tryTake(ip(r.nextInt(1 << 24)), t) ? 1 : 0;
    }
    assertThat(granted).isBetween(1000, 1101); // 100 burst + 100/s for 10 s
  }

  @Test
  void badSettingsAreRefused() {
    assertThatThrownBy(() -> new AnswerBudget(0, 1, 1, 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0.0/s");
    assertThatThrownBy(() -> new AnswerBudget(1, 0, 1, 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
