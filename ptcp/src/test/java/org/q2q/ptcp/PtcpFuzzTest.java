package org.q2q.ptcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.q2q.ptcp.internal.Header;

/**
 * Coverage-guided fuzz tests of the PTCP datagram decoder and endpoint (Jazzer). The normal test
 * run replays the checked-in inputs under {@code src/test/resources/org/q2q/ptcp/PtcpFuzzTestInputs/}
 * (regression mode); {@code JAZZER_FUZZ=1} fuzzes one method (bench/fuzz/README.md).
 *
 * <p>Both targets are structure-aware where it matters: a datagram may get a valid magic, version
 * and CRC, and the connection ids of a live connection, so mutations reach option parsing and the
 * connection's state machine instead of stopping at the checksum.
 */
class PtcpFuzzTest {
  private static final InetSocketAddress STRANGER = new InetSocketAddress("192.0.2.77", 6000);

  /** Any bytes decode to one of the four outcomes, never an exception; OK means consistent fields. */
  @FuzzTest(maxDuration = "10s")
  void datagramDecoding(byte[] input) {
    CRC32C crc = new CRC32C();
    ByteBuffer b = ByteBuffer.wrap(input.clone());
    if (input.length >= Header.FIXED_LENGTH && (input[0] & 1) == 1) {
      b.put(0, (byte) Header.MAGIC).put(1, (byte) Header.VERSION);
      b.position(input.length);
      Header.seal(b, 0, crc);
      b.flip();
    }
    Header h = new Header();
    int status = h.decode(b, crc);
    assertThat(status).isIn(Header.OK, Header.NOT_PTCP, Header.TRUNCATED, Header.CORRUPT);
    if (status == Header.OK) {
      assertThat(h.headerLength).isBetween(Header.FIXED_LENGTH, input.length);
      assertThat(h.headerLength + h.payloadLength).isEqualTo(input.length);
      assertThat(b.position()).isEqualTo(h.headerLength);
      assertThat(h.sackCount).isBetween(0, Header.MAX_SACK_BLOCKS);
    }
  }

  /**
   * An endpoint with one established connection takes a sequence of crafted datagrams, some sealed
   * and addressed to the connection, from its peer's address or a stranger's, with time passing:
   * it never throws, its tables stay within their caps, and a stranger never changes the
   * connection's state.
   */
  @FuzzTest(maxDuration = "10s")
  void endpointHandlesAnyDatagrams(FuzzedDataProvider data) {
    SimNetwork net = new SimNetwork(data.consumeLong(), LifecycleTest.base().build());
    PtcpConnection[] cs = LifecycleTest.establish(net);
    net.drive();
    CRC32C crc = new CRC32C();
    ByteBuffer out = ByteBuffer.allocate(70_000);
    for (int i = 0; i < 32 && data.remainingBytes() > 0; i++) {
      int mode = data.consumeInt(0, 7);
      byte[] raw = data.consumeBytes(data.consumeInt(0, 1600));
      ByteBuffer d = ByteBuffer.wrap(raw);
      if (raw.length >= Header.FIXED_LENGTH && (mode & 1) == 1) {
        d.put(0, (byte) Header.MAGIC).put(1, (byte) Header.VERSION);
        if ((mode & 2) == 2) {
          d.putInt(4, cs[1].localConnectionId()).putInt(8, cs[0].localConnectionId());
        }
        d.position(raw.length);
        Header.seal(d, 0, crc);
        d.flip();
      }
      boolean stranger = (mode & 4) == 4;
      PtcpState before = cs[1].state();
      net.ep[1].handleDatagram(net.now, stranger ? STRANGER : SimNetwork.ADDR_A, d);
      if (stranger) {
        assertThat(cs[1].state()).as("a stranger's datagram changed the connection").isEqualTo(before);
      }
      net.now += data.consumeLong(0, 2_000_000_000L);
      net.ep[1].handleTimeout(net.now);
      out.clear();
      while (net.ep[1].pollTransmit(net.now, out) != null) {
        out.clear();
      }
      assertThat(net.ep[1].connectionCount()).isLessThanOrEqualTo(PtcpEndpoint.MAX_CONNECTIONS);
      assertThat(cs[1].outOfOrderRanges()).isLessThanOrEqualTo(org.q2q.ptcp.internal.Assembler.MAX_RANGES);
    }
    net.driveBounded(2_000);
  }
}
