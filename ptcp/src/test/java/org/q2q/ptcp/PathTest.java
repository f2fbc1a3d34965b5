package org.q2q.ptcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Path MTU discovery, sequence wraparound and bottleneck links in virtual time (speed goals: SimGoodput goals). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PathTest {
  static final long SEC = 1_000_000_000L;

  @Test
  void probesUpToTheMaximumOnAnOpenPath() {
    SimNetwork net = new SimNetwork(1, PtcpConfig.defaults());
    net.both(l -> l.mtu = 1500);
    Transfer t = new Transfer(net, 2 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isEqualTo(1452);
  }

  @Test
  void aPeerOnALargeMtuLinkProbesUpToTheLinkMtu() {
    // Both ends report a 9000-byte link (jumbo frames, or loopback's 65536 scaled down): the search
    // goes past the routed maximum of 1452 up to the link's payload size.
    SimNetwork net = new SimNetwork(11, PtcpConfig.defaults());
    net.both(l -> {
      l.mtu = 8972;
      l.rate = 0;
    });
    net.ep[0].linkMtu(a -> 8972);
    net.ep[1].linkMtu(a -> 8972);
    Transfer t = new Transfer(net, 8 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isEqualTo(8972);
    assertThat(net.ep[0].maxDatagramSize()).isEqualTo(8972);
  }

  @Test
  void theSmallerCeilingOfTheTwoEndsWins() {
    // The client's link is large, the server knows nothing of it (routed, 0): the server's
    // announced 1452 caps the client, and no datagram above it is ever offered to the path.
    SimNetwork net = new SimNetwork(12, PtcpConfig.defaults());
    net.ep[0].linkMtu(a -> 65_000);
    net.both(l -> l.dropAbove = 1452);
    Transfer t = new Transfer(net, 2 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isEqualTo(1452);
    assertThat(net.links[0].dropped).isZero();
  }

  @Test
  void aLinkCeilingAboveTheRealPathSettlesOnThePath() {
    // The link claims 65,507 but a hop truncates at 1500: the search settles on the path, not the link.
    SimNetwork net = new SimNetwork(13, PtcpConfig.defaults());
    net.ep[0].linkMtu(a -> 65_507);
    net.ep[1].linkMtu(a -> 65_507);
    net.both(l -> l.mtu = 1500);
    Transfer t = new Transfer(net, 2 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isBetween(1484, 1500);
  }

  @Test
  void linkMtuProbingCanBeTurnedOff() {
    PtcpConfig cfg = PtcpConfig.builder().linkMtuProbing(false).build();
    SimNetwork net = new SimNetwork(14, cfg);
    net.ep[0].linkMtu(a -> 8972);
    net.ep[1].linkMtu(a -> 8972);
    Transfer t = new Transfer(net, 2 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isEqualTo(1452);
  }

  @Test
  void convergesBelowAnIntermediateTruncatingMtu() {
    SimNetwork net = new SimNetwork(2, PtcpConfig.defaults());
    net.both(l -> l.mtu = 1300);
    Transfer t = new Transfer(net, 2 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isBetween(1284, 1300);
  }

  @Test
  void survivesAPathThatTruncatesEverythingTo128Bytes() {
    SimNetwork net = new SimNetwork(3, PtcpConfig.defaults());
    net.both(l -> l.mtu = 128);
    Transfer t = new Transfer(net, 256 * 1024, 64 * 1024);
    net.driveUntil(t::bothEnded, 600 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isEqualTo(128);
    assertThat(t.server.datagramSize()).isEqualTo(128);
    assertThat(t.mismatchAt).isEqualTo(-1);
  }

  @Test
  void fallsBackWhenLargeDatagramsAreSilentlyDropped() {
    // A black hole for datagrams above 600 bytes (no truncation, so no STB signal).
    SimNetwork net = new SimNetwork(4, PtcpConfig.defaults());
    net.both(l -> l.dropAbove = 600);
    Transfer t = new Transfer(net, 256 * 1024, 0);
    net.driveUntil(t::bothEnded, 600 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.datagramSize()).isLessThanOrEqualTo(600);
  }

  @Test
  void sequenceNumbersWrapAroundMidStream() {
    PtcpConfig cfg = PtcpConfig.builder().initialSequenceNumber(0xFFFF_F000L).build();
    SimNetwork net = new SimNetwork(5, cfg);
    Transfer t = new Transfer(net, 1 << 20, 1 << 19);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    assertThat(t.client.isnForTests()).isEqualTo(0xFFFF_F000L);
  }

  @Test
  void wraparoundUnderLossAndReordering() {
    PtcpConfig cfg = PtcpConfig.builder().initialSequenceNumber(0xFFFF_FF00L).build();
    for (long seed = 0; seed < 10; seed++) {
      SimNetwork net = new SimNetwork(seed, cfg);
      net.both(l -> {
        l.loss = 0.05;
        l.jitter = 20_000_000L;
      });
      Transfer t = new Transfer(net, 300_000, 100_000);
      net.driveUntil(t::bothEnded, 600 * SEC);
      assertThat(t.completed()).as(t.toString()).isTrue();
    }
  }

  @Test
  void aBottleneckLinkCarriesEightMiBIntact() {
    // 20 MB/s bottleneck, 20 ms RTT. How fast is a benchmark question: SimGoodput goals.
    SimNetwork net = new SimNetwork(6, PtcpConfig.defaults());
    Transfer t = new Transfer(net, 8 << 20, 0);
    net.driveUntil(t::bothEnded, 120 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
  }

  @Test
  void cubicAndBbrBothDeliverIntactUnderRandomLoss() {
    for (PtcpConfig.Congestion cc : new PtcpConfig.Congestion[] {PtcpConfig.Congestion.CUBIC, PtcpConfig.Congestion.BBR}) {
      SimNetwork net = new SimNetwork(7, PtcpConfig.builder().congestion(cc).build());
      net.both(l -> l.loss = 0.01);
      Transfer t = new Transfer(net, 8 << 20, 0);
      net.driveUntil(t::bothEnded, 600 * SEC);
      assertThat(t.completed()).as("%s %s", cc, t).isTrue();
    }
  }

  @Test
  void sameSeedSameRun() {
    long[] r = new long[2];
    for (int i = 0; i < 2; i++) {
      SimNetwork net = new SimNetwork(42, PtcpConfig.defaults());
      net.both(l -> {
        l.loss = 0.05;
        l.jitter = 10_000_000L;
        l.duplicate = 0.05;
      });
      Transfer t = new Transfer(net, 500_000, 0);
      net.driveUntil(t::bothEnded, 600 * SEC);
      r[i] = net.now * 31 + net.steps * 7 + t.client.segmentsRetransmitted();
    }
    assertThat(r[0]).isEqualTo(r[1]);
  }
}
