package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class SeqNumTest {
  @Test
  void comparesAcrossTheWrap() {
    assertThat(SeqNum.lt(0xFFFFFFF0, 0x10)).isTrue();
    assertThat(SeqNum.gt(0x10, 0xFFFFFFF0)).isTrue();
    assertThat(SeqNum.le(5, 5)).isTrue();
    assertThat(SeqNum.lt(5, 5)).isFalse();
    assertThat(SeqNum.lt(0x7FFFFFFF, 0x80000000)).isTrue();
  }

  @Test
  void offsetsBeyondFourGibRoundTrip() {
    int isn = 0xFFFFFF00;
    Random r = new Random(1);
    for (int i = 0; i < 100_000; i++) {
      long offset = (r.nextLong() >>> 20); // up to 2^44: far beyond 4 GiB
      int wire = SeqNum.toWire(isn, offset);
      long expected = offset + r.nextInt(1 << 30) - (1 << 29); // anywhere within +-2^29
      assertThat(SeqNum.toOffset(isn, wire, Math.max(0, expected))).isEqualTo(offset);
    }
  }

  @Test
  void synOccupiesOffsetMinusOne() {
    assertThat(SeqNum.toWire(7, -1)).isEqualTo(7);
    assertThat(SeqNum.toWire(-1, 0)).isEqualTo(0);
    assertThat(SeqNum.toOffset(-1, 0, 0)).isZero();
    assertThat(SeqNum.toOffset(0xFFFFFFFF, 5, (1L << 32) + 3)).isEqualTo((1L << 32) + 5);
  }
}
