package org.q2q.ptcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.q2q.ptcp.internal.Header;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Connection lifecycle in virtual time, with exact timing assertions. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LifecycleTest {
  static final long MS = 1_000_000L;
  static final long SEC = 1_000_000_000L;

  static PtcpConfig.Builder base() {
    return PtcpConfig.builder().mtuProbing(false).pacing(false);
  }

  /** Establishes A -> B and returns {client, server}. */
  static PtcpConnection[] establish(SimNetwork net) {
    PtcpConnection c = net.connect();
    net.driveUntil(() -> !net.eventsOf(1, PtcpEvent.Type.ACCEPTED).isEmpty()
        && !net.eventsOf(0, PtcpEvent.Type.CONNECTED).isEmpty(), 10 * SEC);
    assertThat(net.eventsOf(0, PtcpEvent.Type.CONNECTED)).hasSize(1);
    return new PtcpConnection[] {c, net.eventsOf(1, PtcpEvent.Type.ACCEPTED).get(0).connection()};
  }

  static PtcpEvent closed(SimNetwork net, int side) {
    List<PtcpEvent> l = net.eventsOf(side, PtcpEvent.Type.CLOSED);
    return l.isEmpty() ? null : l.get(0);
  }

  @Test
  void handshakeRetriesBackOffThenConnectTimeoutAtExactTime() {
    SimNetwork net = new SimNetwork(1, base().initialRto(Duration.ofSeconds(1))
        .connectTimeout(Duration.ofSeconds(10)).build());
    net.links[0].silent = true;
    net.logSends = true;
    long[] closedAt = {-1};
    net.onStep(n -> {
      if (closedAt[0] < 0 && closed(n, 0) != null) {
        closedAt[0] = n.now;
      }
    });
    net.connect();
    net.driveUntil(() -> closedAt[0] >= 0, 60 * SEC);
    assertThat(net.sendLog).extracting(r -> r[0]).containsExactly(0L, 1 * SEC, 3 * SEC, 7 * SEC);
    assertThat(net.sendLog).allMatch(r -> r[2] == Header.SYN);
    assertThat(closedAt[0]).isEqualTo(10 * SEC);
    assertThat(closed(net, 0).error().code()).isEqualTo(PtcpErrorCode.CONNECT_TIMEOUT);
    assertThat(net.ep[0].connectionCount()).isZero();
    assertThat(net.ep[1].connectionCount()).isZero();
  }

  @Test
  void handshakeSurvivesLostSynAck() {
    SimNetwork net = new SimNetwork(2, base().build());
    net.links[1].blackHoleFrom = 0;
    net.links[1].blackHoleUntil = 1500 * MS; // first SYN-ACK lost; the retry at 1 s also lost
    PtcpConnection[] cs = establish(net);
    assertThat(cs[0].state()).isEqualTo(PtcpState.ESTABLISHED);
    // SYNs at 0, 1 s, 3 s: the third one's SYN-ACK gets through at 3 s + 20 ms.
    assertThat(net.now).isBetween(3 * SEC, 3 * SEC + 100 * MS);
  }

  @Test
  void lostHandshakeAckIsRetransmittedUntilServerConfirms() {
    SimNetwork net = new SimNetwork(3, base().initialRto(Duration.ofMillis(500)).build());
    // A->B: SYN passes at t=0, the handshake ACK at ~20 ms is lost (hole from 5 ms to 300 ms).
    net.links[0].blackHoleFrom = 5 * MS;
    net.links[0].blackHoleUntil = 300 * MS;
    PtcpConnection c = net.connect();
    net.driveUntil(() -> !net.eventsOf(1, PtcpEvent.Type.ACCEPTED).isEmpty(), 10 * SEC);
    assertThat(net.eventsOf(1, PtcpEvent.Type.ACCEPTED)).hasSize(1);
    assertThat(c.state()).isEqualTo(PtcpState.ESTABLISHED);
  }

  @Test
  void rtoBacksOffExponentially() {
    SimNetwork net = new SimNetwork(4, base().minRto(Duration.ofMillis(200)).build());
    PtcpConnection[] cs = establish(net);
    net.links[0].silent = true;
    net.logSends = true;
    long t0 = net.now;
    cs[0].write(ByteBuffer.wrap(new byte[500]));
    net.driveUntil(() -> net.sendLog.size() >= 6, net.now + 60 * SEC);
    List<Long> times = net.sendLog.stream().filter(r -> r[1] == 0 && r[3] > 100)
        .map(r -> r[0]).toList();
    assertThat(times.get(0)).isEqualTo(t0);
    // A tail-loss probe after 2 SRTT + the delayed-ACK allowance (SRTT is 20 ms plus serialization).
    assertThat(times.get(1) - times.get(0)).isBetween(50 * MS, 51 * MS);
    // Then the RTO: SRTT + 4 RTTVAR is below the minimum, so exactly 200 ms, doubling each time.
    long rto = 200 * MS;
    for (int i = 2; i < times.size(); i++) {
      assertThat(times.get(i) - times.get(i - 1)).as("interval %d", i).isEqualTo(rto << (i - 2));
    }
  }

  @Test
  void idleTimeoutOnBothEndsUnderTotalLoss() {
    PtcpConfig cfg = base().idleTimeout(Duration.ofSeconds(5)).keepaliveInterval(Duration.ofSeconds(2))
        .build();
    SimNetwork net = new SimNetwork(5, cfg);
    PtcpConnection[] cs = establish(net);
    long t1 = net.now;
    net.both(l -> l.silent = true);
    cs[0].write(ByteBuffer.wrap(new byte[5000]));
    long[] at = {-1, -1};
    net.onStep(n -> {
      for (int i = 0; i < 2; i++) {
        if (at[i] < 0 && closed(n, i) != null) {
          at[i] = n.now;
        }
      }
    });
    net.driveUntil(() -> at[0] >= 0 && at[1] >= 0, t1 + 60 * SEC);
    assertThat(closed(net, 0).error().code()).isEqualTo(PtcpErrorCode.IDLE_TIMEOUT);
    assertThat(closed(net, 1).error().code()).isEqualTo(PtcpErrorCode.IDLE_TIMEOUT);
    // Last progress on each side was at most one RTT before t1: the timeout fires 5 s after it.
    assertThat(at[0]).isBetween(t1 + 5 * SEC - 50 * MS, t1 + 5 * SEC);
    assertThat(at[1]).isBetween(t1 + 5 * SEC - 50 * MS, t1 + 5 * SEC);
  }

  @Test
  void idleTimeoutWhenOneDirectionGoesSilent() {
    PtcpConfig cfg = base().idleTimeout(Duration.ofSeconds(5)).keepaliveInterval(Duration.ofSeconds(2))
        .build();
    for (int dir = 0; dir < 2; dir++) {
      SimNetwork net = new SimNetwork(6 + dir, cfg);
      Transfer t = new Transfer(net, 50L << 20, 0);
      net.driveUntil(() -> t.received > 100_000, 60 * SEC);
      long cut = net.now;
      net.links[dir].silent = true;
      net.driveUntil(t::bothEnded, cut + 60 * SEC);
      assertThat(t.clientError.code()).as("dir %d %s", dir, t).isEqualTo(PtcpErrorCode.IDLE_TIMEOUT);
      assertThat(t.serverError.code()).as("dir %d %s", dir, t).isEqualTo(PtcpErrorCode.IDLE_TIMEOUT);
      assertThat(Math.max(t.clientClosedAt, t.serverClosedAt)).as(t.toString())
          .isLessThanOrEqualTo(cut + 2 * 5 * SEC);
    }
  }

  @Test
  void permanentBlackHoleMidTransferTimesOutBothEnds() {
    PtcpConfig cfg = base().idleTimeout(Duration.ofSeconds(8)).build();
    SimNetwork net = new SimNetwork(8, cfg);
    Transfer t = new Transfer(net, 50L << 20, 0);
    net.driveUntil(() -> t.received > 200_000, 60 * SEC);
    long cut = net.now;
    net.both(l -> l.blackHoleFrom = cut);
    net.driveUntil(t::bothEnded, cut + 60 * SEC);
    assertThat(t.clientError.code()).isEqualTo(PtcpErrorCode.IDLE_TIMEOUT);
    assertThat(t.serverError.code()).isEqualTo(PtcpErrorCode.IDLE_TIMEOUT);
    // Packets already queued at the bottleneck (<= 100 ms) still arrive after the cut.
    assertThat(t.clientClosedAt).isBetween(cut + 8 * SEC - 50 * MS, cut + 8 * SEC + 250 * MS);
    assertThat(t.serverClosedAt).isBetween(cut + 8 * SEC - 50 * MS, cut + 8 * SEC + 250 * MS);
    assertThat(t.mismatchAt).isEqualTo(-1);
  }

  @Test
  void keepaliveHoldsAnIdleConnectionOpen() {
    PtcpConfig cfg = base().idleTimeout(Duration.ofSeconds(5)).keepaliveInterval(Duration.ofSeconds(2))
        .build();
    SimNetwork net = new SimNetwork(9, cfg);
    establish(net);
    net.logSends = true;
    net.driveUntil(() -> false, net.now + 60 * SEC);
    assertThat(net.events[0]).noneMatch(e -> e.type() == PtcpEvent.Type.CLOSED);
    assertThat(net.events[1]).noneMatch(e -> e.type() == PtcpEvent.Type.CLOSED);
    assertThat(net.sendLog).anyMatch(r -> (r[2] & Header.PING) != 0);
  }

  @Test
  void cleanCloseLeavesShortTimeWaitRecordThenNothing() {
    PtcpConfig cfg = base().timeWait(Duration.ofSeconds(3)).build();
    SimNetwork net = new SimNetwork(10, cfg);
    Transfer t = new Transfer(net, 10_000, 0);
    net.driveUntil(t::bothEnded, 30 * SEC);
    assertThat(t.completed()).as(t.toString()).isTrue();
    // The client closed first (active close): it lingers in TIME_WAIT, without buffers.
    assertThat(t.client.state()).isEqualTo(PtcpState.TIME_WAIT);
    assertThat(net.ep[0].connectionCount()).isEqualTo(1);
    assertThat(net.ep[1].connectionCount()).isZero();
    long entered = t.clientClosedAt;
    net.driveUntil(() -> net.ep[0].connectionCount() == 0, net.now + 60 * SEC);
    assertThat(net.ep[0].connectionCount()).isZero();
    assertThat(net.now).isEqualTo(entered + 3 * SEC);
  }

  @Test
  void halfCloseKeepsTheOtherDirectionOpen() {
    SimNetwork net = new SimNetwork(11, base().build());
    PtcpConnection[] cs = establish(net);
    cs[0].write(ByteBuffer.wrap("request".getBytes()));
    cs[0].shutdownOutput();
    net.driveUntil(() -> cs[1].isEndOfStream() || cs[1].readableBytes() == 7 && cs[1].isInputShutdown(),
        net.now + 5 * SEC);
    net.driveUntil(() -> cs[0].state() == PtcpState.FIN_WAIT_2, net.now + 5 * SEC);
    assertThat(cs[0].state()).isEqualTo(PtcpState.FIN_WAIT_2);
    assertThat(cs[1].state()).isEqualTo(PtcpState.CLOSE_WAIT);
    ByteBuffer got = ByteBuffer.allocate(100);
    assertThat(cs[1].read(got)).isEqualTo(7);
    assertThat(cs[1].read(got)).isEqualTo(-1);
    // The server answers long after the client's FIN.
    net.driveUntil(() -> false, net.now + 2 * SEC);
    byte[] big = new byte[300_000];
    new Random(1).nextBytes(big);
    ByteBuffer src = ByteBuffer.wrap(big);
    ByteBuffer sink = ByteBuffer.allocate(big.length);
    net.onStep(n -> {
      if (src.hasRemaining() && !cs[1].isClosed()) {
        cs[1].write(src);
        if (!src.hasRemaining()) {
          cs[1].close();
        }
      }
      cs[0].read(sink);
    });
    net.driveUntil(() -> !sink.hasRemaining() && cs[1].state() == PtcpState.CLOSED, net.now + 30 * SEC);
    assertThat(sink.array()).isEqualTo(big);
    assertThat(closed(net, 0).error()).isNull();
    assertThat(closed(net, 1).error()).isNull();
  }

  @Test
  void abortResetsThePeer() {
    SimNetwork net = new SimNetwork(12, base().build());
    PtcpConnection[] cs = establish(net);
    cs[1].abort();
    assertThat(closed(net, 1)).isNull(); // events are collected on the next step
    net.driveUntil(() -> closed(net, 0) != null, net.now + 5 * SEC);
    assertThat(closed(net, 1).error()).isNull();
    assertThat(closed(net, 0).error().code()).isEqualTo(PtcpErrorCode.CONNECTION_RESET);
    assertThat(net.ep[0].connectionCount()).isZero();
  }

  @Test
  void connectToNonListenerIsRefused() {
    SimNetwork net = new SimNetwork(13, base().build());
    net.ep[1].listen(false);
    net.connect();
    net.driveUntil(() -> closed(net, 0) != null, 5 * SEC);
    assertThat(closed(net, 0).error().code()).isEqualTo(PtcpErrorCode.CONNECTION_REFUSED);
    assertThat(net.now).isLessThan(25 * MS); // one round trip, no retries
  }

  @Test
  void restartedPeerAnswersWithResetAndDataSenderFails() {
    SimNetwork net = new SimNetwork(14, base().build());
    PtcpConnection[] cs = establish(net);
    net.ep[1] = new PtcpEndpoint(base().build(), new Random(99)); // the server "restarts"
    net.ep[1].listen(true);
    cs[0].write(ByteBuffer.wrap(new byte[100]));
    net.driveUntil(() -> closed(net, 0) != null, net.now + 5 * SEC);
    assertThat(closed(net, 0).error().code()).isEqualTo(PtcpErrorCode.CONNECTION_RESET);
  }

  @Test
  void blindResetWithWrongSequenceIsIgnoredButExactOneIsHonoured() {
    SimNetwork net = new SimNetwork(15, base().build());
    PtcpConnection[] cs = establish(net);
    net.drive();
    CRC32C crc = new CRC32C();
    Header h = new Header();
    ByteBuffer b = ByteBuffer.allocate(100);
    // An attacker who knows the ids but not the sequence number.
    h.flags = Header.RST;
    h.dstCid = cs[0].localConnectionId();
    h.srcCid = cs[1].localConnectionId();
    h.seq = 12345;
    h.encode(b);
    Header.seal(b, 0, crc);
    b.flip();
    net.ep[0].handleDatagram(net.now, SimNetwork.ADDR_B, b);
    assertThat(cs[0].state()).isEqualTo(PtcpState.ESTABLISHED);
    // An in-window guess only earns a challenge ACK, still no reset.
    cs[1].write(ByteBuffer.wrap(new byte[10]));
    net.drive();
    // The exact next sequence number (what the real peer would send) resets.
    b.clear();
    h.clear();
    h.flags = Header.RST;
    h.dstCid = cs[0].localConnectionId();
    h.srcCid = cs[1].localConnectionId();
    h.seq = readField(cs[1], true);
    h.encode(b);
    Header.seal(b, 0, crc);
    b.flip();
    net.ep[0].handleDatagram(net.now, new InetSocketAddress("10.9.9.9", 5000), b.duplicate());
    assertThat(cs[0].state()).as("wrong source address").isEqualTo(PtcpState.ESTABLISHED);
    net.ep[0].handleDatagram(net.now, SimNetwork.ADDR_B, b);
    assertThat(cs[0].state()).isEqualTo(PtcpState.CLOSED);
  }

  /** The server's next wire sequence number, read by sending a probe ACK through a capture. */
  private static int readField(PtcpConnection server, boolean seq) {
    // After drive() everything is acknowledged: SND.NXT of the server = ISN + 1 + 10.
    return (int) (server.isnForTests() + 1 + 10);
  }

  @Test
  void oneHostCannotOpenMoreThanItsShareOfConnections() {
    SimNetwork net = new SimNetwork(17, base().build());
    List<PtcpConnection> tries = new java.util.ArrayList<>();
    for (int i = 0; i < PtcpEndpoint.MAX_CONNECTIONS_PER_HOST + 20; i++) {
      tries.add(net.connect()); // all from the same address
    }
    net.driveUntil(() -> net.ep[1].connectionCount() >= PtcpEndpoint.MAX_CONNECTIONS_PER_HOST
        && net.ep[1].connectionsRefused() > 0, net.now + 5_000_000_000L);
    assertThat(net.ep[1].connectionCount()).isEqualTo(PtcpEndpoint.MAX_CONNECTIONS_PER_HOST);
    assertThat(net.ep[1].connectionsRefused()).isPositive();
  }

  @Test
  void spoofedSynsCostNoStateAndBogusCookiesAreRejected() {
    SimNetwork net = new SimNetwork(16, base().build());
    CRC32C crc = new CRC32C();
    Header h = new Header();
    Random r = new Random(5);
    ByteBuffer out = ByteBuffer.allocate(2000);
    for (int i = 0; i < 1000; i++) {
      ByteBuffer b = ByteBuffer.allocate(100);
      h.clear();
      h.flags = Header.SYN;
      h.srcCid = r.nextInt();
      h.seq = r.nextInt();
      h.hasHandshake = true;
      h.hsIsn = h.seq;
      h.hsMaxDatagram = 1452;
      h.encode(b);
      Header.seal(b, 0, crc);
      b.flip();
      net.ep[1].handleDatagram(0, new InetSocketAddress("192.0.2." + (i % 250), 1000 + i), b);
      out.clear();
      assertThat(net.ep[1].pollTransmit(0, out)).isNotNull(); // a stateless SYN-ACK
    }
    assertThat(net.ep[1].connectionCount()).isZero();
    // A handshake ACK that guesses the cookie is dropped (and answered with a rate-limited RST).
    ByteBuffer b = ByteBuffer.allocate(100);
    h.clear();
    h.flags = Header.ACK;
    h.dstCid = 77;
    h.srcCid = 5;
    h.seq = 1001;
    h.ack = 424242;
    h.hasHandshake = true;
    h.hsIsn = 1000;
    h.encode(b);
    Header.seal(b, 0, crc);
    b.flip();
    net.ep[1].handleDatagram(0, new InetSocketAddress("192.0.2.1", 999), b);
    assertThat(net.ep[1].connectionCount()).isZero();
    assertThat(net.eventsOf(1, PtcpEvent.Type.ACCEPTED)).isEmpty();
  }

  @Test
  void smallWritesAreNotDelayedByDelayedAcks() {
    SimNetwork net = new SimNetwork(17, base().delayedAck(Duration.ofMillis(200)).build());
    PtcpConnection[] cs = establish(net);
    net.drive();
    for (int i = 0; i < 5; i++) {
      long t0 = net.now;
      cs[0].write(ByteBuffer.wrap(new byte[] {(byte) i}));
      net.driveUntil(() -> cs[1].readableBytes() > 0, t0 + SEC);
      assertThat(net.now - t0).isLessThanOrEqualTo(11 * MS); // one-way latency, no batching delay
      cs[1].read(ByteBuffer.allocate(10));
      cs[1].write(ByteBuffer.wrap(new byte[] {(byte) i}));
      long t1 = net.now;
      net.driveUntil(() -> cs[0].readableBytes() > 0 && cs[0].bytesInFlight() == 0, t1 + SEC);
      assertThat(net.now - t1).isLessThanOrEqualTo(11 * MS);
      cs[0].read(ByteBuffer.allocate(10));
    }
  }

  @Test
  void zeroWindowIsProbedAndTransferResumes() {
    PtcpConfig cfg = base().receiveBufferSize(16 * 1024).build();
    SimNetwork net = new SimNetwork(18, cfg);
    PtcpConnection[] cs = establish(net);
    byte[] data = new byte[200_000];
    new Random(3).nextBytes(data);
    ByteBuffer src = ByteBuffer.wrap(data);
    cs[0].write(src);
    net.driveUntil(() -> false, net.now + 5 * SEC); // receiver does not read: window closes
    assertThat(cs[1].readableBytes()).isEqualTo(16 * 1024);
    ByteBuffer sink = ByteBuffer.allocate(data.length);
    net.links[1].loss = 0.3; // window updates may be lost too: the persist probe recovers
    net.onStep(n -> {
      cs[1].read(sink);
      if (src.hasRemaining()) {
        cs[0].write(src);
      }
    });
    cs[1].read(sink);
    net.driveUntil(() -> !sink.hasRemaining(), net.now + 600 * SEC);
    assertThat(sink.array()).isEqualTo(data);
  }

  @Test
  void nonPtcpDatagramsAreLeftToTheCaller() {
    SimNetwork net = new SimNetwork(19, base().build());
    net.sendRaw(0, new byte[] {'N', 'A', 'T', '!'});
    net.sendRaw(0, new byte[40]); // e.g. a STUN binding request starts with 0x00
    net.driveUntil(() -> net.rawReceived.size() == 2, SEC);
    assertThat(net.rawReceived).hasSize(2);
  }
}
