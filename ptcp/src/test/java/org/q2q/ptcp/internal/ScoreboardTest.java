package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ScoreboardTest {
  @Test
  void sackedSegmentsAboveAHoleDeclareItLost() {
    Scoreboard b = new Scoreboard();
    for (int i = 0; i < 10; i++) {
      b.add(i * 100L, 100, false, i, 128);
    }
    assertThat(b.inFlight()).isEqualTo(1000);
    b.onSack(100, 300, s -> { });
    assertThat(b.detectLosses()).isEqualTo(Long.MIN_VALUE); // only 2 above
    b.onSack(300, 400, s -> { });
    assertThat(b.detectLosses()).isZero(); // segment 0 (sent at t=0) lost
    assertThat(b.lostCount()).isEqualTo(1);
    assertThat(b.inFlight()).isEqualTo(1000 - 300 - 100);
    SentSegment s = b.firstLost(1000);
    assertThat(s.start).isZero();
    b.onRetransmit(s, 20, 128);
    assertThat(b.lostCount()).isZero();
    // The retransmission is not declared lost again until something sent after it is delivered.
    b.onSack(400, 500, x -> { });
    assertThat(b.detectLosses()).isEqualTo(Long.MIN_VALUE);
    assertThat(b.onCumulativeAck(500, x -> { })).isEqualTo(100);
    assertThat(b.size()).isEqualTo(5);
  }

  @Test
  void retransmissionIsSplitWhenTheDatagramShrank() {
    Scoreboard b = new Scoreboard();
    b.add(0, 1000, true, 0, 1028);
    b.markAllLost();
    SentSegment s = b.firstLost(300);
    assertThat(s.length).isEqualTo(300);
    assertThat(s.fin).isFalse();
    b.onRetransmit(s, 1, 328);
    int n = 1;
    while ((s = b.firstLost(300)) != null) {
      b.onRetransmit(s, 1, 328);
      n++;
    }
    assertThat(n).isEqualTo(4);
    assertThat(b.get(3).fin).isTrue();
    assertThat(b.inFlight()).isEqualTo(1000);
    b.onCumulativeAck(1001, x -> { });
    assertThat(b.isEmpty()).isTrue();
    assertThat(b.inFlight()).isZero();
  }
}
