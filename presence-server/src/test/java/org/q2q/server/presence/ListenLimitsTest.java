package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ListenLimitsTest {
  @Test
  void unusedListenerIdsTakeAtMostAnEighthOfASmallHeap() {
    long heap = 256L << 20; // a small VPS's server
    int ids = ListenLimits.listenerIdsFor(heap);
    assertThat((long) ids * ListenLimits.BYTES_PER_LISTENER_ID).isLessThanOrEqualTo(heap / 8);
    assertThat(ids).isGreaterThan(100_000); // still minutes of a busy domain's Inbound
  }

  @Test
  void aLargeHeapHoldsAMillionIds() {
    assertThat(ListenLimits.listenerIdsFor(2L << 30)).isEqualTo(1_000_000);
    assertThat(ListenLimits.listenerIdsFor(64L << 30)).isEqualTo(1_000_000);
    assertThat(ListenLimits.defaults().maxListenerIds()).isPositive();
  }
}
