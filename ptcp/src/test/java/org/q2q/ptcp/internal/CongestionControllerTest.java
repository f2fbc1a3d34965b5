package org.q2q.ptcp.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Drives congestion controllers alone (quiche's TestSender): send, ack, lose, advance. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class CongestionControllerTest {
  static final int MSS = 1000;
  static final long RTT = 50_000_000L;

  /** A sender harness on a manual clock. */
  static final class TestSender {
    final CongestionController cc;
    final RttEstimator rtt = new RttEstimator(1_000_000_000L, 1_000_000L, 60_000_000_000L);
    long now;

    TestSender(CongestionController cc) {
      this.cc = cc;
      rtt.onSample(RTT);
    }

    /** Sends a full window, advances one RTT, acknowledges it all. Returns bytes sent. */
    long roundTrip() {
      long w = cc.window();
      long sentAt = now;
      cc.onSent(now, w);
      advance(RTT);
      rtt.onSample(RTT);
      for (long b = 0; b < w; b += MSS) {
        cc.onAck(now, sentAt, MSS, rtt, false);
      }
      return w;
    }

    void lose() {
      cc.onCongestionEvent(now, now - 1, cc.window());
    }

    void advance(long ns) {
      now += ns;
    }
  }

  static CongestionController make(String name) {
    return name.equals("newreno") ? new NewReno(MSS, 10) : new Cubic(MSS, 10);
  }

  @ParameterizedTest
  @ValueSource(strings = {"newreno", "cubic"})
  void slowStartDoublesPerRoundTrip(String name) {
    TestSender s = new TestSender(make(name));
    assertThat(s.cc.window()).isEqualTo(10 * MSS);
    s.roundTrip();
    assertThat(s.cc.window()).isEqualTo(20 * MSS);
    s.roundTrip();
    assertThat(s.cc.window()).isEqualTo(40 * MSS);
  }

  @ParameterizedTest
  @ValueSource(strings = {"newreno", "cubic"})
  void lossReducesOncePerRecoveryAndGrowthResumes(String name) {
    TestSender s = new TestSender(make(name));
    for (int i = 0; i < 4; i++) {
      s.roundTrip();
    }
    long before = s.cc.window();
    s.advance(1);
    s.lose();
    long after = s.cc.window();
    assertThat(after).isLessThan(before).isGreaterThanOrEqualTo(before / 2);
    // A second loss of a segment sent before recovery began does not reduce again.
    s.cc.onCongestionEvent(s.now, s.now - 10, after);
    assertThat(s.cc.window()).isEqualTo(after);
    assertThat(s.cc.inSlowStart()).isFalse();
    for (int i = 0; i < 20; i++) {
      s.roundTrip();
    }
    assertThat(s.cc.window()).isGreaterThan(after);
  }

  @Test
  void newRenoAddsOneSegmentPerWindowInAvoidance() {
    TestSender s = new TestSender(new NewReno(MSS, 10));
    s.roundTrip();
    s.advance(1);
    s.lose(); // 20 -> 10 segments
    s.advance(1);
    assertThat(s.cc.window()).isEqualTo(10 * MSS);
    s.roundTrip();
    assertThat(s.cc.window()).isEqualTo(11 * MSS);
    s.roundTrip();
    assertThat(s.cc.window()).isEqualTo(12 * MSS);
  }

  @Test
  void cubicReducesByBetaPointSeven() {
    TestSender s = new TestSender(new Cubic(MSS, 10));
    s.roundTrip();
    s.roundTrip(); // 40 segments
    s.advance(1);
    s.lose();
    assertThat(s.cc.window()).isEqualTo(28 * MSS);
  }

  @ParameterizedTest
  @ValueSource(strings = {"newreno", "cubic"})
  void rtoCollapsesToOneSegment(String name) {
    TestSender s = new TestSender(make(name));
    s.roundTrip();
    s.cc.onRetransmissionTimeout(s.now);
    assertThat(s.cc.window()).isEqualTo(MSS);
    assertThat(s.cc.inSlowStart()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"newreno", "cubic"})
  void appLimitedAcksDoNotGrowTheWindow(String name) {
    CongestionController cc = make(name);
    RttEstimator rtt = new RttEstimator(1_000_000_000L, 1_000_000L, 60_000_000_000L);
    rtt.onSample(RTT);
    long w = cc.window();
    for (int i = 0; i < 100; i++) {
      cc.onAck(i * RTT, i * RTT - RTT, MSS, rtt, true);
    }
    assertThat(cc.window()).isEqualTo(w);
  }

  @Test
  void hyStartLeavesSlowStartWhenTheQueueGrows() {
    NewReno cc = new NewReno(MSS, 10);
    RttEstimator rtt = new RttEstimator(1_000_000_000L, 1_000_000L, 60_000_000_000L);
    long now = 0;
    long r = RTT;
    for (int round = 0; round < 10 && cc.inSlowStart(); round++) {
      for (int i = 0; i < 20; i++) {
        rtt.onSample(r);
        cc.onAck(now, now - r, MSS, rtt, false);
        now += r / 20;
      }
      r += 10_000_000L; // queueing delay grows by 10 ms per round
    }
    assertThat(cc.inSlowStart()).isFalse();
  }

  @Test
  void mssChangeRescalesTheWindow() {
    IntFunction<CongestionController> f = m -> new NewReno(m, 10);
    CongestionController cc = f.apply(1000);
    cc.onMssUpdate(100);
    assertThat(cc.window()).isEqualTo(1000);
  }
}
