package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SendWindowTest {
  private final SendWindow w = new SendWindow();

  @Test
  void unlimitedUntilThePeerAnnouncesABudgetThenTheSmallestWins() {
    assertThat(w.room()).isEqualTo(Long.MAX_VALUE);
    w.notePeerBudget(1000);
    w.notePeerBudget(0); // not stated
    w.notePeerBudget(5000);
    assertThat(w.window()).isEqualTo(1000);
  }

  @Test
  void pongsMoveTheWindowAndPingsComeEveryQuarter() {
    w.notePeerBudget(1000);
    assertThat(w.onSent(249)).isFalse();
    assertThat(w.onSent(1)).isTrue();
    assertThat(w.pingWritten()).isEqualTo(250);
    assertThat(w.onSent(750)).isTrue();
    assertThat(w.room()).isZero();
    assertThat(w.needsPingWhenFull()).isTrue();
    assertThat(w.pingWritten()).isEqualTo(1000);
    assertThat(w.needsPingWhenFull()).isFalse();
    assertThat(w.onPong(250)).isTrue();
    assertThat(w.room()).isEqualTo(250);
    assertThat(w.onPong(100)).isFalse(); // stale
    assertThat(w.onPong(5000)).isFalse(); // beyond what was sent: ignored
    assertThat(w.onPong(1000)).isTrue();
    assertThat(w.room()).isEqualTo(1000);
  }
}
