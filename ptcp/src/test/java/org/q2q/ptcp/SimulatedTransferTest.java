package org.q2q.ptcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Basic whole-protocol scenarios on the simulated network. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SimulatedTransferTest {
  static final long SEC = 1_000_000_000L;

  static PtcpConfig cfg() {
    return PtcpConfig.builder().build();
  }

  @Test
  void cleanTransferCompletes() {
    SimNetwork net = new SimNetwork(1, cfg());
    Transfer t = new Transfer(net, 1 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.mismatchAt).isEqualTo(-1);
    assertThat(t.client.segmentsRetransmitted()).isZero();
  }

  @Test
  void bidirectionalTransferCompletes() {
    SimNetwork net = new SimNetwork(2, cfg());
    Transfer t = new Transfer(net, 300_000, 200_000);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.mismatchAt).isEqualTo(-1);
  }
}
