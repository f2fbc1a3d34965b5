package org.q2q.client.internal.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReceiveBudgetTest {
  private final ReceiveBudget budget = new ReceiveBudget(100, 1000, 500);

  @Test
  void chokesOnceAtTheHighMarkAndUnchokesAtTheLowMark() {
    assertThat(budget.received(999)).isEqualTo(ReceiveBudget.Verdict.OK);
    assertThat(budget.received(1)).isEqualTo(ReceiveBudget.Verdict.CHOKE);
    assertThat(budget.received(10)).isEqualTo(ReceiveBudget.Verdict.OK); // already choked
    assertThat(budget.consumed(900)).isFalse(); // 110 left, above the low mark
    assertThat(budget.consumed(10)).isTrue(); // 100: at the low mark
    assertThat(budget.choked()).isFalse();
    assertThat(budget.consumed(100)).isFalse();
  }

  @Test
  void overrunIsHighPlusAllowancePlusOneMaximalFrame() {
    long limit = 1000 + 500 + PeerSessionConfig.MAX_CHUNK_SIZE;
    assertThat(budget.limit()).isEqualTo(limit);
    budget.received((int) limit - 1);
    assertThat(budget.received(1)).isEqualTo(ReceiveBudget.Verdict.OK);
    assertThat(budget.received(1)).isEqualTo(ReceiveBudget.Verdict.OVERRUN);
  }

  @Test
  void consumingMoreThanReceivedIsABug() {
    budget.received(10);
    assertThatThrownBy(() -> budget.consumed(11)).isInstanceOf(IllegalStateException.class).hasMessageContaining("11 of 10");
  }

  @Test
  void rejectsInconsistentMarks() {
    assertThatThrownBy(() -> new ReceiveBudget(10, 10, 0)).hasMessageContaining("low=10 high=10");
  }
}
