package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class MtudTest {
  @Test
  void binarySearchConvergesToThePathLimit() {
    Mtud m = new Mtud(1200, 128, 1452);
    int path = 1380;
    int probes = 0;
    int p;
    while ((p = m.nextProbe()) != 0) {
      probes++;
      if (p <= path) {
        m.onProbeAck(p);
      } else {
        while (m.onProbeSent()) {
          // lost
        }
        m.onProbeTimeout();
      }
    }
    assertThat(m.current()).isBetween(path - 16, path);
    assertThat(probes).isLessThan(10);
  }

  @Test
  void sizeTooBigDropsAtOnceAndBlackHoleHalves() {
    Mtud m = new Mtud(1200, 128, 1452);
    assertThat(m.onSizeTooBig(128, 1200)).isTrue();
    assertThat(m.current()).isEqualTo(128);
    assertThat(m.nextProbe()).isZero(); // the ceiling is the truncation size
    Mtud n = new Mtud(1200, 128, 1452);
    assertThat(n.onSizeTooBig(1300, 1200)).isFalse(); // not smaller than what we sent: ignored
    assertThat(n.onBlackHole()).isTrue();
    assertThat(n.current()).isEqualTo(600);
    assertThat(n.onBlackHole()).isTrue();
    assertThat(n.current()).isEqualTo(300);
  }
}
