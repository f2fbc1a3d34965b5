package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RttEstimatorTest {
  static final long MS = 1_000_000L;

  @Test
  void followsRfc6298() {
    RttEstimator e = new RttEstimator(1000 * MS, 1 * MS, 60_000 * MS);
    assertThat(e.rto()).isEqualTo(1000 * MS); // before any sample
    e.onSample(100 * MS);
    assertThat(e.srtt()).isEqualTo(100 * MS);
    assertThat(e.rttvar()).isEqualTo(50 * MS);
    assertThat(e.rto()).isEqualTo(300 * MS); // SRTT + 4 RTTVAR
    e.onSample(200 * MS);
    assertThat(e.rttvar()).isEqualTo((3 * 50 + 100) * MS / 4); // 62.5 ms
    assertThat(e.srtt()).isEqualTo((7 * 100 + 200) * MS / 8); // 112.5 ms
    assertThat(e.rto()).isEqualTo(e.srtt() + 4 * e.rttvar());
  }

  @Test
  void clampsAndBacksOff() {
    RttEstimator e = new RttEstimator(1000 * MS, 200 * MS, 2000 * MS);
    e.onSample(10 * MS);
    assertThat(e.rto()).isEqualTo(200 * MS);
    e.backoff();
    assertThat(e.rto()).isEqualTo(400 * MS);
    e.backoff();
    e.backoff();
    assertThat(e.rto()).isEqualTo(1600 * MS);
    e.backoff();
    assertThat(e.rto()).isEqualTo(2000 * MS); // max RTO
    e.resetBackoff();
    assertThat(e.rto()).isEqualTo(200 * MS);
    assertThat(e.minRtt()).isEqualTo(10 * MS);
  }
}
