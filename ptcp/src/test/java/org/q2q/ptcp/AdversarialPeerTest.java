package org.q2q.ptcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.ptcp.internal.Assembler;
import org.q2q.ptcp.internal.Header;

/**
 * A peer (or an on-path spoofer who knows the connection ids) sending crafted datagrams, in virtual
 * time (security review M12, L17): what it can make an endpoint hold or send is bounded.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdversarialPeerTest {
  static final long SEC = 1_000_000_000L;
  private final CRC32C crc = new CRC32C();

  /** A datagram from the client's address as the client's connection, sealed. */
  private ByteBuffer forged(PtcpConnection client, PtcpConnection server, int flags, long clientOffset, int payload) {
    Header h = new Header();
    h.flags = flags;
    h.dstCid = server.localConnectionId();
    h.srcCid = client.localConnectionId();
    h.seq = PtcpEndpoint.wire((int) client.isnForTests(), clientOffset);
    h.ack = PtcpEndpoint.wire((int) server.isnForTests(), 1);
    h.window = 0xffff;
    h.payloadLength = payload;
    ByteBuffer b = ByteBuffer.allocate(200);
    h.encode(b);
    for (int i = 0; i < payload; i++) {
      b.put((byte) 'x');
    }
    Header.seal(b, 0, crc);
    b.flip();
    return b;
  }

  /** Datagrams the server endpoint sends now, drained. */
  private static int drainTransmits(SimNetwork net) {
    ByteBuffer out = ByteBuffer.allocate(70_000);
    int n = 0;
    for (; ; ) {
      out.clear();
      if (net.ep[1].pollTransmit(net.now, out) == null) {
        return n;
      }
      n++;
    }
  }

  @Test
  void afterCloseBytesBeyondTheAdvertisedWindowAreNotHeldAndScatteredOnesAreCapped() {
    SimNetwork net = new SimNetwork(21, LifecycleTest.base().build());
    PtcpConnection[] cs = LifecycleTest.establish(net);
    net.drive();
    cs[1].close(); // the server discards input from now on
    // One byte every other offset far ahead of any window (the old limit was 2 GiB ahead).
    for (int k = 0; k < 5000; k++) {
      net.ep[1].handleDatagram(net.now, SimNetwork.ADDR_A, forged(cs[0], cs[1], Header.ACK, 1 + (64L << 20) + 2 * k, 1));
    }
    assertThat(cs[1].outOfOrderRanges()).as("ranges past the window").isZero();
    // Within the window, scattered bytes stop at the assembler's cap.
    for (int k = 0; k < 5000; k++) {
      net.ep[1].handleDatagram(net.now, SimNetwork.ADDR_A, forged(cs[0], cs[1], Header.ACK, 1 + 100 + 2 * k, 1));
    }
    assertThat(cs[1].outOfOrderRanges()).isEqualTo(Assembler.MAX_RANGES);
  }

  @Test
  void inWindowResetGuessesEarnAtMostTenChallengeAcksPerSecond() {
    SimNetwork net = new SimNetwork(22, LifecycleTest.base().build());
    PtcpConnection[] cs = LifecycleTest.establish(net);
    net.drive();
    drainTransmits(net);
    int acks = 0;
    for (int k = 0; k < 1000; k++) {
      net.ep[1].handleDatagram(net.now, SimNetwork.ADDR_A, forged(cs[0], cs[1], Header.RST, 1 + 1000 + k, 0));
      acks += drainTransmits(net);
    }
    assertThat(cs[1].state()).as("no guess was exact").isEqualTo(PtcpState.ESTABLISHED);
    assertThat(acks).isEqualTo(PtcpConnection.CHALLENGE_ACKS_PER_SECOND);
    assertThat(cs[1].challengeAcksSuppressed()).isEqualTo(1000 - PtcpConnection.CHALLENGE_ACKS_PER_SECOND);
    // A second later the bucket has refilled: a real peer's out-of-sync state is still answered.
    net.now += SEC;
    net.ep[1].handleDatagram(net.now, SimNetwork.ADDR_A, forged(cs[0], cs[1], Header.RST, 1 + 1000, 0));
    assertThat(drainTransmits(net)).isEqualTo(1);
  }

  @Test
  void aSpoofedSynFloodIsReflectedAtMostAtTheSynAckRate() {
    SimNetwork net = new SimNetwork(23, LifecycleTest.base().build());
    int syns = 5 * PtcpEndpoint.MAX_SYN_ACKS_PER_SECOND;
    Header h = new Header();
    int answered = 0;
    ByteBuffer out = ByteBuffer.allocate(2000);
    for (int i = 0; i < syns; i++) {
      ByteBuffer b = ByteBuffer.allocate(100);
      h.clear();
      h.flags = Header.SYN;
      h.srcCid = 1 + i;
      h.seq = 7 * i;
      h.hasHandshake = true;
      h.hsIsn = h.seq;
      h.hsMaxDatagram = 1452;
      h.encode(b);
      Header.seal(b, 0, crc);
      b.flip();
      net.ep[1].handleDatagram(net.now, new InetSocketAddress("198.51.100." + (i % 250), 1000 + i), b);
      out.clear();
      if (net.ep[1].pollTransmit(net.now, out) != null) {
        answered++;
      }
    }
    assertThat(answered).isEqualTo(PtcpEndpoint.MAX_SYN_ACKS_PER_SECOND);
    assertThat(net.ep[1].synAcksSuppressed()).isEqualTo(syns - PtcpEndpoint.MAX_SYN_ACKS_PER_SECOND);
    assertThat(net.ep[1].connectionCount()).isZero();
    // A real client arriving a second later gets its connection.
    net.now += SEC;
    PtcpConnection c = net.connect();
    net.driveUntil(() -> c.state() == PtcpState.ESTABLISHED, net.now + 5 * SEC);
    assertThat(c.state()).isEqualTo(PtcpState.ESTABLISHED);
  }

  @Test
  void thePerHostCapFollowsConnectionsThatEnd() {
    SimNetwork net = new SimNetwork(24, LifecycleTest.base().build());
    java.util.List<PtcpConnection> first = new java.util.ArrayList<>();
    for (int i = 0; i < PtcpEndpoint.MAX_CONNECTIONS_PER_HOST; i++) {
      first.add(net.connect());
    }
    net.driveUntil(() -> net.ep[1].connectionCount() == PtcpEndpoint.MAX_CONNECTIONS_PER_HOST, net.now + 5 * SEC);
    for (PtcpConnection c : first) {
      c.abort();
    }
    net.driveUntil(() -> net.ep[1].connectionCount() == 0, net.now + 5 * SEC);
    assertThat(net.ep[1].connectionCount()).isZero();
    PtcpConnection again = net.connect();
    net.driveUntil(() -> again.state() == PtcpState.ESTABLISHED, net.now + 5 * SEC);
    assertThat(again.state()).as("the host's count dropped with its connections").isEqualTo(PtcpState.ESTABLISHED);
  }
}
